"""Figures drawn from the per-sample scores in result files alone (no reconstruction).

* :func:`draw_sweeps`: every metric vs a suite's sweep variable (frame delay, photons per
  emitter, separation …): a row of panels per swept suite, a line per method with its 95 %
  bootstrap interval over scenes shaded; a sweep value at which none of a method's samples was
  scored (failed) is a gap in its line, not a zero.  When one method's values would flatten
  the others, or positive values span a decade or more (:func:`sweep_axis`), the panel's y
  axis is logarithmic or, where that does not help, clipped to the others with that method
  marked off scale in the legend.
* :func:`plot_fwhm_boxes`: box plots of the per-sample ACF-FWHM, lateral (x, y) and axial (z),
  per method, a row per suite, with the target's own FWHM as the reference (Boland et al.
  Fig. 2).

matplotlib is imported (Agg backend) only when a figure is drawn.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simbench.harness.leaderboard import REFERENCE_METHOD, score_frame, sweep_frame, with_reference
from simbench.harness.results import RunRecord, iter_records
from simbench.harness.stats import CONFIDENCE, bootstrap_ci
from simbench.metrics.base import ARROWS

#: the ACF-FWHM metrics (:mod:`simbench.metrics.acf`) drawn as box plots, and their axis
FWHM_METRICS = {"fwhm_x": "lateral", "fwhm_y": "lateral", "fwhm_z": "axial"}
#: size of one panel, inches (width, height)
PANEL_IN = (4.0, 3.4)
#: scale bars: the longest of these lengths (µm) that fits in a quarter of the panel
SCALE_BARS_UM = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: error maps' colour scales end at this percentile of |error| (one hot pixel cannot blank the rest)
ERROR_PERCENTILE = 99.5
#: a sweep panel's lines are flattened when, without one line, the rest span less than this
#: fraction of the y range
FLATTENED_FRACTION = 0.2
#: positive sweep values spanning at least this ratio (a decade) are drawn on a log axis
LOG_RATIO = 10.0
#: a clipped sweep panel shows the other lines' range with this margin (fraction of that range)
CLIP_MARGIN = 0.1


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported only when figures are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` to the PNG ``path`` (creating its folder), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def scale_bar(ax: Any, pixel_size_nm: float, width_px: int, color: str = "white") -> None:
    """Draw a scale bar (length in µm, labelled) in the lower left of ``ax``'s image of ``width_px``
    pixels of ``pixel_size_nm`` (nm)."""
    fits = [b for b in SCALE_BARS_UM if b * 1e3 / pixel_size_nm <= width_px / 4] or [SCALE_BARS_UM[0]]
    length_um = fits[-1]
    length_px = length_um * 1e3 / pixel_size_nm
    x0, y0 = 0.06 * width_px, 0.92 * width_px
    ax.plot([x0, x0 + length_px], [y0, y0], color=color, linewidth=3, solid_capstyle="butt")
    ax.text(x0 + length_px / 2, y0 - 0.03 * width_px, f"{length_um:g} µm", color=color, ha="center", va="bottom",
            fontsize=7)


def _method_order(method: str) -> tuple[bool, str]:
    """Methods by name, the target (reference) after them."""
    return method == REFERENCE_METHOD, method


def sweep_curves(sweeps: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, pd.DataFrame]]:
    """(suite, sweep variable, metric) → {line label: per sweep value (sorted index) the ``mean``
    score over scenes and its bootstrap interval ``low`` … ``high`` (:func:`bootstrap_ci`; NaN
    under two scenes)}; all NaN where none of the line's samples at that value was scored.  A line
    is a method, labelled ``method [run]`` when ``sweeps`` (:func:`sweep_frame`) holds several runs."""
    several = sweeps["run"].nunique() > 1
    curves: dict[tuple[str, str, str], dict[str, pd.DataFrame]] = {}
    for (suite, variable, metric), part in sweeps.groupby(["suite", "variable", "metric"], sort=False):
        lines = sorted(part.groupby(["method", "run"]), key=lambda item: (_method_order(item[0][0]), item[0][1]))
        curves[(suite, variable, metric)] = {f"{method} [{run}]" if several else method: _with_interval(curve)
                                             for (method, run), curve in lines}
    return curves


def _with_interval(curve: pd.DataFrame) -> pd.DataFrame:
    """Per sweep value of ``curve`` (rows of one line), the mean score and its bootstrap interval."""
    rows = {}
    for value, scores in curve.groupby("value")["score"]:
        valid = scores.dropna().to_numpy(dtype=float)
        rows[value] = (valid.mean() if valid.size else math.nan, *bootstrap_ci(valid))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "low", "high"]).sort_index()


@dataclass(frozen=True)
class SweepAxis:
    """How a sweep panel's y axis is drawn: ``scale`` "linear" or "log"; ``limits`` (low, high)
    when clipped to all lines but ``clipped`` (its label), else None."""

    scale: str = "linear"
    limits: tuple[float, float] | None = None
    clipped: str | None = None


def _flattener(lines: dict[str, np.ndarray]) -> str | None:
    """The line without which the others (at least two lines with values) span less than
    :data:`FLATTENED_FRACTION` of the whole range, the one leaving the narrowest rest (the first
    of equals), or None."""
    values = {label: v[np.isfinite(v)] for label, v in lines.items()}
    values = {label: v for label, v in values.items() if v.size}
    if len(values) < 3:
        return None
    everything = np.concatenate(list(values.values()))
    total = float(everything.max() - everything.min())
    rests = {label: np.concatenate([v for other, v in values.items() if other != label]) for label in values}
    spans = {label: float(rest.max() - rest.min()) for label, rest in rests.items()}
    label = min(spans, key=spans.__getitem__)
    return label if 0 < spans[label] < FLATTENED_FRACTION * total else None


def sweep_axis(lines: dict[str, np.ndarray]) -> SweepAxis:
    """The y axis of a sweep panel with ``lines`` (label → mean score per sweep value): linear,
    unless one line would flatten the others (:func:`_flattener`) or the values are positive and
    span :data:`LOG_RATIO` or more; then logarithmic if every value is positive and no line
    flattens the others on that axis, else (a flattening line) clipped to the others' range plus
    :data:`CLIP_MARGIN`."""
    outlier = _flattener(lines)
    finite = np.concatenate([v[np.isfinite(v)] for v in lines.values()])
    positive = finite.size > 0 and bool((finite > 0).all())
    if outlier is None and not (positive and finite.max() >= LOG_RATIO * finite.min()):
        return SweepAxis()
    if positive and _flattener({label: np.log(v) for label, v in lines.items()}) is None:
        return SweepAxis("log")
    if outlier is None:
        return SweepAxis()
    rest = np.concatenate([v[np.isfinite(v)] for label, v in lines.items() if label != outlier])
    low, high = float(rest.min()), float(rest.max())
    margin = CLIP_MARGIN * (high - low)
    return SweepAxis(limits=(low - margin, high + margin), clipped=outlier)


def _powers_of_two(values: Iterable[float]) -> bool:
    """Whether every value is a positive power of two (a doubling sweep: drawn on a log2 axis)."""
    return all(v > 0 and math.log2(v).is_integer() for v in values)


def draw_sweeps(sweeps: pd.DataFrame, title: str, path: Path) -> Path:
    """A PNG of :func:`sweep_curves`: a row of panels per swept suite, a panel per metric, a line
    per method with its bootstrap interval shaded; sweeps of powers of two (photons per emitter
    16 … 4096) on a log2 axis; each panel's y axis by :func:`sweep_axis`, said in its title (log)
    or legend (a line off scale)."""
    curves = sweep_curves(sweeps)
    directions = dict(zip(sweeps["metric"], sweeps["direction"]))
    rows = list(dict.fromkeys(key[:2] for key in curves))
    columns = [[key for key in curves if key[:2] == row] for row in rows]
    several = len(rows) > 1
    plt = pyplot()
    labels = sorted({label for lines in curves.values() for label in lines}, key=_method_order)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = {label: {"color": "grey", "linestyle": "--"} if label.startswith(REFERENCE_METHOD)
              else {"color": cycle[i % len(cycle)]} for i, label in enumerate(labels)}  # one style per line
    width = max(len(keys) for keys in columns)
    fig, axes = plt.subplots(len(rows), width, figsize=(PANEL_IN[0] * width, PANEL_IN[1] * len(rows)),
                             squeeze=False, layout="constrained")
    for r, keys in enumerate(columns):
        for ax in axes[r][len(keys):]:
            ax.axis("off")
        for ax, (suite, variable, metric) in zip(axes[r], keys):
            lines = curves[(suite, variable, metric)]
            values = sorted({v for line in lines.values() for v in line.index})
            axis = sweep_axis({label: line["mean"].to_numpy() for label, line in lines.items()})
            for label, line in lines.items():
                mean = line["mean"].to_numpy()
                note = (" (none scored)" if np.isnan(mean).all() else
                        f" (off scale: {np.nanmin(mean):.3g}–{np.nanmax(mean):.3g})" if label == axis.clipped else "")
                ax.plot(line.index, mean, marker="o", label=label + note, **styles[label])
                ax.fill_between(line.index, line["low"].to_numpy(), line["high"].to_numpy(), alpha=0.15,
                                color=styles[label]["color"], linewidth=0)
            if _powers_of_two(values):
                ax.set_xscale("log", base=2)
                ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.set_yscale(axis.scale)
            if axis.limits is not None:
                ax.set_ylim(*axis.limits)
            ax.set_xlabel(variable)
            arrow = ARROWS[directions[metric]]
            name = f"{suite}: {metric} {arrow}" if several else f"{metric} {arrow}"
            ax.set_title(name + (" (log axis)" if axis.scale == "log" else ""), fontsize=9)
            ax.grid(alpha=0.3)
            if ax is axes[r][0] or axis.clipped:
                ax.legend(fontsize=7)
    fig.suptitle(f"{title}; shaded: {CONFIDENCE * 100:g} % bootstrap interval over scenes")
    return save_figure(fig, path)


def plot_sweeps(results_dir: Path, suite: str | None, path: Path) -> Path:
    """:func:`draw_sweeps` of every swept result under ``results_dir`` (one suite or group), the
    target (reference) included; the full size only, when there is one."""
    sweeps = sweep_frame(with_reference(iter_records(results_dir, suite)))
    if sweeps.empty:
        raise ValueError(f"no swept results (samples with meta['sweep']) for {suite or 'any suite'} under {results_dir}")
    if (sweeps["run"] == "full").any():  # the quick runs (gate baselines) would only repeat the full ones
        sweeps = sweeps[sweeps["run"] != "quick"]
    return draw_sweeps(sweeps, f"{suite or 'all suites'}: mean over scenes", path)


def fwhm_boxes(records: Iterable[RunRecord]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(suite, FWHM metric) → {method: the FWHM (nm) of its scored samples, in sample order}, the
    target (reference) last; failed samples and non-finite values are left out, a method none of
    whose samples has a valid value too, and a panel where nobody has one (a log axis needs data).
    ``records`` of one run (size) each, with the reference (:func:`with_reference`) for it to be
    drawn; values an invalidating flag marks are left out like NaN
    (:func:`~simbench.harness.leaderboard.score_frame`)."""
    scores = score_frame(records)
    scores = scores[scores["metric"].isin(list(FWHM_METRICS))]
    boxes: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for suite in dict.fromkeys(scores["suite"]):
        for metric in FWHM_METRICS:
            part = scores[(scores["suite"] == suite) & (scores["metric"] == metric)]
            if part.empty:
                continue
            values = {m: part.loc[part["method"] == m, "score"].to_numpy(dtype=float)
                      for m in sorted(set(part["method"]), key=_method_order)}
            valid = {m: v[np.isfinite(v)] for m, v in values.items() if np.isfinite(v).any()}
            if valid:  # a panel with no valid width at all (every fit flagged) is left out
                boxes[(suite, metric)] = valid
    return boxes


def plot_fwhm_boxes(boxes: dict[tuple[str, str], dict[str, np.ndarray]], path: Path) -> Path:
    """A PNG of :func:`fwhm_boxes`: a row per suite, a panel per FWHM metric (log axis: methods
    differ by up to two orders), a box per method; the target's box grey with its median dashed."""
    from matplotlib.ticker import LogFormatter

    suites = list(dict.fromkeys(suite for suite, _ in boxes))
    plt = pyplot()
    fig, axes = plt.subplots(len(suites), len(FWHM_METRICS), squeeze=False,
                             figsize=(PANEL_IN[0] * len(FWHM_METRICS), PANEL_IN[1] * len(suites)), layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for (suite, metric), data in boxes.items():
        ax = axes[suites.index(suite)][list(FWHM_METRICS).index(metric)]
        ax.axis("on")
        labels = [f"{method}\nn={len(values)}" for method, values in data.items()]
        drawn = ax.boxplot(list(data.values()), tick_labels=labels, patch_artist=True,
                           boxprops={"facecolor": "white"}, medianprops={"color": "black"})
        if REFERENCE_METHOD in data:
            drawn["boxes"][-1].set_facecolor("lightgrey")
            ax.axhline(float(np.median(data[REFERENCE_METHOD])), color="grey", linestyle="--", linewidth=1)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", which="both", labelsize=7)
        ax.set_ylabel("nm")
        ax.set_title(f"{suite}: {metric} ({FWHM_METRICS[metric]})", fontsize=9)
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.suptitle("ACF-FWHM per sample (valid values; closer to the target's is better); grey: the confocal target, "
                 "dashed: its median")
    return save_figure(fig, path)

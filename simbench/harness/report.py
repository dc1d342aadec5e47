"""Figures and a Markdown report for one suite, from its result files.

* ``crops.png`` (of a suite group, ``crops-MEMBER.png`` per member, e.g. per motion regime):
  ground truth and every method's reconstruction of one sample on the same crop, each with
  its error map (prediction fitted to the normalised target, as the fidelity metrics do,
  minus the target).  The sample is the one whose ground truth holds the most sparse
  structure in the band SIM transmits, the crop its window with the most energy in that
  band, and ``report.md`` says which and why (:mod:`simbench.harness.views`); of a volume,
  the plane holding the most target signal.  Reconstructions are not stored, so the methods
  are rerun on that one sample.
* ``metrics.png``: every metric's mean (of its valid values) with its 95 % bootstrap interval per method;
  for a suite group (e.g. ``motion``) one bar group per member (regime).
* ``sweeps.png``: every metric vs each swept member's variable (frame delay, photons per
  emitter, …), if any (:func:`simbench.harness.figures.draw_sweeps`).
* ``fwhm.png``: per-sample ACF-FWHM box plots per method and suite with the target as the
  reference, where FWHM is scored (``axial``; :func:`simbench.harness.figures.plot_fwhm_boxes`).
* ``report.md``: the leaderboard and the figures.

All but ``crops.png`` come from the result files alone.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simbench.harness.figures import (
    ERROR_PERCENTILE,
    draw_sweeps,
    fwhm_boxes,
    plot_fwhm_boxes,
    pyplot,
    save_figure,
    scale_bar,
)
from simbench.harness.leaderboard import render, summarise, sweep_frame, with_reference
from simbench.harness.montage import plot_real_montage
from simbench.harness.results import iter_records, run_key
from simbench.harness.views import CANDIDATES, View, choose_view, sim_band_per_um
from simbench.metrics.base import ARROWS
from simbench.plugin.manager import Registry
from simbench.types import Sample

#: side of the crop shown in ``crops.png``, target pixels
CROP_PX = 192


@dataclass(frozen=True)
class ReportRequest:
    suite: str
    results_dir: Path
    output_dir: Path
    size: str = "quick"
    #: index of the sample shown in the crops; None: chosen (:func:`choose_sample`)
    sample_index: int | None = None
    #: ``--suite-opt`` texts of the reported runs, NAME → VALUE (e.g. the real track's data_dir)
    suite_options: dict[str, str] = field(default_factory=dict)


def choose_sample(suite: Any, size: str, indices: Sequence[int]) -> tuple[Sample, View | None]:
    """The sample of ``suite`` (configured) among ``indices`` a report shows and its :class:`View`
    (:func:`simbench.harness.views.choose_view`: most SIM-band structure, then its richest window);
    of a real acquisition (no target), the first of ``indices`` and no view."""
    last = {indices[0]: suite.make_sample(indices[0], size, suite.default_seed)}  # only the latest (volumes are large)
    if last[indices[0]].target is None:
        return last[indices[0]], None

    def target(index: int) -> tuple[np.ndarray, float, tuple[float, float]]:
        if index not in last:
            last.clear()
            last[index] = suite.make_sample(index, size, suite.default_seed)
        sample = last[index]
        return sample.target, sample.target_pixel_size_nm, sim_band_per_um(sample.raw)

    view = choose_view(target, indices, CROP_PX)
    sample = last[view.index] if view.index in last else suite.make_sample(view.index, size, suite.default_seed)
    return sample, view


def plot_crops(registry: Registry, sample: Sample, view: View, methods: list[str], path: Path) -> Path:
    """Ground truth and each method's reconstruction of ``sample`` in ``view`` with error maps."""
    from simbench.harness.evaluation import as_image
    from simbench.metrics.base import MetricConfig
    from simbench.metrics.fidelity import prepare

    panels = []
    for name in methods:
        try:
            image = as_image(registry.method(name)().reconstruct(sample.raw), sample.target.shape)[0]
        except Exception as exc:  # noqa: BLE001 - plugin code: a failed panel is shown as such
            panels.append((name, None, f"{type(exc).__name__}"))
            continue
        fitted, target, _ = prepare(image, sample.target, MetricConfig())
        panels.append((name, fitted, fitted - target))
    target = prepare(sample.target, sample.target, MetricConfig())[1]
    plt = pyplot()
    fig, axes = plt.subplots(2, len(panels) + 1, figsize=(2.6 * (len(panels) + 1) + 1.0, 5.4), squeeze=False,
                             layout="constrained")
    errors = [np.abs(view.crop(e)).ravel() for _, p, e in panels if p is not None]
    limit = max(float(np.percentile(np.concatenate(errors), ERROR_PERCENTILE)) if errors else 0.0, 1e-6)
    width = view.crop(target).shape[1]
    axes[0][0].imshow(view.crop(target), cmap="gray", vmin=0, vmax=1)
    scale_bar(axes[0][0], sample.target_pixel_size_nm, width)
    axes[0][0].set_title("ground truth")
    axes[1][0].axis("off")
    for column, (name, image, error) in enumerate(panels, start=1):
        axes[0][column].set_title(name)
        if image is None:
            axes[0][column].text(0.5, 0.5, f"failed:\n{error}", ha="center", va="center")
            axes[1][column].axis("off")
            continue
        axes[0][column].imshow(view.crop(image), cmap="gray", vmin=0, vmax=1)
        shown = axes[1][column].imshow(view.crop(error), cmap="RdBu_r", vmin=-limit, vmax=limit)
        scale_bar(axes[0][column], sample.target_pixel_size_nm, width)
        scale_bar(axes[1][column], sample.target_pixel_size_nm, width, color="black")  # on a white zero
        axes[1][column].set_title("error", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if errors:
        bar = fig.colorbar(shown, ax=axes[:, -1].tolist(), shrink=0.6, extend="both")
        bar.set_label(f"error, normalised intensity (±{ERROR_PERCENTILE:g} %ile of |error|)", fontsize=8)
    where = f", plane {view.plane[0]}" if view.plane else ""
    fig.suptitle(f"{sample.id}: {view.side}² crop at x={view.x}, y={view.y}{where}; "
                 "error = fitted reconstruction − normalised truth")
    return save_figure(fig, path)


def plot_metrics(frame: pd.DataFrame, path: Path) -> Path:
    """A panel per metric: mean and 95 % bootstrap interval per method, grouped by suite (regime)."""
    plt = pyplot()
    directions = {name: d for row in frame["directions"] for name, d in row.items()}  # members' metrics differ
    suites = list(dict.fromkeys(frame["suite"]))
    methods = sorted(set(frame["method"]))
    fig, axes = plt.subplots(1, len(directions), figsize=(3.6 * len(directions), 3.4), squeeze=False)
    width = 0.8 / len(methods)
    for ax, (metric, direction) in zip(axes[0], directions.items()):
        for k, method in enumerate(methods):
            rows = frame[frame["method"] == method].set_index("suite").reindex(suites)
            mean = rows[f"{metric}_mean"].to_numpy(dtype=float)
            errors = np.abs(np.stack([mean - rows[f"{metric}_ci_low"], rows[f"{metric}_ci_high"] - mean]))
            ax.bar(np.arange(len(suites)) + (k - (len(methods) - 1) / 2) * width, mean, width,
                   yerr=np.nan_to_num(errors), capsize=2, label=method)
        ax.set_xticks(range(len(suites)), [s.split("/", 1)[-1] for s in suites], fontsize=8, rotation=30, ha="right")
        ax.set_title(f"{metric} {ARROWS[direction]}")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("mean over samples, 95 % bootstrap interval")
    fig.tight_layout()
    return save_figure(fig, path)


def write_report(registry: Registry, request: ReportRequest,
                 current_hashes: dict[tuple[str, str, int], frozenset[str] | None]) -> Path:
    """Write the figures and ``report.md`` into ``request.output_dir``; return the Markdown file."""
    first = registry.suite_group(request.suite)[0].configured(request.suite_options)
    key = run_key(request.size, first.default_seed, first.default_seed, options=first.changed_options())
    records = [r for r in iter_records(request.results_dir, request.suite) if r.key == key]
    if not records:
        raise ValueError(f"no [{key}] results for {request.suite!r} under {request.results_dir}")
    frame = summarise(records, current_hashes, registry)
    out = request.output_dir
    figures = [("Metrics", plot_metrics(frame, out / "metrics.png"))]
    members = list(dict.fromkeys(frame["suite"]))
    methods = sorted((m for m in set(frame["method"]) if m in registry.methods), key=lambda m: (m != "widefield", m))
    notes: dict[str, str] = {}
    for member in members:
        suite = registry.suite(member).configured(request.suite_options)
        n = suite.n_samples(request.size)
        indices = range(min(n, CANDIDATES)) if request.sample_index is None else [request.sample_index]
        sample, view = choose_sample(suite, request.size, indices)
        if view is None:  # a real acquisition: the data and the SQUIRREL error maps instead
            figures.append(("Reconstructions and SQUIRREL error maps",
                            plot_real_montage(registry, sample, methods, out / "montage.png")))
            continue
        title = "Reconstructions" + (f": {member}" if len(members) > 1 else "")
        name = f"crops-{member.rsplit('/', 1)[-1]}.png" if len(members) > 1 else "crops.png"
        figures.append((title, plot_crops(registry, sample, view, methods, out / name)))
        notes[title] = f"Shown: {view.describe(sample.id, len(indices))}\n"
    referenced = with_reference(records)
    sweeps = sweep_frame(referenced)
    if not sweeps.empty:
        figures.append(("Metrics vs the sweep variable", draw_sweeps(
            sweeps, f"{request.suite} [{request.size}]: mean over scenes; a gap: no sample scored", out / "sweeps.png")))
    boxes = fwhm_boxes(referenced)
    if boxes:
        figures.append(("ACF-FWHM per sample", plot_fwhm_boxes(boxes, out / "fwhm.png")))
    options = "".join(f" --suite-opt {k}={v}" for k, v in request.suite_options.items())
    command = (f"simbench report --suite {request.suite} --size {request.size}{options} --results "
               f"{request.results_dir} -o {out}")
    parts = [f"# Report: {request.suite} [{request.size}]\n",
             f"From the result files in `{request.results_dir}`; regenerate with `{command}`.\n",
             "## Leaderboard\n", render(request.results_dir, request.suite, "md", current_hashes,
                                        order=list(registry.suites), registry=registry)]
    parts += [f"## {title}\n\n{notes.get(title, '')}![{title}]({path.name})\n" for title, path in figures]
    report = out / "report.md"
    report.write_text("\n".join(parts))
    return report

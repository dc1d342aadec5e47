"""Leaderboard tables rendered from result files (pandas + tabulate).

Per suite and run: the ranking rule, a headline table of the primary metrics by rank
(:mod:`simbench.harness.ranking`), then the full table of every metric.  A cell is the mean
of a metric's valid values with its 95 % bootstrap confidence interval (seeded, so the same
results always render the same text), the number of valid values when some are missing or
invalid, and for a metric scored by closeness to the target its mean relative error to it.
Where result rows carry the target's own scores (metrics that measure an image alone, e.g.
FWHM: ``row["reference"]``), a ``target (reference)`` row shows them after the methods, in
the tables and the sweeps; it is never ranked.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simbench.harness.ranking import effective_directions, rank, relative_error, valid_value
from simbench.harness.results import RunRecord, iter_records
from simbench.harness.stats import bootstrap_ci
from simbench.metrics.base import ARROWS

if TYPE_CHECKING:
    from simbench.plugin.manager import Registry

FORMATS = ("md", "plain", "csv")
#: the leaderboard row of the target measured by the metrics that can measure it alone
REFERENCE_METHOD = "target (reference)"


def format_number(value: float) -> str:
    """Four significant-ish digits; scientific notation for very small or large values."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4):
        return f"{value:.3e}"
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"


def with_reference(records: Iterable[RunRecord]) -> list[RunRecord]:
    """``records`` plus, per (suite, run key) whose rows carry the target's scores
    (:func:`simbench.harness.evaluation.reference_scores`), a record of those scores named
    :data:`REFERENCE_METHOD` (each sample's scores taken from the first row that has them)."""
    records = list(records)
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for rec in records:
        groups.setdefault((rec.data["suite"], rec.key), []).append(rec)
    references = []
    for (_, key), members in groups.items():
        rows: dict[str, dict] = {}
        for rec in members:
            for sid, row in rec.data["samples"].items():
                if row.get("reference") and sid not in rows:
                    rows[sid] = {"id": sid, "status": "ok", "error": None, "scores": row["reference"],
                                 "flags": row.get("reference_flags") or {}, "runtime_s": None,
                                 "meta": row.get("meta")}
        if not rows:
            continue
        first = members[0].data
        names = {name for row in rows.values() for name in row["scores"]}
        references.append(RunRecord(members[0].path, key, {
            **first, "method": REFERENCE_METHOD, "method_version": None, "reference": True, "samples": rows,
            "metrics": {name: m for name, m in first["metrics"].items() if name in names},
            "complete": len(rows) == first["n_samples"]}))
    return records + references


def _flag_counts(rows: Iterable[dict], metrics: Iterable[str], field: str = "scores") -> list[str]:
    """Per metric, how many values of ``rows`` carry each flag or are NaN (samples that were
    scored only), e.g. ``frc: 200 no crossing``."""
    flags_field = "flags" if field == "scores" else f"{field}_flags"
    rows = [r for r in rows if field != "scores" or r["status"] == "ok"]
    parts = []
    for name in metrics:
        counts: dict[str, int] = {}
        for row in rows:
            for flag in (row.get(flags_field) or {}).get(name, ()):
                counts[flag.replace("_", " ")] = counts.get(flag.replace("_", " "), 0) + 1
            value = (row.get(field) or {}).get(name)
            if value is None or not math.isfinite(value):
                counts["NaN"] = counts.get("NaN", 0) + 1
        if counts:
            parts.append(f"{name}: " + ", ".join(f"{n} {flag}" for flag, n in counts.items()))
    return parts


def _flags(record: RunRecord, current_hash: frozenset[str] | None) -> str:
    flags = []
    statuses = [s["status"] for s in record.data["samples"].values()]
    for status in ("failed", "skipped"):
        if statuses.count(status):
            flags.append(f"{statuses.count(status)} {status}")
    if not record.data.get("complete"):
        flags.append("incomplete")
    if current_hash and record.data.get("suite_hash") and record.data["suite_hash"] not in current_hash:
        flags.append("stale: suite changed")
    flags += _flag_counts(record.data["samples"].values(), record.data["metrics"])
    return "; ".join(flags)


def _known_directions(registry: Registry | None) -> dict[str, str]:
    return {name: m.direction for name, m in registry.metrics.items()} if registry is not None else {}


def _primary(registry: Registry | None, suite: str) -> tuple[str, ...]:
    """The suite's primary metrics as installed; none for a suite the registry lacks."""
    known = registry.suites.get(suite) if registry is not None else None
    return tuple(known.primary_metrics) if known is not None else ()


def _metric_stats(rec: RunRecord, name: str, direction: str) -> dict[str, float]:
    """Mean, std, bootstrap CI and count of the valid values of one metric (and, for a
    ``target`` metric, the mean signed relative error to the target's own values)."""
    rows = list(rec.data["samples"].values())
    values = np.array([valid_value(r, name) for r in rows], dtype=np.float64)
    valid = values[np.isfinite(values)]
    low, high = bootstrap_ci(valid)
    stats = {"mean": float(valid.mean()) if valid.size else math.nan,
             "std": float(valid.std(ddof=1)) if valid.size > 1 else math.nan,
             "ci_low": low, "ci_high": high, "n": int(valid.size), "rel": math.nan}
    if direction == "target" and not rec.data.get("reference"):
        errors = [relative_error(v, valid_value(r, name, "reference")) for v, r in zip(values, rows)]
        errors = [e for e in errors if math.isfinite(e)]
        stats["rel"] = math.fsum(errors) / len(errors) if errors else math.nan
    return stats


def summarise(records: Iterable[RunRecord], current_hashes: dict[tuple[str, str, int], frozenset[str] | None],
              registry: Registry | None = None) -> pd.DataFrame:
    """One row per record: its rank (:mod:`simbench.harness.ranking`; NaN for the reference),
    counts, and per metric the mean, std and 95 % bootstrap CI of its valid values, their number
    ``_n`` and, for ``target`` metrics, ``_rel``, the mean relative error to the target; runtime
    and flags.  ``registry`` (the installed suites and metrics) gives each suite's primary
    metrics and the directions the metrics declare now (see
    :func:`~simbench.harness.ranking.effective_directions`); without it a suite is ranked by
    every metric its records scored, in their stored directions.

    ``current_hashes`` maps (suite, size, seed) to the suite's current content
    hash; a record scored on another hash is flagged stale.
    """
    records = list(records)
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for rec in records:
        groups.setdefault((rec.data["suite"], rec.key), []).append(rec)
    known = _known_directions(registry)
    rows = []
    for (suite, key), members in groups.items():
        directions = effective_directions(members, known)
        methods = [rec for rec in members if not rec.data.get("reference")]
        ranking = rank(methods, _primary(registry, suite), directions)
        for rec in members:
            d = rec.data
            ok = [s for s in d["samples"].values() if s["status"] == "ok"]
            row: dict[str, object] = {"suite": suite, "run": key, "method": d["method"],
                                      "rank": ranking.rank.get(d["method"], math.nan),
                                      "n_ok": len(ok), "n_total": d["n_samples"]}
            for name in d["metrics"]:
                for part, value in _metric_stats(rec, name, directions[name]).items():
                    row[f"{name}_{part}"] = value
            times = pd.Series([s["runtime_s"] for s in ok], dtype=float)
            row["runtime_s_mean"] = times.mean() if len(times) else float("nan")
            current = None if d.get("suite_options") else current_hashes.get((suite, d["size"], d["seed"]))
            row["flags"] = _flags(rec, current)
            row["reference"] = bool(d.get("reference"))
            row["directions"] = {name: directions[name] for name in d["metrics"]}
            row["primary"] = ranking.metrics
            row["rule"] = ranking.rule()
            rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series, name: str) -> str:
    """``mean [low, high]`` of a metric's valid values, then ``(+5.9 %)``, the mean relative error
    to the target (``target`` metrics), and ``(45/50)`` when values are missing or invalid."""
    if f"{name}_mean" not in row or pd.isna(row[f"{name}_n"]):  # not measured (e.g. by the reference)
        return "—"
    mean, low, high, n = (row[f"{name}_{part}"] for part in ("mean", "ci_low", "ci_high", "n"))
    text = "—" if math.isnan(mean) else format_number(mean)
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{format_number(low)}, {format_number(high)}]"
    if math.isfinite(row[f"{name}_rel"]):
        text += f" ({100 * row[f'{name}_rel']:+.1f} %)"
    if int(n) < row["n_total"]:
        text += f" ({int(n)}/{row['n_total']})"
    return text


def _ranked(group: pd.DataFrame) -> pd.DataFrame:
    """``group`` by rank, the reference after the methods."""
    return group.sort_values(["reference", "rank", "method"], kind="stable")


def _rank_text(value: float) -> str:
    return "—" if pd.isna(value) else str(int(value))


def _all_directions(frame: pd.DataFrame) -> dict[str, str]:
    """Every metric any row of ``frame`` scored, in first-seen order, with its direction (records
    of one table may score different sets: older records, a reference row, opt-in metrics)."""
    directions: dict[str, str] = {}
    for row in frame["directions"]:
        for name, direction in row.items():
            directions.setdefault(name, direction)
    return directions


def _display(group: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One suite: a row per method by rank with its coverage and the ``metrics`` (default:
    every metric, ms/sample and flags)."""
    directions = _all_directions(group)
    group = _ranked(group)
    table = pd.DataFrame({"rank": [_rank_text(r) for r in group["rank"]], "method": group["method"],
                          "coverage": [f"{a}/{b}" for a, b in zip(group["n_ok"], group["n_total"])]})
    for name in metrics if metrics is not None else directions:
        table[f"{name} {ARROWS[directions[name]]}"] = [_cell(row, name) for _, row in group.iterrows()]
    if metrics is None:
        table["ms/sample"] = ["—" if math.isnan(t) else f"{1e3 * t:.1f}" for t in group["runtime_s_mean"]]
        table["flags"] = group["flags"].tolist()
    return table


def _display_group(group: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """A suite group (e.g. motion/*): a row per method (by mean rank over the members), one
    column group per member suite (in ``order``, e.g. the registry's; others after them by name)."""
    members = _members(group, order)
    mean_rank = group[~group["reference"]].groupby("method")["rank"].mean()
    methods = sorted(set(group["method"]), key=lambda m: (m == REFERENCE_METHOD, mean_rank.get(m, math.inf), m))
    table = pd.DataFrame({"method": methods}).set_index("method", drop=False)
    for member in members:
        part = group[group["suite"] == member].set_index("method")
        label = member.split("/", 1)[1]
        table[f"{label} rank"] = pd.Series({m: _rank_text(r) for m, r in part["rank"].items()})
        for name, direction in _all_directions(part).items():
            table[f"{label} {name} {ARROWS[direction]}"] = pd.Series(
                {m: _cell(r, name) for m, r in part.iterrows()})
    flags = group.assign(flag=[f"{s.split('/', 1)[1]}: {f}" if f else "" for s, f in zip(group["suite"], group["flags"])])
    table["flags"] = flags.groupby("method")["flag"].agg(lambda f: "; ".join(x for x in f if x))
    return table.fillna("—").reset_index(drop=True)


def _members(group: pd.DataFrame, order: Sequence[str]) -> list[str]:
    """The suites of ``group`` in ``order`` (e.g. the registry's), others after them by name."""
    position = {name: i for i, name in enumerate(order)}
    return sorted(dict.fromkeys(group["suite"]), key=lambda m: (position.get(m, len(position)), m))


#: the columns of :func:`score_frame`
SCORE_COLUMNS = ("suite", "run", "method", "sample", "status", "variable", "value", "metric", "score", "direction")


def score_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """Every sample's score of every metric of its record, long format (:data:`SCORE_COLUMNS`):
    ``variable`` and ``value`` are the sample's ``meta["sweep"]`` (None without one); ``score`` is
    the valid value (:func:`~simbench.harness.ranking.valid_value`): NaN where the sample was not
    scored (failed or skipped), the value is NaN or a flag invalidates it."""
    rows = []
    for rec in records:
        for sid, sample in rec.data["samples"].items():
            (variable, value), = ((sample.get("meta") or {}).get("sweep") or {None: None}).items()
            for metric, spec in rec.data["metrics"].items():
                rows.append((rec.data["suite"], rec.key, rec.data["method"], sid, sample["status"], variable,
                             value, metric, valid_value(sample, metric), spec["direction"]))
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def sweep_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """The rows of :func:`score_frame` whose samples carry ``meta["sweep"]`` (e.g. a delay),
    failed samples included (NaN scores)."""
    scores = score_frame(records)
    return scores[scores["variable"].notna()].astype({"value": float}).reset_index(drop=True)


def _tabulate(table: pd.DataFrame, fmt: str) -> str:
    from tabulate import tabulate

    return tabulate(table, headers="keys", showindex=False, disable_numparse=True,
                    tablefmt="github" if fmt == "md" else "simple")


def _heading(title: str, fmt: str, level: int = 3) -> str:
    return f"{'#' * level} {title}\n\n" if fmt == "md" else f"{title}\n"


def _sweep_tables(sweeps: pd.DataFrame, fmt: str) -> list[str]:
    """One table per metric: rows = methods, columns = sweep values (mean over scenes)."""
    parts = []
    sweeps = sweeps[sweeps["status"] == "ok"]
    several = sweeps["suite"].nunique() > 1  # e.g. two sub-suites sweeping a separation each
    for (suite, variable, metric), part in sweeps.groupby(["suite", "variable", "metric"], sort=False):
        table = part.pivot_table(index="method", columns="value", values="score", aggfunc="mean", dropna=False)
        table.columns = [f"{variable}={v:g}" for v in table.columns]
        title = f"{metric} {ARROWS[part['direction'].iloc[0]]} vs {variable}" + (f" ({suite})" if several else "")
        parts.append(_heading(title, fmt, 4) + _tabulate(table.map(format_number).reset_index(), fmt) + "\n")
    return parts


def _headlines(group: pd.DataFrame, fmt: str, order: Sequence[str]) -> list[str]:
    """Per member suite of ``group``: the ranking rule and the headline table (rank, method,
    coverage, the primary metrics)."""
    parts = []
    for member in _members(group, order):
        part = group[group["suite"] == member]
        methods = part[~part["reference"]]
        rule = methods["rule"].iloc[0] if len(methods) else ""
        prefix = f"{member}: " if group["suite"].nunique() > 1 or "/" in member else ""
        parts.append(f"{prefix}{rule}.\n\n" + _tabulate(_display(part, methods["primary"].iloc[0]), fmt) + "\n")
    return parts


def render(results_dir: Path, suite: str | None, fmt: str, current_hashes: dict[tuple[str, str, int], frozenset[str] | None],
           order: Sequence[str] = (), registry: Registry | None = None, key: str | None = None) -> str:
    """The leaderboard text for every suite (or suite group, one column group per member, in
    ``order``: e.g. the registry's suite names) and run key (or only ``key``) under
    ``results_dir``: per suite the ranking rule and headline table (primary metrics, by rank),
    then the full table (every metric) and any sweep tables.  ``registry`` gives the primary
    metrics and current directions (see :func:`summarise`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    records = with_reference(r for r in iter_records(results_dir, suite) if key is None or r.key == key)
    frame = summarise(records, current_hashes, registry)
    if frame.empty:
        where = f" for suite {suite!r}" if suite else ""
        return f"no results{where} under {results_dir}\n"
    if fmt == "csv":
        ordered = frame.sort_values(["suite", "run", "reference", "rank", "method"], kind="stable")
        return ordered.drop(columns=["directions", "primary", "rule"]).to_csv(index=False)
    frame["group"] = [name.split("/", 1)[0] for name in frame["suite"]]
    sweeps = sweep_frame(records)
    parts = []
    for (group_name, run), group in frame.groupby(["group", "run"], sort=True):
        grouped = group["suite"].str.contains("/").all()
        title = f"{group_name if grouped else group['suite'].iloc[0]} [{run}]"
        parts.append(_heading(title, fmt) + "\n".join(_headlines(group, fmt, order)))
        table = _display_group(group, order) if grouped else _display(group)
        parts.append(_heading(f"{title}: every metric", fmt, 4) + _tabulate(table, fmt) + "\n")
        if not sweeps.empty:
            mine = sweeps[(sweeps["suite"].isin(group["suite"])) & (sweeps["run"] == run)]
            parts += _sweep_tables(mine, fmt) if not mine.empty else []
    return "\n".join(parts)

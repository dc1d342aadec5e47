"""Leaderboard tables rendered from result files (pandas + tabulate).

A cell is a metric's mean over samples with its 95 % bootstrap confidence
interval (seeded, so the same results always render the same text).  Where
result rows carry the target's own scores (metrics that measure an image alone,
e.g. FWHM: ``row["reference"]``), a ``target (reference)`` row shows them after
the methods, in the tables and the sweeps.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from simbench.harness.results import RunRecord, iter_records
from simbench.harness.stats import bootstrap_ci

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
    (:func:`simbench.harness.runner.reference_scores`), a record of those scores named
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
                                 "runtime_s": None, "meta": row.get("meta")}
        if not rows:
            continue
        first = members[0].data
        names = {name for row in rows.values() for name in row["scores"]}
        references.append(RunRecord(members[0].path, key, {
            **first, "method": REFERENCE_METHOD, "method_version": None, "reference": True, "samples": rows,
            "metrics": {name: m for name, m in first["metrics"].items() if name in names},
            "complete": len(rows) == first["n_samples"]}))
    return records + references


def _flags(record: RunRecord, current_hash: str | None) -> str:
    flags = []
    statuses = [s["status"] for s in record.data["samples"].values()]
    for status in ("failed", "skipped"):
        if statuses.count(status):
            flags.append(f"{statuses.count(status)} {status}")
    if not record.data.get("complete"):
        flags.append("incomplete")
    if current_hash and record.data.get("suite_hash") and record.data["suite_hash"] != current_hash:
        flags.append("stale: suite changed")
    return ", ".join(flags)


def summarise(records: Iterable[RunRecord], current_hashes: dict[tuple[str, str, int], str | None]) -> pd.DataFrame:
    """One row per record: counts, mean, std and 95 % bootstrap CI of every metric, runtime, flags.

    ``current_hashes`` maps (suite, size, seed) to the suite's current content
    hash; a record scored on another hash is flagged stale.
    """
    rows = []
    for rec in records:
        d = rec.data
        samples = list(d["samples"].values())
        ok = [s for s in samples if s["status"] == "ok"]
        row: dict[str, object] = {"suite": d["suite"], "run": rec.key, "method": d["method"],
                                  "n_ok": len(ok), "n_total": d["n_samples"]}
        for name in d["metrics"]:
            values = pd.Series([s["scores"][name] for s in ok], dtype=float)
            row[f"{name}_mean"] = values.mean() if len(values) else float("nan")
            row[f"{name}_std"] = values.std(ddof=1) if len(values) > 1 else float("nan")
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = bootstrap_ci(values.to_numpy())
        times = pd.Series([s["runtime_s"] for s in ok], dtype=float)
        row["runtime_s_mean"] = times.mean() if len(times) else float("nan")
        current = None if d.get("suite_options") else current_hashes.get((d["suite"], d["size"], d["seed"]))
        row["flags"] = _flags(rec, current)
        row["reference"] = bool(d.get("reference"))
        row["directions"] = {name: m["direction"] for name, m in d["metrics"].items()}
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series, name: str) -> str:
    """``mean [low, high]``: a metric's mean and its bootstrap confidence interval."""
    mean, low, high = (row[f"{name}_{part}"] for part in ("mean", "ci_low", "ci_high"))
    if math.isnan(mean):  # not measured (e.g. a reference row's metric that needs the target)
        return "—"
    if not (math.isfinite(low) and math.isfinite(high)):
        return format_number(mean)
    return f"{format_number(mean)} [{format_number(low)}, {format_number(high)}]"


def _display(group: pd.DataFrame) -> pd.DataFrame:
    """One suite: a row per method with n, every metric, ms/sample and flags."""
    directions: dict[str, str] = max(group["directions"], key=len)  # a reference row has fewer
    first = next(iter(directions))
    group = group.sort_values(f"{first}_mean", ascending=directions[first] == "lower", na_position="last")
    group = group.sort_values("reference", kind="stable")  # the reference after the methods
    table = pd.DataFrame({"method": group["method"], "n": [f"{a}/{b}" for a, b in zip(group["n_ok"], group["n_total"])]})
    for name, direction in directions.items():
        arrow = "↑" if direction == "higher" else "↓"
        table[f"{name} {arrow}"] = [_cell(row, name) for _, row in group.iterrows()]
    table["ms/sample"] = [f"{1e3 * t:.1f}" for t in group["runtime_s_mean"]]
    table["flags"] = group["flags"].tolist()
    return table


def _display_group(group: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """A suite group (e.g. motion/*): a row per method, one column group per member suite
    (in ``order``, e.g. the registry's; others after them by name)."""
    rank = {name: i for i, name in enumerate(order)}
    members = sorted(dict.fromkeys(group["suite"]), key=lambda m: (rank.get(m, len(rank)), m))
    methods = sorted(set(group["method"]), key=lambda m: (m == REFERENCE_METHOD, m))
    table = pd.DataFrame({"method": methods}).set_index("method", drop=False)
    for member in members:
        part = group[group["suite"] == member].set_index("method")
        label = member.split("/", 1)[1]
        for name, direction in max(part["directions"], key=len).items():
            arrow = "↑" if direction == "higher" else "↓"
            table[f"{label} {name} {arrow}"] = pd.Series(
                {m: _cell(r, name) for m, r in part.iterrows()})
    flags = group.assign(flag=[f"{s.split('/', 1)[1]}: {f}" if f else "" for s, f in zip(group["suite"], group["flags"])])
    table["flags"] = flags.groupby("method")["flag"].agg(lambda f: "; ".join(x for x in f if x))
    return table.fillna("—").reset_index(drop=True)


#: the columns of :func:`score_frame`
SCORE_COLUMNS = ("suite", "run", "method", "sample", "status", "variable", "value", "metric", "score", "direction")


def score_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """Every sample's score of every metric of its record, long format (:data:`SCORE_COLUMNS`):
    ``variable`` and ``value`` are the sample's ``meta["sweep"]`` (None without one); ``score`` is
    NaN where the sample was not scored (failed or skipped)."""
    rows = []
    for rec in records:
        for sid, sample in rec.data["samples"].items():
            (variable, value), = ((sample.get("meta") or {}).get("sweep") or {None: None}).items()
            for metric, spec in rec.data["metrics"].items():
                rows.append((rec.data["suite"], rec.key, rec.data["method"], sid, sample["status"], variable,
                             value, metric, sample["scores"].get(metric, math.nan), spec["direction"]))
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def sweep_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """The rows of :func:`score_frame` whose samples carry ``meta["sweep"]`` (e.g. a delay),
    failed samples included (NaN scores)."""
    scores = score_frame(records)
    return scores[scores["variable"].notna()].astype({"value": float}).reset_index(drop=True)


def _sweep_tables(sweeps: pd.DataFrame, fmt: str) -> list[str]:
    """One table per metric: rows = methods, columns = sweep values (mean over scenes)."""
    from tabulate import tabulate

    parts = []
    sweeps = sweeps[sweeps["status"] == "ok"]
    several = sweeps["suite"].nunique() > 1  # e.g. two sub-suites sweeping a separation each
    for (suite, variable, metric), part in sweeps.groupby(["suite", "variable", "metric"], sort=False):
        arrow = "↑" if part["direction"].iloc[0] == "higher" else "↓"
        table = part.pivot_table(index="method", columns="value", values="score", aggfunc="mean")
        table.columns = [f"{variable}={v:g}" for v in table.columns]
        body = tabulate(table.map(format_number).reset_index(), headers="keys", showindex=False, disable_numparse=True,
                        tablefmt="github" if fmt == "md" else "simple")
        title = f"{metric} {arrow} vs {variable}" + (f" ({suite})" if several else "")
        parts.append(f"#### {title}\n\n{body}\n" if fmt == "md" else f"{title}\n{body}\n")
    return parts


def render(results_dir: Path, suite: str | None, fmt: str,
           current_hashes: dict[tuple[str, str, int], str | None], order: Sequence[str] = ()) -> str:
    """The leaderboard text for every suite (or suite group, one column group per
    member, in ``order``: e.g. the registry's suite names) and run key under ``results_dir``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    records = with_reference(iter_records(results_dir, suite))
    frame = summarise(records, current_hashes)
    if frame.empty:
        where = f" for suite {suite!r}" if suite else ""
        return f"no results{where} under {results_dir}\n"
    if fmt == "csv":
        return frame.drop(columns=["directions"]).to_csv(index=False)
    from tabulate import tabulate

    frame["group"] = [name.split("/", 1)[0] for name in frame["suite"]]
    sweeps = sweep_frame(records)
    parts = []
    for (group_name, key), group in frame.groupby(["group", "run"], sort=True):
        grouped = group["suite"].str.contains("/").all()
        table = _display_group(group, order) if grouped else _display(group)
        title = f"{group_name if grouped else group['suite'].iloc[0]} [{key}]"
        body = tabulate(table, headers="keys", tablefmt="github" if fmt == "md" else "simple",
                        showindex=False, disable_numparse=True)
        parts.append(f"### {title}\n\n{body}\n" if fmt == "md" else f"{title}\n{body}\n")
        if not sweeps.empty:
            mine = sweeps[(sweeps["suite"].isin(group["suite"])) & (sweeps["run"] == key)]
            parts += _sweep_tables(mine, fmt) if not mine.empty else []
    return "\n".join(parts)

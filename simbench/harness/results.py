"""Result records: where they live, how they are read, and the reading API.

Records are stored by :mod:`simbench.harness.store` (one folder per record,
files only ever added).  Results folders written before that store —
``<suite>/<method>.json`` files holding ``runs: {label: record}`` — are read
as they are (read-only; ``simbench results migrate`` moves them into the
store).  Every file is validated: one that cannot be read is reported (logger
``simbench``) and skipped, never hiding the good ones.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness import store
from simbench.harness.jsonfile import read_object
from simbench.harness.names import check_name, check_suite_name
from simbench.harness.schema import record_problem, row_problem, scores_problem

#: schema of the single-file results of earlier simbench versions (read-only)
LEGACY_SCHEMA = 1
#: default results directory (relative to the working directory); override
#: with ``--results`` or the ``SIMBENCH_RESULTS`` environment variable.
DEFAULT_RESULTS_DIR = "simbench-results"
ENV_RESULTS = "SIMBENCH_RESULTS"
log = logging.getLogger("simbench")


def default_results_dir() -> Path:
    return Path(os.environ.get(ENV_RESULTS, DEFAULT_RESULTS_DIR))


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_key(size: str, seed: int, default_seed: int, oracle: bool = False,
            options: dict[str, Any] | None = None, metric_config: dict[str, Any] | None = None) -> str:
    """The record's label in tables: the size, ``[k=v,…]`` for non-default suite options,
    ``@seed=N`` for a non-default seed, ``+oracle`` for runs given the true pattern parameters,
    ``+paper`` (or ``+k=v,…``) for a non-default metric configuration."""
    opts = ",".join(f"{k}={v}" for k, v in sorted((options or {}).items()))
    return (size + (f"[{opts}]" if opts else "") + ("" if seed == default_seed else f"@seed={seed}")
            + ("+oracle" if oracle else "") + metric_label(metric_config or {}))


def metric_label(metric_config: dict[str, Any]) -> str:
    """``+paper`` (or ``+k=v,…``) for a non-default metric configuration, else ``''``."""
    from simbench.metrics.base import MetricConfig

    default = MetricConfig().to_dict()
    changed = {k: v for k, v in metric_config.items() if default.get(k) != v}
    text = ",".join(str(v) if k == "convention" else f"{k}={v}" for k, v in sorted(changed.items()))
    return f"+{text}" if text else ""


def result_path(results_dir: Path, suite: str, method: str) -> Path:
    """The folder of ``method``'s records on ``suite`` (names checked: nothing lands outside ``results_dir``)."""
    return Path(results_dir) / check_suite_name(suite) / check_name("method", method)


def legacy_path(folder: Path) -> Path:
    """The single results file of earlier versions beside a method's folder (``<method>.json``)."""
    return folder.parent / f"{folder.name}.json"


@dataclass
class RunRecord:
    """One record: ``path`` (its folder, or a legacy file), ``key`` (its label), ``data`` (fields and
    ``samples``, ``{sample id: row}``)."""

    path: Path
    key: str
    data: dict[str, Any]
    #: sample ids whose rows are on disk already
    stored: set[str] = field(default_factory=set, repr=False)

    @property
    def samples(self) -> dict[str, dict[str, Any]]:
        return self.data["samples"]

    @property
    def legacy(self) -> bool:
        return self.path.suffix == ".json"

    def save_sample(self, sample_id: str, index: int) -> bool:
        """Store one row (the header first, once); False when an ok row was already stored by another run."""
        if self.legacy:
            raise SimbenchError(f"{self.path}: results of an earlier simbench are read-only; "
                                "move them into the store with `simbench results migrate`")
        store.write_header(self.path, self.key, self.data)
        written = store.write_sample(self.path, index, self.samples[sample_id], now())
        self.stored.add(sample_id)
        return written

    def save(self) -> None:
        """Store every row not stored yet (rows already on disk are never rewritten)."""
        store.write_header(self.path, self.key, self.data)
        for index, sid in enumerate(self.samples):
            if sid not in self.stored:
                self.save_sample(sid, index)


def new_record(results_dir: Path, key: str, data: dict[str, Any]) -> RunRecord:
    """A record of ``data`` (method, suite, identity fields) at its place under ``results_dir``."""
    folder = result_path(results_dir, data["suite"], data["method"]) / store.folder_name(key, data)
    return RunRecord(folder, key, data)


def open_record(fresh: RunRecord) -> RunRecord:
    """The stored record with ``fresh``'s identity (to resume), or ``fresh`` when there is none."""
    if not store.is_record(fresh.path):
        return fresh
    loaded = store.read(fresh.path)
    for problem in loaded.problems:
        log.warning("%s (that sample is computed again)", problem)
    return RunRecord(fresh.path, loaded.label, loaded.data, loaded.stored)


def legacy_records(path: Path) -> list[RunRecord]:
    """The records of one results file of an earlier simbench (validated)."""
    data = read_object(path, "results file", "schema_version", LEGACY_SCHEMA)
    runs = data.get("runs")
    if not isinstance(runs, dict):
        raise SimbenchError(f"{path}: not a results file (no runs)")
    for key, run in runs.items():
        rows = run.get("samples") if isinstance(run, dict) else None
        problem = record_problem(run) or ("" if isinstance(rows, dict) else "no samples")
        problem = problem or next((p for p in (row_problem(r) or scores_problem(r, run["metrics"])
                                                 for r in rows.values()) if p), "")
        if problem:
            raise SimbenchError(f"{path} [{key}]: not a results record ({problem})")
    return [RunRecord(path, _with_metric_label(key, run), run, set(run["samples"]))
            for key, run in sorted(runs.items())]


def _with_metric_label(key: str, run: dict[str, Any]) -> str:
    """Earlier labels did not name the metric configuration: add it where it is not the default."""
    label = metric_label(run.get("metric_config") or {})
    return key if key.endswith(label) else key + label


@dataclass
class Scan:
    """Everything found under a results folder: every record (also older ones) and the unreadable files."""

    records: list[RunRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def current(self) -> list[RunRecord]:
        """The newest record per (suite, method, label), sorted by path and label: what tables show."""
        best: dict[tuple[str, str, str], RunRecord] = {}
        for rec in self.records:
            slot = (rec.data["suite"], rec.data["method"], rec.key)
            if slot not in best or _age(rec) > _age(best[slot]):
                best[slot] = rec
        return sorted(best.values(), key=lambda r: (str(r.path), r.key))

    def older(self) -> list[RunRecord]:
        """Records hidden by a newer one with the same suite, method and label."""
        shown = {id(r) for r in self.current()}
        return [r for r in self.records if id(r) not in shown]


def _age(record: RunRecord) -> tuple[str, bool]:
    return str(record.data.get("created", "")), not record.legacy


def scan(results_dir: Path, suite: str | None = None) -> Scan:
    """Read every record under ``results_dir`` (or one suite, or a suite group such as ``motion``)."""
    found = Scan()
    root = Path(results_dir) / suite if suite else Path(results_dir)
    for here, dirs, files in os.walk(root):
        folder = Path(here)
        if store.HEADER in files:
            dirs.clear()
            try:
                loaded = store.read(folder)
            except SimbenchError as exc:
                found.problems.append(str(exc))
                continue
            found.problems += loaded.problems
            found.records.append(RunRecord(folder, loaded.label, loaded.data, loaded.stored))
            continue
        dirs.sort()
        for name in sorted(f for f in files if f.endswith(".json") and not f.startswith(".")):
            try:
                found.records += legacy_records(folder / name)
            except SimbenchError as exc:
                found.problems.append(str(exc))
    return found


def iter_records(results_dir: Path, suite: str | None = None) -> Iterator[RunRecord]:
    """The newest record per (suite, method, label) under ``results_dir`` (optionally one suite or
    suite group such as ``motion`` for ``motion/*``), sorted by path and label.  Unreadable files
    are reported on the ``simbench`` logger, one line each, and skipped."""
    found = scan(results_dir, suite)
    for problem in found.problems:
        log.warning("skipped unreadable results: %s", problem)
    yield from found.current()


def load_record(folder: Path, key: str) -> RunRecord | None:
    """The newest record labelled ``key`` in a method's folder (or its earlier single file), or None."""
    matches = [r for r in scan(folder).records if r.key == key]
    if legacy_path(folder).is_file():
        matches += [r for r in legacy_records(legacy_path(folder)) if r.key == key]
    return max(matches, key=_age, default=None)


def others(record: RunRecord) -> list[RunRecord]:
    """The readable records beside ``record`` with its label (other settings, earlier files)."""
    folder = record.path.parent
    found = scan(folder).records
    if legacy_path(folder).is_file():
        try:
            found += legacy_records(legacy_path(folder))
        except SimbenchError:
            pass  # reported where results are listed
    return [r for r in found if r.key == record.key and r.path != record.path]

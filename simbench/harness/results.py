"""Result records: schema, location and atomic storage.

Layout: ``<results dir>/<suite>/<method>.json`` holds one record per run key
(see :func:`run_key`).  A record carries
per-sample rows (status, scores, runtime, digest) and the run's provenance.
Files are replaced atomically after every sample, so a killed run loses at
most the sample in flight and resumes from the rest.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
#: default results directory (relative to the working directory); override
#: with ``--results`` or the ``SIMBENCH_RESULTS`` environment variable.
DEFAULT_RESULTS_DIR = "simbench-results"
ENV_RESULTS = "SIMBENCH_RESULTS"


def default_results_dir() -> Path:
    return Path(os.environ.get(ENV_RESULTS, DEFAULT_RESULTS_DIR))


def run_key(size: str, seed: int, default_seed: int, oracle: bool = False,
            options: dict[str, Any] | None = None) -> str:
    """The record's key inside a result file: the size, ``[k=v,…]`` for
    non-default suite options, ``@seed=N`` for a non-default seed, ``+oracle``
    for runs given the true pattern parameters."""
    opts = ",".join(f"{k}={v}" for k, v in sorted((options or {}).items()))
    return (size + (f"[{opts}]" if opts else "") + ("" if seed == default_seed else f"@seed={seed}")
            + ("+oracle" if oracle else ""))


def result_path(results_dir: Path, suite: str, method: str) -> Path:
    return Path(results_dir) / suite / f"{method}.json"


def atomic_write_json(path: Path, payload: Any) -> None:
    """Write JSON to ``path`` so readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=False, allow_nan=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_file(path: Path) -> dict[str, Any]:
    with open(path) as fh:
        data = json.load(fh)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported results schema {data.get('schema_version')!r}")
    return data


@dataclass
class RunRecord:
    """One (method, suite, run key) record, as stored in the JSON file."""

    path: Path
    key: str
    data: dict[str, Any]

    @property
    def samples(self) -> dict[str, dict[str, Any]]:
        return self.data["samples"]

    def save(self) -> None:
        """Merge this record into its file (other run keys are kept) atomically."""
        existing = load_file(self.path) if self.path.exists() else {"schema_version": SCHEMA_VERSION, "runs": {}}
        existing["runs"][self.key] = self.data
        atomic_write_json(self.path, existing)


def load_record(path: Path, key: str) -> RunRecord | None:
    if not path.exists():
        return None
    run = load_file(path)["runs"].get(key)
    return None if run is None else RunRecord(path, key, run)


def iter_records(results_dir: Path, suite: str | None = None) -> Iterator[RunRecord]:
    """Every record under ``results_dir`` (optionally one suite or suite group such as
    ``motion`` for ``motion/*``), sorted by path and key."""
    root = Path(results_dir)
    for path in sorted((root / suite if suite else root).rglob("*.json")):
        for key, run in sorted(load_file(path)["runs"].items()):
            yield RunRecord(path, key, run)

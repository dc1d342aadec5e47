"""Move results of earlier simbench versions (``<suite>/<method>.json``) into the results store.

Every record becomes a store folder holding every sample row unchanged; the
store is read back and compared with the file before the file is renamed to
``<method>.json.migrated`` (kept, never deleted), so no value can be lost.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness import results, store


def legacy_files(results_dir: Path) -> Iterator[Path]:
    """The single-file results under ``results_dir`` (outside store folders)."""
    for here, dirs, files in os.walk(results_dir):
        if store.HEADER in files:
            dirs.clear()
            continue
        dirs.sort()
        yield from (Path(here) / f for f in sorted(files) if f.endswith(".json") and not f.startswith("."))


def _identity_fields(key: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as a new run would describe it: the suite's manifest hash for default seeds and options
    (what a complete record of them carries), none otherwise."""
    default = "@seed=" not in key and "[" not in key
    return {**data, "method_artifacts": data.get("method_artifacts") or {},
            "suite_hash": data.get("suite_hash") if default else None}


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def migrate_record(results_dir: Path, record: results.RunRecord) -> Path:
    """Write one earlier record into the store; returns its folder after checking that it reads
    back with every row unchanged."""
    data, key = record.data, record.key
    folder = results.result_path(results_dir, data["suite"], data["method"]) / store.folder_name(
        key, _identity_fields(key, data))
    store.write_header(folder, key, data)
    finished = str(data.get("updated") or data.get("created") or "")
    for index, row in enumerate(data["samples"].values()):
        store.write_sample(folder, index, row, finished)
    back = store.read(folder)
    if back.problems or not _same(back.data["samples"], data["samples"]):
        raise SimbenchError(f"{folder}: the migrated record does not read back as {record.path} [{record.key}]; "
                            "the earlier file is left in place")
    return folder


def migrate(results_dir: Path, dry_run: bool = False) -> list[str]:
    """Migrate every earlier file under ``results_dir``; returns one line per record (what was, or
    with ``dry_run`` would be, done)."""
    lines = []
    for path in list(legacy_files(results_dir)):
        try:
            records = results.legacy_records(path)
        except SimbenchError as exc:
            lines.append(f"skipped, unreadable: {exc}")
            continue
        for record in records:
            target = "(dry run)" if dry_run else migrate_record(results_dir, record)
            lines.append(f"{path} [{record.key}]: {len(record.samples)} sample(s) → {target}")
        if not dry_run:
            path.rename(path.with_name(path.name + ".migrated"))
    return lines

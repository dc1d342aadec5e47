"""The results store: one folder per record, written only by adding files.

Layout under a results folder::

    <suite>/<method>/<label>-<identity>/record.json          header, created once
    <suite>/<method>/<label>-<identity>/samples/<id>.ok.json  one file per finished sample
    <suite>/<method>/<label>-<identity>/samples/<id>.failed.json   (or .skipped.json)
    <suite>/<method>/<label>-<identity>/claims/<id>.claim     work in progress (see claims)

``identity`` is a digest of everything that changes a score (:data:`IDENTITY`), so a
run with other settings writes a new folder beside the old one.  Every file is
written to a temporary name and then linked into place without overwriting
(:func:`~simbench.harness.jsonfile.create_json`): a finished (ok) sample is
never replaced, concurrent writers — processes or machines sharing the folder —
never lose or corrupt one.  A failed or skipped sample may be replaced by a later
attempt of the same record (``--retry-failed``); an ok file always wins.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness.jsonfile import atomic_write_json, create_json, read_object
from simbench.harness.names import check_name
from simbench.harness.schema import STATUSES, record_problem, row_problem, scores_problem

HEADER = "record.json"
SAMPLES = "samples"
RECORD_SCHEMA = "simbench-record/2"
SAMPLE_SCHEMA = "simbench-sample/2"
#: the record fields whose values change a score (with the metrics' names, directions and versions): a
#: run that differs in any of them is another record
IDENTITY = ("method", "method_version", "method_artifacts", "suite", "suite_version", "suite_hash", "suite_options",
            "size", "seed", "n_samples", "metric_config", "oracle_params")
#: fields of a record that are derived from its samples, not stored in the header
DERIVED = ("samples", "complete", "updated")


def identity(data: dict[str, Any]) -> str:
    """Short sha256 digest (16 hex digits) of the record fields that change a score."""
    fields = {k: data.get(k) for k in IDENTITY}
    fields["method_artifacts"] = data.get("method_artifacts") or {}  # none recorded: none used
    fields["metric_directions"] = {name: spec.get("direction") for name, spec in data.get("metrics", {}).items()}
    # metric versions beyond the first (records made before metrics had versions keep their identity)
    versions = {name: spec["version"] for name, spec in data.get("metrics", {}).items()
                if spec.get("version", "1") != "1"}
    if versions:
        fields["metric_versions"] = versions
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def folder_name(label: str, data: dict[str, Any]) -> str:
    """The record's folder name: its label made file-safe, and its identity digest."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', label)[:48]}-{identity(data)}"


def is_record(folder: Path) -> bool:
    return (folder / HEADER).is_file()


@dataclass
class Loaded:
    """A record folder as read: its label, fields, rows (in the suite's order) and the problems met."""

    label: str
    data: dict[str, Any]
    stored: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def write_header(folder: Path, label: str, data: dict[str, Any]) -> None:
    """Create the record's header once; an existing header (another writer's) is kept."""
    if is_record(folder):
        return
    create_json(folder / HEADER, {"schema": RECORD_SCHEMA, "label": label, "identity": folder.name.rsplit("-", 1)[-1],
                                  "record": {k: v for k, v in data.items() if k not in DERIVED}})


def write_sample(folder: Path, index: int, row: dict[str, Any], finished: str) -> bool:
    """Store one sample's row; False when an ok row for it was already there (left as it was)."""
    sid = check_name("sample id", row["id"])
    status = row["status"] if row["status"] in STATUSES else "failed"
    payload = {"schema": SAMPLE_SCHEMA, "index": index, "finished": finished, "row": row}
    path = folder / SAMPLES / f"{sid}.{status}.json"
    if status == "ok":
        if create_json(path, payload):
            return True
        try:
            _sample(path)
            return False
        except SimbenchError:  # damaged from outside: kept aside for inspection, the new row takes its place
            path.rename(path.with_name(path.name + ".unreadable"))
            return create_json(path, payload)
    if (folder / SAMPLES / f"{sid}.ok.json").exists():
        return False
    atomic_write_json(path, payload)
    return True


def _sample(path: Path) -> tuple[int, str, dict[str, Any]]:
    data = read_object(path, "sample file", "schema", SAMPLE_SCHEMA)
    row = data.get("row")
    problem = row_problem(row) or ("" if isinstance(data.get("index"), int) else "no index")
    if problem or row.get("id") != path.name.split(".", 1)[0]:
        raise SimbenchError(f"{path}: not a sample file ({problem or 'its id is not its name'})")
    return data["index"], str(data.get("finished", "")), row


def _rank(status: str, finished: str) -> tuple[bool, str]:
    return status == "ok", finished


def _best(paths: list[Path], loaded: Loaded) -> dict[str, tuple[int, str, dict[str, Any]]]:
    """Per sample id, the row that counts among its files (an ok row, else the latest attempt)."""
    found: dict[str, tuple[int, str, dict[str, Any]]] = {}
    for path in paths:
        try:
            index, finished, row = _sample(path)
        except SimbenchError as exc:
            loaded.problems.append(str(exc))
            continue
        old = found.get(row["id"])
        if old is None or _rank(row["status"], finished) > _rank(old[2]["status"], old[1]):
            found[row["id"]] = (index, finished, row)
    return found


def read_sample(folder: Path, sample_id: str) -> dict[str, Any] | None:
    """The stored row of one sample (as :func:`read` would count it), or None."""
    found = _best(sorted((folder / SAMPLES).glob(f"{check_name('sample id', sample_id)}.*.json")), Loaded("", {}))
    return found[sample_id][2] if sample_id in found else None


def read(folder: Path) -> Loaded:
    """The record stored in ``folder``; an unreadable header is a :class:`SimbenchError`, an unreadable
    sample file a problem (that sample counts as missing)."""
    header = read_object(folder / HEADER, "results record", "schema", RECORD_SCHEMA)
    data = header.get("record")
    problem = record_problem(data) or ("" if isinstance(header.get("label"), str) else "no label")
    if problem:
        raise SimbenchError(f"{folder / HEADER}: not a results record ({problem})")
    loaded = Loaded(header["label"], data)
    found = _best(sorted((folder / SAMPLES).glob("*.json")), loaded)
    for sid, (_, _, row) in list(found.items()):
        if scores_problem(row, data["metrics"]):
            loaded.problems.append(f"{folder / SAMPLES}: {scores_problem(row, data['metrics'])}")
            del found[sid]
    ordered = sorted(found.values(), key=lambda item: item[0])
    data["samples"] = {row["id"]: row for _, _, row in ordered}
    data["updated"] = max((finished for _, finished, _ in ordered), default=data.get("created"))
    data["complete"] = len(ordered) == data["n_samples"]
    digests = [row.get("digest") for _, _, row in ordered]
    if data["complete"] and all(isinstance(d, str) for d in digests):
        from simbench.harness.digest import content_hash

        data["suite_hash"] = content_hash(digests)
    loaded.stored = set(data["samples"])
    return loaded

"""What a result record and a sample row must hold, checked before any table reads them."""
from __future__ import annotations

from typing import Any

from simbench.metrics.base import ARROWS

#: a sample row's status
STATUSES = ("ok", "failed", "skipped")
DIRECTIONS = tuple(ARROWS)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(value: Any) -> bool:
    return isinstance(value, dict) and all(_number(v) or v is None for v in value.values())


def _flag_lists(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(flags, list) and all(isinstance(f, str) for f in flags) for flags in value.values())


def row_problem(row: Any) -> str:
    """What is wrong with a sample row (as the runner writes it), or ''."""
    if not isinstance(row, dict):
        return "a sample row is not an object"
    if not isinstance(row.get("id"), str) or row.get("status") not in STATUSES:
        return f"sample row {str(row.get('id'))[:40]!r}: no id or an unknown status {str(row.get('status'))[:20]!r}"
    if not _numbers(row.get("scores")) or not (row.get("reference") is None or _numbers(row["reference"])):
        return f"sample row {row['id']!r}: scores are not numbers"
    if not all(row.get(k) is None or _flag_lists(row[k]) for k in ("flags", "reference_flags")):
        return f"sample row {row['id']!r}: flags are not lists of names"
    if not all(row.get(k) is None or _numbers(row[k]) for k in ("uncertainty", "reference_uncertainty")):
        return f"sample row {row['id']!r}: uncertainties are not numbers"
    if not (row.get("runtime_s") is None or _number(row["runtime_s"])):
        return f"sample row {row['id']!r}: runtime_s is not a number"
    if not (row.get("meta") is None or isinstance(row["meta"], dict)):
        return f"sample row {row['id']!r}: meta is not an object"
    return ""


def scores_problem(row: dict[str, Any], metrics: dict[str, Any]) -> str:
    """What a row lacks for its record's ``metrics`` (an ok row scores every one), or ''."""
    missing = [name for name in metrics if name not in row["scores"]] if row["status"] == "ok" else []
    return f"sample row {row['id']!r}: no score for {', '.join(missing)}" if missing else ""


def record_problem(data: Any) -> str:
    """What is wrong with a record's fields (without its rows), or ''."""
    if not isinstance(data, dict):
        return "the record is not an object"
    if not all(isinstance(data.get(k), str) for k in ("method", "suite", "size")):
        return "method, suite or size missing or not text"
    if not all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool) for k in ("n_samples", "seed")):
        return "n_samples or seed missing or not a whole number"
    if not all(data.get(k) is None or isinstance(data[k], dict) for k in ("suite_options", "metric_config")):
        return "suite_options or metric_config is not an object"
    if not all(data.get(k) is None or isinstance(data[k], str) for k in ("suite_hash", "created")):
        return "suite_hash or created is not text"
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not all(
            isinstance(spec, dict) and spec.get("direction") in DIRECTIONS for spec in metrics.values()):
        return f"metrics missing or without a direction ({', '.join(DIRECTIONS)})"
    return ""

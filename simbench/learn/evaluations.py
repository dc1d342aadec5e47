"""A model card's ``evaluations``: what a checkpoint scored on benchmark suites, taken from result records
made with exactly these weights (the record's weights sha256 equals the card's), so that a card never
quotes the numbers of other weights, and the numbers can be checked against the records at any time."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness.ranking import valid_value
from simbench.harness.results import RunRecord, iter_records
from simbench.learn.checkpoint import card_path, read_card, write_card


def summary(record: RunRecord) -> dict[str, Any]:
    """One complete record as a card entry: suite, version, size, options, sample count and, per metric,
    the mean of its valid values (failed samples, NaN and invalidating flags left out) and how many there
    were, with the target's own mean where the metric measures the target too."""
    rows = list(record.samples.values())
    metrics: dict[str, dict[str, float | int]] = {}
    for name in record.data["metrics"]:
        entry: dict[str, float | int] = {}
        for field, key in (("scores", "mean"), ("reference", "target_mean")):
            values = [v for v in (valid_value(row, name, field) for row in rows) if not math.isnan(v)]
            if values:
                entry[key] = round(sum(values) / len(values), 6)
                entry["valid" if field == "scores" else "target_valid"] = len(values)
        if "mean" in entry:
            metrics[name] = entry
    data = record.data
    return {"suite": data["suite"], "suite_version": data["suite_version"], "size": data["size"],
            "options": data.get("suite_options") or {}, "samples": len(rows), "metrics": metrics}


def evaluations(card: dict[str, Any], records: Iterable[RunRecord]) -> dict[str, dict[str, Any]]:
    """``suite label`` → :func:`summary` of every complete record of the card's method made with the card's
    weights."""
    found = {}
    for record in records:
        data = record.data
        if data.get("method") != card["method"] or not data.get("complete"):
            continue
        if (data.get("method_artifacts") or {}).get("weights_sha256") != card["sha256"]:
            continue
        found[f"{data['suite']} {record.key}"] = summary(record)
    return dict(sorted(found.items()))


def write_evaluations(weights: Path, results_dir: Path, suites: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Replace the ``evaluations`` of the model card beside ``weights`` by those of the records under
    ``results_dir`` (only ``suites``, or all when empty); returns them.  Raises when the card is missing
    or no record was made with its weights."""
    card = read_card(weights)
    if card is None:
        raise SimbenchError(f"no model card beside {weights}")
    records = [r for suite in (suites or [None]) for r in iter_records(results_dir, suite)]
    found = evaluations(card, records)
    if not found:
        raise SimbenchError(f"no complete record of {card['method']!r} with these weights (sha256 "
                            f"{card['sha256'][:12]}…) under {results_dir}"
                            + (f" for {', '.join(suites)}" if suites else "")
                            + f": run `simbench run --method {card['method']} --suite SUITE --results {results_dir}` first")
    write_card(card_path(weights), {**card, "evaluations": found})
    return found

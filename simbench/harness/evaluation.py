"""Reconstruct one sample with a method and score it: the rows of the results store.

Shared by runs (:mod:`simbench.harness.tasks`) and by the scoring of outside
predictions (:mod:`simbench.harness.scoring`): a failure is data, recorded in
the row, never raised.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from simbench.errors import InvalidOutputError, SimbenchError
from simbench.harness.digest import json_sha256
from simbench.metrics.base import Measurement, Metric, MetricConfig, ScoreInput
from simbench.types import RawStack, Reconstruction, Sample


def as_image(output: Any, expected_shape: tuple[int, ...]) -> tuple[np.ndarray, dict[str, Any]]:
    """Check a method's output against the target grid's shape; return (float32 image, info)."""
    info: dict[str, Any] = {}
    if isinstance(output, Reconstruction):
        output, info = output.image, dict(output.info)
    if not isinstance(output, np.ndarray):
        raise InvalidOutputError(f"returned {type(output).__name__}, expected a numpy array")
    if output.shape != tuple(expected_shape):
        raise InvalidOutputError(
            f"returned shape {output.shape}, expected {tuple(expected_shape)} (the target grid)")
    if not (np.issubdtype(output.dtype, np.floating) or np.issubdtype(output.dtype, np.integer)):
        raise InvalidOutputError(f"returned dtype {output.dtype}, expected a real number type")
    bad = int(np.count_nonzero(~np.isfinite(output)))
    if bad:
        raise InvalidOutputError(f"returned {bad} non-finite values (NaN or inf)")
    return output.astype(np.float32, copy=False), info


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def score_into(row: dict[str, Any], metrics: list[Metric], inputs: ScoreInput, *, prefix: str = "") -> None:
    """Measure ``inputs`` with every metric into ``row``: ``row[prefix + "scores"]`` holds the values,
    ``row[prefix + "flags"]`` the non-empty flag lists and ``row[prefix + "uncertainty"]`` the
    estimated uncertainties (both keyed by metric name, present only where a metric gave some).
    A metric that raises stops the scoring (the caller records the failure) unless ``prefix`` is
    set (a reference measurement: the target a metric cannot measure is a NaN gap)."""
    scores, flags, uncertainty = {}, {}, {}
    for metric in metrics:
        try:
            m = metric.measure(inputs)
        except Exception:  # noqa: BLE001 - plugin metric code
            if not prefix:
                raise
            m = Measurement(float("nan"))
        scores[metric.name] = float(m.value)
        if m.flags:
            flags[metric.name] = list(m.flags)
        if math.isfinite(m.uncertainty):
            uncertainty[metric.name] = float(m.uncertainty)
    row[prefix + "scores"] = scores
    for name, part in ((prefix + "flags", flags), (prefix + "uncertainty", uncertainty)):
        if part:
            row[name] = part
        else:
            row.pop(name, None)


def reference_scores(sample: Sample, metrics: list[Metric], config: MetricConfig) -> dict[str, Any]:
    """The target measured by the metrics that measure an image alone (``Metric.on_target``, e.g.
    FWHM), as row fields: ``reference`` (values; NaN where one fails on the target),
    ``reference_flags`` and ``reference_uncertainty`` where given.  The leaderboard shows them
    next to the methods and scores ``direction == "target"`` metrics by closeness to them.
    Empty without a target (a real acquisition)."""
    if sample.target is None:
        return {}
    inputs = ScoreInput(sample.target, sample.target, sample.target_pixel_size_nm, config, sample=sample)
    fields: dict[str, Any] = {}
    score_into(fields, [m for m in metrics if m.on_target], inputs, prefix="reference_")
    return {"reference": fields.pop("reference_scores"), **fields}


def reference_key(metrics: list[Metric], config: MetricConfig) -> str:
    """What decides :func:`reference_scores` besides the sample: the target-measuring metrics with
    their versions and the metric configuration (hex, 16 characters)."""
    measured = sorted((m.name, m.version) for m in metrics if m.on_target)
    return json_sha256({"metrics": measured, "config": config.to_dict()})[:16]


def oracle_raw(raw: RawStack, truth: dict[str, Any]) -> RawStack:
    """``raw`` with its nominal pattern replaced by the true one, flagged ``oracle``."""
    if "pattern" not in truth:
        raise SimbenchError("--oracle-params: this suite records no true pattern parameters")
    return dataclasses.replace(raw, pattern=type(raw.pattern).from_dict(truth["pattern"]), oracle=True)


def new_row(sample: Sample, digest: str) -> dict[str, Any]:
    """A sample's result row before anything ran."""
    return {"id": sample.id, "status": "ok", "error": None, "scores": {}, "runtime_s": None,
            "digest": digest, "info": {}, "meta": sample.meta}


def evaluate(row: dict[str, Any], sample: Sample, metrics: list[Metric], config: MetricConfig,
             produce: Callable[[bool], Any]) -> dict[str, Any]:
    """Fill ``row`` with the scores of ``produce(False)``, the output for ``sample.raw`` (timed), and,
    when a metric needs it, ``produce(True)``, the output for ``sample.raw_repeat``.  Any failure
    becomes the row's error: a failure is data, the run goes on."""
    try:
        needs_repeat = any(m.needs_repeat for m in metrics)
        if needs_repeat and sample.raw_repeat is None:
            raise SimbenchError(f"suite {sample.id!r} has no second noise realisation for repeat-based metrics")
        start = time.perf_counter()
        output = produce(False)
        row["runtime_s"] = time.perf_counter() - start
        image, row["info"] = as_image(output, sample.grid_shape)
        repeat = as_image(produce(True), sample.grid_shape)[0] if needs_repeat else None
        inputs = ScoreInput(image, sample.target, sample.target_pixel_size_nm, config, repeat, sample=sample)
        score_into(row, metrics, inputs)
    except Exception as exc:  # noqa: BLE001 - plugin code: a failure is data, the run goes on
        row.update(status="failed", error=_error_text(exc))
    return row

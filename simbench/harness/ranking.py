"""Paired ranking of methods on a suite's primary metrics (the leaderboard's ``rank`` column).

The rule (:data:`RULE`): the methods of one suite and run are compared on the same samples, all
of the suite's, not each method's own.  Per primary metric and sample, a method's *loss* is its
value (lower is better), minus its value (higher is better) or its absolute relative error
``|v − ref| / |ref|`` against the target's own value (direction ``target``).  A failed, skipped
or missing sample, a NaN and a value an invalidating flag marks (``no_crossing``,
``unreliable``) get the worst loss of that sample among the methods, so refusing hard samples
never helps.  Each metric ranks the methods by their mean loss; the rank is the order of the
mean of those per-metric ranks, ties broken by the first primary metric.  The target
(reference) is shown, never ranked.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simbench.harness.results import RunRecord
from simbench.metrics.base import ARROWS, INVALIDATING_FLAGS

RULE = ("rank: mean of the per-metric ranks over {metrics} (ties: {first}), each ranking the mean over all {n} "
        "samples of the value{target}; a failed, skipped, missing, NaN or invalid-flagged value counts as the worst "
        "of its sample among the methods")
#: how :data:`RULE` names the ranking value of a metric scored by closeness to the target
TARGET_CLAUSE = " (◎: of its absolute relative error to the target's own value)"


def valid_value(row: Mapping[str, Any] | None, metric: str, field: str = "scores") -> float:
    """``row[field][metric]`` when it may be averaged and ranked, else NaN: NaN when the row is
    missing, its sample was not scored (``status`` other than ok; reference fields need none),
    the value is absent or not finite, or a flag in ``row[flags]`` invalidates it (flags of
    ``scores`` are in ``flags``, of ``reference`` in ``reference_flags``)."""
    if row is None or (field == "scores" and row.get("status") != "ok"):
        return math.nan
    value = (row.get(field) or {}).get(metric)
    flags_field = "flags" if field == "scores" else f"{field}_flags"
    if value is None or INVALIDATING_FLAGS.intersection((row.get(flags_field) or {}).get(metric, ())):
        return math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


def relative_error(value: float, reference: float) -> float:
    """Signed relative error ``(value − reference) / |reference|``; NaN without a usable reference."""
    if not math.isfinite(reference) or reference == 0:
        return math.nan
    return (value - reference) / abs(reference)


def references(records: Sequence[RunRecord], metric: str) -> dict[str, float]:
    """Sample id → the target's own valid value of ``metric`` (the first row that has one)."""
    found: dict[str, float] = {}
    for rec in records:
        for sid, row in rec.samples.items():
            if math.isnan(found.get(sid, math.nan)):
                found[sid] = valid_value(row, metric, "reference")
    return found


def effective_directions(records: Sequence[RunRecord], known: Mapping[str, str]) -> dict[str, str]:
    """Each metric's direction: the one the records store, except that a metric the installed
    registry (``known``) now scores as closeness to the target is ranked so wherever the rows
    carry the target's own value (records written before it was declared ``target``)."""
    directions: dict[str, str] = {}
    for rec in records:
        for name, spec in rec.data["metrics"].items():
            stored = directions.setdefault(name, spec["direction"])
            if stored != "target" and known.get(name) == "target" and any(
                    math.isfinite(v) for v in references([rec], name).values()):
                directions[name] = "target"
    return directions


def loss(value: float, direction: str, reference: float = math.nan) -> float:
    """The ranking value of one sample's ``value`` (lower is better; NaN stays NaN)."""
    if direction == "higher":
        return -value
    if direction == "target":
        return abs(relative_error(value, reference))
    return value


@dataclass(frozen=True)
class Ranking:
    """The ranking of one suite's methods (records of one run)."""

    #: the primary metrics ranked by (with their directions), and the samples compared
    metrics: tuple[str, ...]
    directions: dict[str, str]
    n_samples: int
    #: metric → method → mean loss over the samples (worst values filled in)
    mean_loss: dict[str, dict[str, float]]
    #: metric → method → its rank on that metric (1 best; ties share the lower rank)
    metric_rank: dict[str, dict[str, float]]
    #: method → its rank (1 best; exact ties share a rank)
    rank: dict[str, int]

    def rule(self) -> str:
        """:data:`RULE` for these metrics and samples."""
        named = ", ".join(f"{m} {ARROWS[self.directions[m]]}" for m in self.metrics)
        target = TARGET_CLAUSE if "target" in self.directions.values() else ""
        return RULE.format(metrics=named, first=self.metrics[0] if self.metrics else "none", n=self.n_samples,
                           target=target)


def loss_matrix(records: Sequence[RunRecord], metric: str, direction: str, samples: Sequence[str]) -> np.ndarray:
    """(method, sample) losses of ``metric``; every invalid entry gets its sample's worst valid
    loss, and a sample nobody scored validly counts 0 for all (a tie)."""
    refs = references(records, metric) if direction == "target" else {}
    losses = np.array([[loss(valid_value(rec.samples.get(sid), metric), direction, refs.get(sid, math.nan))
                        for sid in samples] for rec in records], dtype=np.float64).reshape(len(records), len(samples))
    finite = np.isfinite(losses)
    worst = np.where(finite, losses, -np.inf).max(axis=0, initial=-np.inf)
    worst[~np.isfinite(worst)] = 0.0
    return np.where(finite, losses, worst[None, :])


#: means closer than this, relative to the larger, tie: float rounding (an offset under an affine fit) and
#: differences far below any metric's precision do not order methods, nor do differences that change
#: with the machine's FFT/BLAS kernels (the light-sheet samples' bytes do): zeroing a two-point stack's
#: background below its mean changes its MSE by 5e-6 of it with one kernel and by 3.5e-4 with another
#: (AVX-512 OpenBLAS).  Still 20× below the regression gate's MSE tolerance (2 %).
TIE = 1e-3


def _less(a: float, b: float) -> bool:
    """``a`` below ``b`` by more than :data:`TIE` of the larger magnitude."""
    return a < b - TIE * max(abs(a), abs(b))


def _ranks(values: Sequence[float]) -> list[float]:
    """Competition ranks of ``values`` (1 for the lowest; values within :data:`TIE` share the lower rank)."""
    return [1.0 + sum(_less(other, v) for other in values) for v in values]


def rank(records: Sequence[RunRecord], primary: Sequence[str], directions: Mapping[str, str]) -> Ranking:
    """Rank ``records`` (one suite and run, the reference excluded) by :data:`RULE` on the
    ``primary`` metrics that any of them scored (none: every metric the records scored)."""
    names = list(dict.fromkeys(n for rec in records for n in rec.data["metrics"]))
    metrics = tuple(m for m in primary if m in names) or tuple(names)
    samples = list(dict.fromkeys(sid for rec in records for sid in rec.samples))
    methods = [rec.data["method"] for rec in records]
    used = {m: directions.get(m, "higher") for m in metrics}
    mean_loss, metric_rank = {}, {}
    for metric in metrics:
        losses = loss_matrix(records, metric, used[metric], samples)
        means = losses.mean(axis=1) if samples else np.zeros(len(records))
        mean_loss[metric] = dict(zip(methods, means.tolist()))
        metric_rank[metric] = dict(zip(methods, _ranks(means.tolist())))
    keys = {m: (sum(metric_rank[k][m] for k in metrics) / max(len(metrics), 1),
                mean_loss[metrics[0]][m] if metrics else 0.0) for m in methods}
    ranks = {m: 1 + sum(keys[o][0] < keys[m][0] or (keys[o][0] == keys[m][0] and _less(keys[o][1], keys[m][1]))
                        for o in methods) for m in methods}
    return Ranking(metrics, used, len(samples), mean_loss, metric_rank, ranks)


def paired_scores(a: RunRecord, b: RunRecord, metric: str, direction: str) -> tuple[list[float], list[float], int]:
    """What ``simbench compare`` tests: ``metric`` of ``a`` and ``b`` on the samples both scored
    (the values, or for a ``target`` metric their absolute relative errors to the target's own
    value), and how many of those samples were left out because either value is NaN or
    invalid-flagged (or has no target value to compare with)."""
    refs = references([a, b], metric) if direction == "target" else {}
    xs: list[float] = []
    ys: list[float] = []
    excluded = 0
    for sid, row in a.samples.items():
        other = b.samples.get(sid)
        if row["status"] != "ok" or other is None or other["status"] != "ok":
            continue
        x, y = (valid_value(r, metric) for r in (row, other))
        if direction == "target":
            x, y = (abs(relative_error(v, refs.get(sid, math.nan))) for v in (x, y))
        if math.isnan(x) or math.isnan(y):
            excluded += 1
            continue
        xs.append(x)
        ys.append(y)
    return xs, ys, excluded

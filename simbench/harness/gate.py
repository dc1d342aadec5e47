"""Regression gate: rerun committed baseline runs and compare their scores.

A baseline is a result record under a baseline directory (``leaderboards/results``)
for the suite's default seed and options.  The gate reruns it with the runner into
another results directory and compares the mean of every metric over the samples
scored in both, direction-aware, against a per-metric tolerance
``max(floor, relative·|baseline mean|)`` from a TOML file.  A metric scored by closeness to
the target (direction ``target``) is compared by its mean absolute relative error to the
target's own value; a value that was valid in the baseline and is now NaN or carries an
invalidating flag (no crossing, unreliable) is a regression, and means are taken over the
samples valid in both.  A baseline scored on
another suite version or content hash (or another method version) is *stale*:
reported, never compared.  No baseline: a warning, never a failure.  Runtime is
reported and never fails.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from simbench.errors import SimbenchError
from simbench.harness import manifest, runner
from simbench.harness.executors import Executor
from simbench.harness.leaderboard import format_number
from simbench.harness.ranking import relative_error, valid_value
from simbench.harness.results import RunRecord, load_record, result_path, run_key
from simbench.metrics.base import ARROWS, MetricConfig
from simbench.plugin.manager import Registry
from simbench.suites.base import Suite

#: verdicts, in report order
STATUSES = ("regression", "failed", "stale", "no baseline", "ok")


@dataclass(frozen=True)
class Tolerance:
    """How much a mean may worsen: ``max(floor, relative·|baseline|)``."""

    floor: float
    relative: float = 0.0

    def allowed(self, baseline: float) -> float:
        return max(self.floor, self.relative * abs(baseline))


def load_tolerances(path: Path) -> dict[str, Tolerance]:
    """``[default]`` and ``[metrics.NAME]`` tables of ``floor`` (required) and ``relative``."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SimbenchError(f"tolerance file {path} does not exist (give one with --tolerances)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SimbenchError(f"tolerance file {path}: {exc}") from None
    tables = {"default": data.get("default", {}), **data.get("metrics", {})}
    tolerances = {}
    for name, table in tables.items():
        if "floor" not in table:
            raise SimbenchError(f"tolerance file {path}: [{name}] needs a floor (runs are deterministic, "
                                "their spread is zero)")
        tolerances[name] = Tolerance(float(table["floor"]), float(table.get("relative", 0.0)))
    return tolerances


@dataclass(frozen=True)
class MetricChange:
    """One metric's mean, baseline vs now."""

    metric: str
    direction: str
    unit: str
    baseline: float
    current: float
    allowed: float
    #: samples whose value was valid in the baseline and is now NaN or invalid-flagged
    newly_invalid: int = 0

    @property
    def worse_by(self) -> float:
        """How much worse the current mean is (negative: better)."""
        delta = self.current - self.baseline
        return -delta if self.direction == "higher" else delta

    @property
    def regressed(self) -> bool:
        if self.newly_invalid or (math.isnan(self.current) and not math.isnan(self.baseline)):
            return True
        return self.worse_by > self.allowed

    def describe(self) -> str:
        delta = self.current - self.baseline
        relative = f" ({100 * delta / abs(self.baseline):+.1f} %)" if self.baseline else ""
        unit = "" if self.direction == "target" or not self.unit else f" {self.unit}"
        what = " |relative error to the target|" if self.direction == "target" else ""
        verdict = "REGRESSION" if self.regressed else ("better" if self.worse_by < 0 else "ok")
        invalid = f", {self.newly_invalid} value(s) valid in the baseline now invalid" if self.newly_invalid else ""
        return (f"{self.metric} {ARROWS[self.direction]}{what}: {format_number(self.baseline)} → "
                f"{format_number(self.current)}{unit}, change {delta:+.4g}{unit}{relative}, tolerance "
                f"{self.allowed:.3g}{unit}{invalid}: {verdict}")


@dataclass
class Verdict:
    """The gate's finding for one (suite, size, method)."""

    suite: str
    size: str
    method: str
    status: str
    notes: list[str] = field(default_factory=list)
    changes: list[MetricChange] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{self.status.upper():<11} {self.method} on {self.suite} [{self.size}]"]
        lines += [f"    {c.describe()}" for c in self.changes]
        lines += [f"    {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class CheckRequest:
    """What ``simbench check`` was asked to do."""

    baseline_dir: Path
    results_dir: Path
    tolerances: dict[str, Tolerance]
    suites: list[str] | None = None
    methods: list[str] | None = None
    size: str = "quick"
    progress: bool = False
    #: the sample cache root (:mod:`simbench.harness.cache`); None: no cache
    cache_dir: Path | None = None


def _stale_reason(baseline: RunRecord, suite: Suite, registry: Registry, size: str) -> str:
    data = baseline.data
    if data.get("suite_version") != suite.version:
        return f"baseline scored on {suite.name} v{data.get('suite_version')}, the suite is now v{suite.version}"
    current = manifest.content_hashes(suite, size, suite.default_seed)
    if current is not None and data.get("suite_hash") not in current:
        return (f"baseline scored on content hash {str(data.get('suite_hash'))[:12]}…, the suite's manifest "
                f"now says {' or '.join(sorted(h[:12] + '…' for h in current))}")
    method = registry.methods.get(data["method"])
    if method is not None and data.get("method_version") != method.version:
        return f"baseline made by {data['method']} v{data.get('method_version')}, the method is now v{method.version}"
    artifacts = method.artifacts() if method is not None else data.get("method_artifacts", {})
    if data.get("method_artifacts", {}) != artifacts:
        return (f"baseline made by {data['method']} with other artifacts ({data.get('method_artifacts', {})}), "
                f"now {artifacts}")
    if not data.get("complete"):
        return "baseline record is incomplete"
    return ""


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else float("nan")


def _comparable(row: dict[str, Any], name: str, direction: str) -> float:
    """The value the gate compares: the valid value, or for a ``target`` metric its absolute
    relative error to the target's own value in the same row; NaN when invalid."""
    value = valid_value(row, name)
    return abs(relative_error(value, valid_value(row, name, "reference"))) if direction == "target" else value


def compare(baseline: RunRecord, current: RunRecord, tolerances: dict[str, Tolerance]) -> Verdict:
    """Compare means over the samples scored (status ok) in both records, metric by metric."""
    data = baseline.data
    verdict = Verdict(data["suite"], data["size"], data["method"], "ok")
    old, new = baseline.samples, current.samples
    broken = [sid for sid, row in old.items() if row["status"] == "ok" and new.get(sid, {}).get("status") != "ok"]
    if broken:
        verdict.status = "failed"
        error = new.get(broken[0], {}).get("error") or "missing"
        verdict.notes.append(f"{len(broken)} sample(s) scored in the baseline now fail, e.g. {broken[0]}: {error}")
    paired = [sid for sid, row in old.items() if row["status"] == "ok" and sid not in broken]
    for name, spec in data["metrics"].items():
        if name not in current.data["metrics"]:
            verdict.notes.append(f"{name}: no longer scored")
            continue
        tolerance = tolerances.get(name, tolerances["default"])
        direction = current.data["metrics"][name]["direction"]
        pairs = [(_comparable(old[sid], name, direction), _comparable(new[sid], name, direction)) for sid in paired]
        valid = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
        before = _mean([x for x, _ in valid])
        change = MetricChange(name, direction, spec.get("unit", ""), before, _mean([y for _, y in valid]),
                              tolerance.allowed(before), sum(math.isfinite(x) and not math.isfinite(y) for x, y in pairs))
        verdict.changes.append(change)
    added = sorted(set(current.data["metrics"]) - set(data["metrics"]))
    if added:
        verdict.notes.append(f"not in the baseline (not compared): {', '.join(added)}")
    if any(c.regressed for c in verdict.changes):
        verdict.status = "regression"
    times = [(old[sid]["runtime_s"], new[sid]["runtime_s"]) for sid in paired
             if old[sid]["runtime_s"] is not None and new[sid]["runtime_s"] is not None]
    if times:
        before_ms, now_ms = (1e3 * _mean([t[i] for t in times]) for i in (0, 1))
        verdict.notes.append(f"time: {before_ms:.1f} → {now_ms:.1f} ms/sample ({now_ms / before_ms:.2f}×; "
                             "reported, never a failure)")
    verdict.notes.append(f"{len(paired)} sample(s) compared")
    return verdict


def _baseline_methods(request: CheckRequest, suite: Suite) -> list[str]:
    if request.methods is not None:
        return request.methods
    folder = Path(request.baseline_dir) / suite.name
    return sorted({p.stem for p in folder.glob("*.json")} | {p.name for p in folder.iterdir() if p.is_dir()}
                  if folder.is_dir() else set())


def _suites(registry: Registry, request: CheckRequest) -> list[Suite]:
    if request.suites is not None:
        return [s for name in request.suites for s in registry.suite_group(name)]
    # without --suite: the suites with baselines that have this size (the real-data track has none
    # without its data folder)
    return [s for name, s in registry.suites.items()
            if (Path(request.baseline_dir) / name).is_dir() and request.size in s.sizes]


def check(registry: Registry, request: CheckRequest, warn: Callable[[str], None] = lambda s: None,
          executor: Executor | None = None) -> list[Verdict]:
    """Rerun every requested baseline (grouped per suite, so samples are generated once) with ``executor``
    (default: in this process) and judge it."""
    if request.methods is not None:
        for name in request.methods:
            registry.method(name)  # unknown method → did-you-mean error before any work
    verdicts: list[Verdict] = []
    for suite in _suites(registry, request):
        suite.n_samples(request.size)  # unknown size → error
        key = run_key(request.size, suite.default_seed, suite.default_seed)
        to_run: dict[str, list[RunRecord]] = {}
        for method in _baseline_methods(request, suite):
            path = result_path(request.baseline_dir, suite.name, method)
            baseline = load_record(path, key)
            if baseline is None:
                verdicts.append(Verdict(suite.name, request.size, method, "no baseline",
                                        [f"no [{key}] record in {path}; nothing to compare (pass)"]))
                continue
            if method not in registry.methods:
                verdicts.append(Verdict(suite.name, request.size, method, "stale",
                                        [f"method {method!r} is not installed; not compared"]))
                continue
            stale = _stale_reason(baseline, suite, registry, request.size)
            if stale:
                refresh = (f"simbench run --method {method} --suite {suite.name} --size {request.size} "
                           f"--results {request.baseline_dir}")
                verdicts.append(Verdict(suite.name, request.size, method, "stale",
                                        [f"{stale}; not compared. Refresh: {refresh}"]))
                continue
            config = repr(sorted(baseline.data["metric_config"].items()))
            to_run.setdefault(config, []).append(baseline)
        for baselines in to_run.values():
            outcome = runner.run(registry, runner.RunRequest(
                methods=[b.data["method"] for b in baselines], suite=suite.name, size=request.size,
                results_dir=request.results_dir, metric_config=MetricConfig(**baselines[0].data["metric_config"]),
                progress=request.progress, cache_dir=request.cache_dir), warn=warn, executor=executor)
            current = {r.data["method"]: r for r in outcome.records}
            verdicts += [compare(b, current[b.data["method"]], request.tolerances) for b in baselines]
    return sorted(verdicts, key=lambda v: (STATUSES.index(v.status), v.suite, v.method))


def report(verdicts: list[Verdict], request: CheckRequest) -> str:
    """The readable report: one block per (suite, size, method), worst first, and a summary line."""
    counts: dict[str, Any] = {s: sum(v.status == s for v in verdicts) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to check"
    lines = [f"simbench check: baseline {request.baseline_dir}, size {request.size}"]
    lines += [v.describe() for v in verdicts]
    lines.append(f"summary: {summary}")
    return "\n".join(lines) + "\n"


def passed(verdicts: list[Verdict]) -> bool:
    return not any(v.status in ("regression", "failed") for v in verdicts)

"""Run methods on a suite: generate each sample once, reconstruct, validate, score, record.

The work is a list of independent (method, sample) tasks.  Each finished
task is added to its record in the results store at once (atomically, never
overwriting a finished sample), so an interrupted run resumes without
recomputing anything that finished; a run with other settings writes a new
record.  Identical runs started together share the work through per-sample
claims.  A task that fails becomes a row with its error; the run goes on.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simbench.errors import InvalidOutputError, SimbenchError
from simbench.harness import claims, manifest, results, store
from simbench.harness.digest import content_hash, jsonable, sample_digest
from simbench.harness.provenance import provenance
from simbench.harness.results import RunRecord, now, run_key
from simbench.harness.timeout import SampleTimeout, call_with_timeout
from simbench.method import Method
from simbench.metrics.base import Measurement, Metric, MetricConfig, ScoreInput
from simbench.plugin.manager import Registry
from simbench.suites.base import Suite
from simbench.types import RawStack, Reconstruction, Sample


@dataclass
class RunRequest:
    """What ``simbench run`` was asked to do."""

    methods: list[str]
    suite: str
    size: str = "full"
    seed: int | None = None
    results_dir: Path = Path("simbench-results")
    metric_config: MetricConfig = field(default_factory=MetricConfig)
    retry_failed: bool = False
    progress: bool = True
    #: give methods the true pattern parameters (RawStack.oracle) instead of the nominal ones
    oracle_params: bool = False
    #: ``--suite-opt`` texts, NAME → VALUE
    suite_options: dict[str, str] = field(default_factory=dict)
    #: metrics scored beyond the suite's defaults (``--metric``; from ``Suite.extra_metrics``)
    extra_metrics: tuple[str, ...] = ()
    #: ``--timeout``: seconds a sample may take (its method runs in a child process, killed after); None: no limit
    timeout_s: float | None = None


@dataclass
class Counts:
    """What happened to one method's samples in one invocation."""

    #: computed now and scored
    computed: int = 0
    #: computed now and failed (or timed out)
    failed: int = 0
    #: recorded as skipped now (the method cannot take this suite's samples)
    skipped: int = 0
    #: finished before this invocation (resumed), any status
    done: int = 0
    #: failed before and not computed again (no ``--retry-failed``)
    kept_failed: int = 0
    #: finished meanwhile by another run writing the same record
    by_other: int = 0

    def describe(self) -> str:
        """``4 computed, 2 failed, 0 already done`` (and skipped / by another run when there are any)."""
        parts = [f"{self.computed} computed", f"{self.failed} failed"]
        parts += [f"{self.skipped} skipped"] if self.skipped else []
        parts.append(f"{self.done} already done")
        parts += [f"{self.by_other} by another run"] if self.by_other else []
        return ", ".join(parts)


@dataclass
class RunOutcome:
    records: list[RunRecord]
    #: method → number of failed samples in its record
    failed: dict[str, int]
    #: method → the tally of this invocation
    counts: dict[str, Counts] = field(default_factory=dict)

    @property
    def computed(self) -> dict[str, int]:
        """method → number of samples computed and scored in this invocation (not resumed, not failed)."""
        return {name: counts.computed for name, counts in self.counts.items()}


#: seconds between looks at a sample that another run is computing
POLL_S = 0.5


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


class _MethodRun:
    """One method's state during a run: its instance (or the error that prevented it) and its record."""

    def __init__(self, cls: type[Method], record: RunRecord, retry_failed: bool, suite: Suite) -> None:
        self.cls = cls
        self.record = record
        self.retry_failed = retry_failed
        self.instance: Method | None = None
        self.init_error = ""
        self.skip_reason = ""
        self.counts = Counts()
        for row in record.samples.values():
            self.counts.done += not self.needs(row["id"])
            self.counts.kept_failed += row["status"] == "failed" and not retry_failed
        if suite.requires_any_pattern_order and not cls.accepts_any_pattern_order:
            self.skip_reason = (f"method {cls.name!r} does not declare accepts_any_pattern_order; suite "
                                f"{suite.name!r} presents the patterns in varying order")
            return
        try:
            self.instance = cls()
        except Exception as exc:  # noqa: BLE001 - plugin code
            self.init_error = f"could not create method {cls.name!r}: {_error_text(exc)}"
            return
        # a method that runs elsewhere (e.g. CUDA) says so with a `device` attribute
        record.data["device"] = str(getattr(self.instance, "device", "cpu"))

    def needs(self, sample_id: str) -> bool:
        row = self.record.samples.get(sample_id)
        return row is None or (self.retry_failed and row["status"] == "failed")

    def adopt(self, sample_id: str) -> bool:
        """Take the sample's row from the store when another run stored it meanwhile; True if so."""
        row = store.read_sample(self.record.path, sample_id)
        retrying = self.retry_failed and row is not None and row["status"] == "failed"
        if row is None or row == self.record.samples.get(sample_id) or retrying:
            return False
        self.record.samples[sample_id] = row
        self.record.stored.add(sample_id)
        self.counts.by_other += 1
        return True

    def keep(self, sample_id: str, index: int, row: dict[str, Any]) -> None:
        """Add the row to the record; a row another run stored first wins (ours is dropped)."""
        self.record.samples[sample_id] = row
        if self.record.save_sample(sample_id, index):
            tally = {"ok": "computed", "failed": "failed", "skipped": "skipped"}[row["status"]]
            setattr(self.counts, tally, getattr(self.counts, tally) + 1)
        else:
            self.adopt(sample_id)


def check_modality(cls: type[Method], suite: Suite) -> None:
    """Refuse, before any sample is made, a method that cannot take the suite's data."""
    if suite.modality not in cls.modalities:
        raise SimbenchError(f"method {cls.name!r} does not accept modality {suite.modality!r} of suite "
                            f"{suite.name!r} (it accepts {', '.join(cls.modalities)})")


def method_identity(cls: type[Method], registry: Registry) -> dict[str, Any]:
    """How a record names the method that made it: name, version, the digests of its artifacts
    (e.g. weights) and plugin distribution."""
    origin = registry.origin.get(("method", cls.name))
    return {"method": cls.name, "method_version": cls.version, "method_artifacts": cls.artifacts(),
            "method_distribution": f"{origin.distribution} {origin.version}" if origin else None}


def new_record(identity: dict[str, Any], suite: Suite, request: RunRequest, seed: int, metrics: list[Metric],
               registry: Registry, expected: manifest.SizeManifest | None) -> RunRecord:
    """An empty record for ``identity`` (see :func:`method_identity`) at its place under ``request.results_dir``."""
    key = run_key(request.size, seed, suite.default_seed, request.oracle_params, suite.changed_options(),
                  request.metric_config.to_dict())
    return results.new_record(request.results_dir, key, {
        **identity,
        "suite": suite.name,
        "suite_version": suite.version,
        "suite_modality": suite.modality,
        "size": request.size,
        "seed": seed,
        "n_samples": suite.n_samples(request.size),
        "suite_hash": expected.content_hash if expected else None,
        "device": None,
        "complete": False,
        "metrics": {m.name: {"direction": m.direction, "unit": m.unit, "description": m.description}
                    for m in metrics},
        "metric_config": request.metric_config.to_dict(),
        "oracle_params": request.oracle_params,
        "suite_options": jsonable(suite.changed_options()),
        "provenance": provenance(registry.distributions()),
        "created": now(),
        "updated": now(),
        "samples": {},
    })


def _open_record(cls: type[Method], suite: Suite, request: RunRequest, seed: int, metrics: list[Metric],
                 registry: Registry, expected: manifest.SizeManifest | None,
                 warn: Callable[[str], None]) -> RunRecord:
    """The stored record of this configuration (to resume), or a new one beside records of other settings."""
    record = results.open_record(new_record(method_identity(cls, registry), suite, request, seed, metrics,
                                            registry, expected))
    others = results.others(record) if not record.stored else []
    if any(r.legacy for r in others):
        warn(f"{cls.name} on {suite.name} [{record.key}]: results in the earlier single-file format are kept and not "
             f"resumed from (`simbench results migrate` lets runs resume from them); this run writes {record.path}")
    elif others:
        warn(f"{cls.name} on {suite.name} [{record.key}]: results made with other settings (method or suite "
             f"version, weights, metrics) are kept; this run writes a new record, {record.path}")
    return record


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


@dataclass
class _Work:
    """The samples of one run, made on demand, and the tasks done on them."""

    suite: Suite
    request: RunRequest
    seed: int
    expected: manifest.SizeManifest | None
    metrics: list[Metric]
    bar: Any

    def sample(self, index: int) -> tuple[Sample, str, dict[str, Any]]:
        """(sample with its measurements, digest checked against the manifest, the target's
        reference fields: :func:`reference_scores`)."""
        sample = self.suite.make_sample(index, self.request.size, self.seed)
        digest = sample_digest(sample)
        manifest.check_digest(self.suite, self.expected, sample.id, digest)
        measured = self.expected.measurements.get(sample.id) if self.expected is not None else None
        if measured is None:
            self.bar.set_postfix_str("measuring the sample", refresh=True)
            measured = self.suite.measure(index, self.request.size, self.seed)
        sample = dataclasses.replace(sample, meta={**sample.meta, **measured})
        return sample, digest, reference_scores(sample, self.metrics, self.request.metric_config)

    def do(self, index: int, runs: list[_MethodRun]) -> list[_MethodRun]:
        """Compute ``index`` for the runs that still need it and can claim it; returns the runs whose
        claim another live run holds (to wait for)."""
        sid = self.suite.sample_id(index)
        mine, elsewhere = [], []
        for r in (r for r in runs if r.needs(sid)):
            if not claims.claim(r.record.path, sid):
                elsewhere.append(r)
            elif r.adopt(sid):  # finished by another run before we claimed it
                claims.release(r.record.path, sid)
                self.bar.update()
            else:
                mine.append(r)
        if not mine:
            return elsewhere
        try:
            sample, digest, reference = self.sample(index)
            for r in mine:
                self.bar.set_postfix_str(r.cls.name, refresh=False)
                r.keep(sid, index, {**_run_task(r, sample, digest, self.metrics, self.request), **reference})
                self.bar.update()
        finally:
            for r in mine:
                claims.release(r.record.path, sid)
        return elsewhere


def run(registry: Registry, request: RunRequest, warn: Callable[[str], None] = lambda s: None) -> RunOutcome:
    """Execute ``request``; raises :class:`SimbenchError` on bad input before any work starts."""
    suite = registry.suite(request.suite).configured(request.suite_options)
    n = suite.n_samples(request.size)
    if not request.methods:
        raise SimbenchError("no method given")
    classes = [registry.method(name) for name in request.methods]
    for cls in classes:
        check_modality(cls, suite)
    metrics = [registry.metric(name) for name in suite.metric_names(request.extra_metrics)]
    seed = suite.default_seed if request.seed is None else request.seed
    expected = manifest.expected(suite, request.size, seed)
    runs = [_MethodRun(cls, _open_record(cls, suite, request, seed, metrics, registry, expected, warn),
                       request.retry_failed, suite) for cls in classes]
    for r in runs:
        if r.init_error or r.skip_reason:
            warn(r.init_error or f"skipped: {r.skip_reason}")

    from tqdm import tqdm

    todo = sum(r.needs(suite.sample_id(i)) for r in runs for i in range(n))
    with tqdm(total=todo, desc=f"{suite.name}/{request.size}", unit="task", disable=not request.progress or None,
              dynamic_ncols=True) as bar:
        work = _Work(suite, request, seed, expected, metrics, bar)
        waiting = {index: elsewhere for index in range(n) if (elsewhere := work.do(index, runs))}
        while waiting:  # samples another live run is computing: take its rows, or take over a stale claim
            time.sleep(POLL_S)
            waiting = {index: elsewhere for index, waiting_runs in waiting.items()
                       if (elsewhere := work.do(index, waiting_runs))}
    for r in runs:
        finish(r.record, suite, n, expected)
    return RunOutcome(records=[r.record for r in runs],
                      failed={r.cls.name: sum(row["status"] == "failed" for row in r.record.samples.values())
                              for r in runs},
                      counts={r.cls.name: r.counts for r in runs})


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


def oracle_raw(raw: RawStack, truth: dict[str, Any]) -> RawStack:
    """``raw`` with its nominal pattern replaced by the true one, flagged ``oracle``."""
    if "pattern" not in truth:
        raise SimbenchError("--oracle-params: this suite records no true pattern parameters")
    return dataclasses.replace(raw, pattern=type(raw.pattern).from_dict(truth["pattern"]), oracle=True)


def new_row(sample: Sample, digest: str) -> dict[str, Any]:
    """A sample's result row before anything ran."""
    return {"id": sample.id, "status": "ok", "error": None, "scores": {}, "runtime_s": None,
            "digest": digest, "info": {}, "meta": sample.meta}


def _run_task(r: _MethodRun, sample: Sample, digest: str, metrics: list[Metric],
              request: RunRequest) -> dict[str, Any]:
    row = new_row(sample, digest)
    if r.skip_reason:
        row.update(status="skipped", error=r.skip_reason)
        return row
    if r.instance is None:
        row.update(status="failed", error=r.init_error)
        return row
    instance = r.instance
    deadline = None if request.timeout_s is None else time.monotonic() + request.timeout_s

    def reconstruct(repeat: bool) -> Any:
        raw = sample.raw_repeat if repeat else sample.raw
        raw = oracle_raw(raw, sample.truth) if request.oracle_params else raw
        if deadline is None:
            return instance.reconstruct(raw)
        return call_with_timeout(lambda: instance.reconstruct(raw), deadline - time.monotonic())

    row = evaluate(row, sample, metrics, request.metric_config, reconstruct)
    if row["status"] == "failed" and row["error"].startswith(f"{SampleTimeout.__name__}: "):
        row["error"] = f"timeout after {request.timeout_s:g} s: " + row["error"].split(": ", 1)[1]
    return row


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


def finish(record: RunRecord, suite: Suite, n: int, expected: manifest.SizeManifest | None) -> None:
    """Order the rows as the suite does, mark the record complete and seal it with its content hash."""
    ids = [suite.sample_id(i) for i in range(n)]
    rows = record.samples
    record.data["samples"] = {sid: rows[sid] for sid in ids if sid in rows}
    record.data["complete"] = all(sid in rows for sid in ids)
    if record.data["complete"]:
        computed = content_hash(rows[sid]["digest"] for sid in ids)
        if expected is not None and computed != expected.content_hash:
            raise manifest.DigestMismatchError(
                f"suite {suite.name!r} v{suite.version}: content hash {computed[:12]}… differs from the manifest's "
                f"{expected.content_hash[:12]}…")
        record.data["suite_hash"] = computed
    record.save()

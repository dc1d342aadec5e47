"""The unit of work of a run: one sample and the methods that still need it, computed by a worker.

A task is a pure function of its inputs: the :class:`Job` (suite name and
options, size, seed, metric names and configuration, run settings) and the
:class:`Task` (sample index, method names).  It returns the methods' result
rows; it writes nothing but the sample cache.  The coordinator
(:mod:`simbench.harness.runner`) alone claims samples and keeps rows in the
results store, so the same rows come back whichever process computed them.

A worker process keeps one :class:`Worker` per job (registry, suite, metrics,
method instances), so plugins load and weights are read once per process.
"""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simbench.harness import manifest
from simbench.harness.allocator import keep_large_blocks
from simbench.harness.cache import SampleCache
from simbench.harness.digest import sample_digest
from simbench.harness.evaluation import evaluate, new_row, oracle_raw, reference_key, reference_scores
from simbench.harness.timeout import SampleTimeout, call_with_timeout
from simbench.method import Method
from simbench.metrics.base import MetricConfig
from simbench.plugin.manager import PluginManager, Registry
from simbench.suites.base import Suite
from simbench.types import Sample


@dataclass(frozen=True)
class Job:
    """What every task of one (suite, settings) run shares."""

    suite: str
    #: ``--suite-opt`` texts, NAME → VALUE
    suite_options: tuple[tuple[str, str], ...]
    size: str
    seed: int
    metrics: tuple[str, ...]
    metric_config: tuple[tuple[str, Any], ...]
    oracle_params: bool = False
    #: seconds a sample's method may take, None: no limit
    timeout_s: float | None = None
    #: sample cache root, None: no cache
    cache_dir: str | None = None
    #: how a worker process loads plugins (``--strict-plugins``, ``--no-plugin-autoload``)
    strict_plugins: bool | None = None
    autoload: bool | None = None

    @property
    def key(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)


@dataclass(frozen=True)
class Task:
    """Sample ``index`` for ``methods``; ``attempt`` counts earlier tries lost with their worker."""

    index: int
    methods: tuple[str, ...]
    attempt: int = 0


@dataclass
class TaskResult:
    """The rows of one task, by method, and what the worker learned on the way."""

    index: int
    rows: dict[str, dict[str, Any]]
    #: method → where it ran (e.g. ``cpu``, ``cuda:0``)
    devices: dict[str, str] = field(default_factory=dict)
    #: True when the sample was generated for this task (not read from the cache)
    generated: bool = False


@dataclass(frozen=True)
class Made:
    """A task's sample, ready: with its measurements in ``meta``, its digest (checked against the
    manifest), whether it was generated now rather than read from the cache, and the target's
    reference scores (:func:`simbench.harness.evaluation.reference_scores`)."""

    sample: Sample
    digest: str
    generated: bool
    reference: dict[str, Any]


def skip_reason(cls: type[Method], suite: Suite) -> str:
    """Why ``cls`` cannot take ``suite``'s samples at all ("" when it can)."""
    if suite.requires_any_pattern_order and not cls.accepts_any_pattern_order:
        return (f"method {cls.name!r} does not declare accepts_any_pattern_order; suite "
                f"{suite.name!r} presents the patterns in varying order")
    return ""


#: how the rows of a method whose instance could not be made begin
INIT_ERROR = "could not create method"


class Worker:
    """Computes the tasks of one job in this process."""

    def __init__(self, job: Job, registry: Registry) -> None:
        self.job = job
        self.registry = registry
        self.suite = registry.suite(job.suite).configured(dict(job.suite_options))
        self.metrics = [registry.metric(name) for name in job.metrics]
        self.config = MetricConfig(**dict(job.metric_config))
        self.expected = manifest.expected(self.suite, job.size, job.seed)
        origin = registry.origin.get(("suite", self.suite.name))
        self.cache = (SampleCache(Path(job.cache_dir), self.suite, job.size, job.seed,
                                  f"{origin.distribution} {origin.version}" if origin else None)
                      if job.cache_dir and self.suite.cacheable else None)
        self._instances: dict[str, Method | str] = {}
        #: the sample being made ahead of its task (index → future), see :meth:`prefetch`
        self._ahead: dict[int, Future[Made]] = {}
        self._reference_key = reference_key(self.metrics, self.config)
        self._threads: ThreadPoolExecutor | None = None

    def instance(self, name: str) -> Method | str:
        """The method's instance in this process, or the text of the error that prevented it."""
        if name not in self._instances:
            try:
                self._instances[name] = self.registry.method(name)()
            except Exception as exc:  # noqa: BLE001 - plugin code
                self._instances[name] = f"{INIT_ERROR} {name!r}: {type(exc).__name__}: {exc}"
        return self._instances[name]

    def prefetch(self, index: int) -> None:
        """Start making sample ``index`` in a background thread, for :meth:`sample` to take when its task
        comes (the in-process executor makes the next sample while the current one is reconstructed
        and scored: NumPy and SciPy release the interpreter lock in their loops).  Only the two latest
        such samples are kept (the one whose task is about to start, and the next).  Not with a
        ``--timeout``: its method runs in a forked child, which must not copy a thread in mid-sample."""
        if self.job.timeout_s is not None or index in self._ahead \
                or not 0 <= index < self.suite.n_samples(self.job.size):
            return
        while len(self._ahead) >= 2:
            self._ahead.pop(next(iter(self._ahead))).cancel()
        if self._threads is None:
            self._threads = ThreadPoolExecutor(1, thread_name_prefix="simbench-sample")
        self._ahead[index] = self._threads.submit(self._make, index)

    def close(self, cancel: bool = False) -> None:
        """Stop making samples ahead (``cancel``: without waiting for one in progress)."""
        self._ahead.clear()
        if self._threads is not None:
            self._threads.shutdown(wait=not cancel, cancel_futures=True)
            self._threads = None

    def sample(self, index: int) -> Made:
        """Sample ``index``, made ahead (:meth:`prefetch`), read from the cache or generated now."""
        ahead = self._ahead.pop(index, None)
        return self._make(index) if ahead is None else ahead.result()

    def _make(self, index: int) -> Made:
        """Sample ``index`` with its measurements and the target's reference scores: read from the
        cache when it holds them (the reference for this run's metrics and configuration), else
        generated, measured and scored here and stored in the cache."""
        sid = self.suite.sample_id(index)
        cached = self.cache.load(sid) if self.cache else None
        generated = cached is None
        if cached is None:
            sample = self.suite.make_sample(index, self.job.size, self.job.seed)
            digest, measured, stored = sample_digest(sample), None, {}
        else:
            sample, digest, measured, stored = cached.sample, cached.digest, cached.measured, cached.reference or {}
        manifest.check_digest(self.suite, self.expected, sample.id, digest)
        from_manifest = self.expected.measurements.get(sample.id) if self.expected is not None else None
        measure_now = from_manifest is None and measured is None
        if measure_now:
            measured = self.suite.measure(index, self.job.size, self.job.seed)
        ready = dataclasses.replace(sample, meta={**sample.meta, **(from_manifest or measured or {})})
        reference = stored.get(self._reference_key)
        if reference is None:
            reference = reference_scores(ready, self.metrics, self.config)
        if self.cache and (generated or measure_now):
            self.cache.store(sample, digest, measured, {**stored, self._reference_key: reference})
        return Made(ready, digest, generated, reference)

    def compute(self, task: Task) -> TaskResult:
        """The rows of ``task``'s methods on its sample (a failure is a row, never raised; a sample that
        cannot be made or fails its manifest digest raises)."""
        made = self.sample(task.index)
        sample, digest, reference = made.sample, made.digest, made.reference
        result = TaskResult(task.index, {}, generated=made.generated)
        for name in task.methods:
            result.rows[name] = {**self._row(name, sample, digest), **reference}
            instance = self._instances.get(name)
            if isinstance(instance, Method):
                result.devices[name] = str(getattr(instance, "device", "cpu"))
        return result

    def _row(self, name: str, sample: Sample, digest: str) -> dict[str, Any]:
        row = new_row(sample, digest)
        reason = skip_reason(self.registry.method(name), self.suite)
        if reason:
            row.update(status="skipped", error=reason)
            return row
        instance = self.instance(name)
        if isinstance(instance, str):
            row.update(status="failed", error=instance)
            return row
        row = evaluate(row, sample, self.metrics, self.config, self._producer(instance, sample))
        if row["status"] == "failed" and row["error"].startswith(f"{SampleTimeout.__name__}: "):
            row["error"] = f"timeout after {self.job.timeout_s:g} s: " + row["error"].split(": ", 1)[1]
        return row

    def _producer(self, instance: Method, sample: Sample) -> Callable[[bool], Any]:
        timeout = self.job.timeout_s
        deadline = None if timeout is None else time.monotonic() + timeout

        def reconstruct(repeat: bool) -> Any:
            raw = sample.raw_repeat if repeat else sample.raw
            raw = oracle_raw(raw, sample.truth) if self.job.oracle_params else raw
            if deadline is None:
                return instance.reconstruct(raw)
            return call_with_timeout(lambda: instance.reconstruct(raw), deadline - time.monotonic())

        return reconstruct


#: this process's workers by job key (a worker process serves one run at a time; a Dask worker may serve several)
_WORKERS: dict[str, Worker] = {}
_REGISTRIES: dict[tuple[bool | None, bool | None], Registry] = {}


def compute_remote(job: Job, task: Task) -> TaskResult:
    """Compute ``task`` in a worker process: plugins load from their entry points, once per process."""
    if job.key not in _WORKERS:
        flags = (job.strict_plugins, job.autoload)
        if not _REGISTRIES:  # this process's first task
            keep_large_blocks()
        if flags not in _REGISTRIES:
            _REGISTRIES[flags] = PluginManager(strict=job.strict_plugins, autoload=job.autoload).load()
        while len(_WORKERS) >= 2:  # a run at a time, and the one before it
            _WORKERS.pop(next(iter(_WORKERS)))
        _WORKERS[job.key] = Worker(job, _REGISTRIES[flags])
    return _WORKERS[job.key].compute(task)

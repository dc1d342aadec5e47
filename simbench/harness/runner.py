"""Run methods on a suite: generate each sample once, reconstruct, validate, score, record.

The work is a list of independent tasks (:mod:`simbench.harness.tasks`): one
sample and the methods that still need it, computed by an executor
(:mod:`simbench.harness.executors`: this process, a process pool or a Dask
cluster).  This coordinator alone claims samples and writes results: each
finished row is added to its record in the results store at once
(atomically, never overwriting a finished sample), so an interrupted run
resumes without recomputing anything that finished, and the rows are the
same whichever executor computed them; a run with other settings writes a
new record.  Identical runs started together share the work through
per-sample claims.  A task that fails becomes a row with its error; the run
goes on.
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness import claims, manifest, results, store, tasks
from simbench.harness.digest import content_hash, jsonable
from simbench.harness.evaluation import new_row
from simbench.harness.executors import Executor, InProcess, WorkerDied
from simbench.harness.progress import progress_bar
from simbench.harness.provenance import provenance
from simbench.harness.results import RunRecord, now, run_key
from simbench.method import Method
from simbench.metrics.base import Metric, MetricConfig
from simbench.plugin.manager import Registry
from simbench.suites.base import Suite


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
    #: the sample cache root (``--cache``; :mod:`simbench.harness.cache`); None: no cache
    cache_dir: Path | None = None


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
    #: samples generated in this invocation, and samples read from the sample cache instead
    generated: int = 0
    from_cache: int = 0

    @property
    def computed(self) -> dict[str, int]:
        """method → number of samples computed and scored in this invocation (not resumed, not failed)."""
        return {name: counts.computed for name, counts in self.counts.items()}


#: seconds between looks at a sample that another run is computing
POLL_S = 0.5


class _MethodRun:
    """One method's state during a run: its record, what this invocation did to it, and whether it
    can take the suite at all."""

    def __init__(self, cls: type[Method], record: RunRecord, retry_failed: bool, suite: Suite) -> None:
        self.cls = cls
        self.record = record
        self.retry_failed = retry_failed
        self.skip_reason = tasks.skip_reason(cls, suite)
        self.warned_init = False
        self.counts = Counts()
        for row in record.samples.values():
            self.counts.done += not self.needs(row["id"])
            self.counts.kept_failed += row["status"] == "failed" and not retry_failed

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
        "metrics": {m.name: {"direction": m.direction, "unit": m.unit, "description": m.description,
                             "version": m.version} for m in metrics},
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


class _Coordinator:
    """Claims samples, hands them to the executor as tasks, and keeps the rows that come back."""

    def __init__(self, suite: Suite, runs: list[_MethodRun], executor: Executor, bar: Any,
                 warn: Callable[[str], None]) -> None:
        self.suite, self.runs, self.executor, self.bar, self.warn = suite, runs, executor, bar, warn
        self.in_flight: dict[Future[tasks.TaskResult], tuple[tasks.Task, list[_MethodRun]]] = {}
        self.generated = self.from_cache = 0
        #: tasks lost with their worker, each run again alone
        self.retries: deque[tuple[tasks.Task, list[_MethodRun]]] = deque()

    def claim(self, index: int, runs: list[_MethodRun]) -> tuple[list[_MethodRun], list[_MethodRun]]:
        """(runs that still need ``index`` and now hold its claim, runs whose claim another live run holds)."""
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
        return mine, elsewhere

    def submit(self, task: tasks.Task, mine: list[_MethodRun]) -> None:
        try:
            future = self.executor.submit(task)  # in this process: computed now (Ctrl-C lands here)
        except BaseException:
            self.release(task.index, mine)
            raise
        self.in_flight[future] = (task, mine)

    def collect(self, timeout: float | None) -> None:
        """Keep the rows of the tasks that finish within ``timeout`` seconds."""
        done, _ = wait(self.in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            task, mine = self.in_flight.pop(future)
            try:
                result = future.result()
            except WorkerDied as exc:
                if task.attempt == 0 and not exc.final:  # once more, each method alone and nothing beside it,
                    self.retries += [(tasks.Task(task.index, (r.cls.name,), attempt=1), [r]) for r in mine]
                    continue  # so that a second death names its cause and costs no other row
                result = self.lost(task, f"worker died: {exc}")
            except BaseException:
                self.release(task.index, mine)
                raise
            self.keep(result, mine)

    def lost(self, task: tasks.Task, error: str) -> tasks.TaskResult:
        """Failed rows for a task whose worker died on every try (the sample is read or made here)."""
        made = self.executor.local_worker().sample(task.index)
        rows = {name: {**new_row(made.sample, made.digest), "status": "failed", "error": error}
                for name in task.methods}
        return tasks.TaskResult(task.index, rows, generated=made.generated)

    def keep(self, result: tasks.TaskResult, mine: list[_MethodRun]) -> None:
        sid = self.suite.sample_id(result.index)
        self.generated += result.generated
        self.from_cache += not result.generated
        try:
            for r in mine:
                row = result.rows[r.cls.name]
                if result.devices.get(r.cls.name):
                    r.record.data["device"] = result.devices[r.cls.name]
                if row["status"] == "failed" and row["error"].startswith(tasks.INIT_ERROR) \
                        and not r.warned_init:
                    r.warned_init = True
                    self.warn(row["error"])
                r.keep(sid, result.index, row)
                self.bar.update()
        finally:
            self.release(result.index, mine)

    def release(self, index: int, runs: list[_MethodRun]) -> None:
        for r in runs:
            claims.release(r.record.path, self.suite.sample_id(index))

    def expect_next(self, queue: deque[tuple[int, list[_MethodRun]]]) -> None:
        """Tell the executor which sample the next task will most likely need: the first queued one that
        a run still needs."""
        for index, candidates in queue:
            if any(r.needs(self.suite.sample_id(index)) for r in candidates):
                self.executor.expect(index)
                return

    def drive(self, n: int) -> None:
        """Compute every sample ``0 … n-1`` that a run still needs, ``executor.slots`` tasks at a time;
        samples another live run holds are looked at again every :data:`POLL_S` seconds (their rows
        are taken, or a stale claim taken over)."""
        queue: deque[tuple[int, list[_MethodRun]]] = deque((index, self.runs) for index in range(n))
        waiting: dict[int, list[_MethodRun]] = {}
        try:
            while queue or self.in_flight or waiting or self.retries:
                if not queue and waiting:
                    if not self.in_flight:
                        time.sleep(POLL_S)
                    queue.extend(waiting.items())
                    waiting = {}
                retrying = bool(self.retries) or any(task.attempt for task, _ in self.in_flight.values())
                if self.retries and not self.in_flight:
                    self.submit(*self.retries.popleft())
                while queue and len(self.in_flight) < self.executor.slots and not retrying:
                    index, candidates = queue.popleft()
                    mine, elsewhere = self.claim(index, candidates)
                    if elsewhere:
                        waiting[index] = elsewhere
                    if mine:
                        self.expect_next(queue)
                        self.submit(tasks.Task(index, tuple(r.cls.name for r in mine)), mine)
                if self.in_flight:
                    self.collect(POLL_S if waiting else None)
        except BaseException:
            self.executor.close(cancel=True)
            for task, mine in [*self.in_flight.values(), *self.retries]:
                self.release(task.index, mine)
            raise


def run(registry: Registry, request: RunRequest, warn: Callable[[str], None] = lambda s: None,
        executor: Executor | None = None) -> RunOutcome:
    """Execute ``request`` with ``executor`` (default: in this process); raises :class:`SimbenchError`
    on bad input before any work starts.  The caller closes an executor it passes."""
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
        if r.skip_reason:
            warn(f"skipped: {r.skip_reason}")
    own = executor is None
    executor = executor or InProcess()
    executor.start(tasks.Job(
        suite=suite.name, suite_options=tuple(sorted(request.suite_options.items())), size=request.size,
        seed=seed, metrics=tuple(m.name for m in metrics),
        metric_config=tuple(sorted(request.metric_config.to_dict().items())), oracle_params=request.oracle_params,
        timeout_s=request.timeout_s, cache_dir=str(request.cache_dir) if request.cache_dir else None,
        strict_plugins=registry.strict, autoload=registry.autoload), registry)
    todo = sum(r.needs(suite.sample_id(i)) for r in runs for i in range(n))
    try:
        with progress_bar(todo, f"{suite.name}/{request.size}", request.progress) as bar:
            coordinator = _Coordinator(suite, runs, executor, bar, warn)
            coordinator.drive(n)
    finally:
        if own:
            executor.close()
    for r in runs:
        finish(r.record, suite, n, expected)
    return RunOutcome(records=[r.record for r in runs],
                      failed={r.cls.name: sum(row["status"] == "failed" for row in r.record.samples.values())
                              for r in runs},
                      counts={r.cls.name: r.counts for r in runs}, generated=coordinator.generated,
                      from_cache=coordinator.from_cache)


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

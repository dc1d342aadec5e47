"""Throughput of the executors and of the sample cache, as ratios measured in one run.

Run: ``python -m pytest tests/benchmarks/test_bench_parallel.py --benchmark-only -s``.

The tasks are the first ``N_TASKS`` samples of ``static`` full, each generated (no cache),
reconstructed by ``wiener`` and scored by the suite's default metrics: what ``simbench run
--method wiener --suite static`` does per sample.  The same tasks run in this process one at a
time, in this process with the next sample made in a background thread meanwhile (what a run
does by default), in a pool of 2 worker processes (``--workers 2``) and in a Dask ``LocalCluster``
of 2 single-threaded worker processes (``--dask --workers 2``); pools and clusters are started and
warmed up (one task) before the clock starts.  Goals on a 2-core machine (set when the in-process
run did one thing at a time): the pool ≥ 1.7× the one-at-a-time throughput; Dask within 15 % of
the pool.  The pool's gain over the default is reported too: making samples ahead already keeps
part of the second core busy.

Scaling: the same work through ``--workers N`` for N = 1, 2, 4, 8, 16, as far as the machine's
cores go (1 and 2 here; the 16-core device machine gives the whole row).

The cache: ``widefield`` on the same samples with an empty cache (generate, store, reconstruct,
score) and then with it warm (read and verify, reconstruct, score), both one task at a time and
with the next sample made (or read) meanwhile.  Goal: warm ≥ 3× faster (one at a time); the
benchmark also runs the tasks with the samples already in memory (reconstruct and score alone: no
cache can do better) and reports the ceiling that sets.  With samples made ahead, a cold run
already hides most of the generation, so a warm cache gains less.
A whole ``simbench run --method widefield --suite static`` is this per-sample work 200 times.
Speed never fails a test: below goal the benchmark warns.
"""
from __future__ import annotations

import time
import warnings
from concurrent.futures import wait
from pathlib import Path

import pytest

from simbench.harness import executors
from simbench.harness.allocator import keep_large_blocks
from simbench.harness.tasks import Job, Task, Worker
from simbench.metrics.base import MetricConfig
from simbench.physics.threads import cpu_count
from simbench.plugin.manager import PluginManager

#: worker counts of the scaling report (those up to the machine's cores) and its tasks per worker
SCALING_WORKERS, TASKS_PER_WORKER = (1, 2, 4, 8, 16), 12
N_TASKS = 36  # enough for a few seconds per executor: 12 tasks (about 1 s) gave ratios 20 % apart between runs
POOL_GOAL, DASK_TOLERANCE, CACHE_GOAL = 1.7, 0.15, 3.0


@pytest.fixture(scope="module")
def registry():
    keep_large_blocks()  # as the command line does in the coordinator (and every worker on its first task)
    return PluginManager().load()


def job(registry, cache_dir: Path | None = None) -> Job:
    suite = registry.suite("static")
    return Job(suite="static", suite_options=(), size="full", seed=suite.default_seed,
               metrics=tuple(suite.metric_names(())), metric_config=tuple(sorted(MetricConfig().to_dict().items())),
               cache_dir=str(cache_dir) if cache_dir else None)


def seconds_for(executor: executors.Executor, registry, method: str, indices: range, ahead: bool = True) -> float:
    """Wall time (s) of ``method`` on ``indices`` through ``executor``, ``slots`` tasks in flight,
    after one warm-up task per slot (imports, plugin loading) outside the clock; ``ahead``: tell the
    executor the next sample, as a run's coordinator does (the in-process one then makes it meanwhile)."""
    executor.start(job(registry), registry)
    warm_up = [executor.submit(Task(indices.stop + i, (method,))) for i in range(executor.slots)]
    wait(warm_up)
    pending = list(indices)
    in_flight = set()
    start = time.perf_counter()
    while pending or in_flight:
        while pending and len(in_flight) < executor.slots:
            index = pending.pop(0)
            if pending and ahead:
                executor.expect(pending[0])
            in_flight.add(executor.submit(Task(index, (method,))))
        done, in_flight = wait(in_flight, return_when="FIRST_COMPLETED")
        for future in done:
            assert all(row["status"] == "ok" for row in future.result().rows.values())
    return time.perf_counter() - start


def test_workers_and_dask_throughput(benchmark, registry):
    distributed = pytest.importorskip("distributed")  # noqa: F841 - the Dask executor needs it
    tasks = range(N_TASKS)
    seconds = {}

    def measure() -> None:
        with executors.InProcess() as serial:
            seconds["one at a time"] = seconds_for(serial, registry, "wiener", tasks, ahead=False)
        with executors.InProcess() as serial:
            seconds["serial"] = seconds_for(serial, registry, "wiener", tasks)
        with executors.ProcessPool(2) as pool:
            seconds["pool"] = seconds_for(pool, registry, "wiener", tasks)
        with executors.DaskCluster(workers=2) as dask:
            seconds["dask"] = seconds_for(dask, registry, "wiener", tasks)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    pool_speedup = seconds["one at a time"] / seconds["pool"]
    dask_vs_pool = seconds["dask"] / seconds["pool"]
    benchmark.extra_info.update({f"{k.replace(' ', '_')}_s": v for k, v in seconds.items()}, tasks=N_TASKS,
                                pool_speedup=pool_speedup, dask_over_pool=dask_vs_pool,
                                pool_over_default=seconds["serial"] / seconds["pool"])
    print(f"\n{N_TASKS} wiener tasks on static full: one at a time {seconds['one at a time']:.1f} s, in process "
          f"with the next sample made meanwhile (the default) {seconds['serial']:.1f} s, 2 workers "
          f"{seconds['pool']:.1f} s ({pool_speedup:.2f}x one at a time, {seconds['serial'] / seconds['pool']:.2f}x "
          f"the default), Dask LocalCluster(2) {seconds['dask']:.1f} s ({dask_vs_pool:.2f}x the pool's time)")
    if pool_speedup < POOL_GOAL:
        warnings.warn(f"--workers 2 gives {pool_speedup:.2f}x the serial throughput (goal >= {POOL_GOAL}x)")
    if dask_vs_pool > 1 + DASK_TOLERANCE:
        warnings.warn(f"Dask takes {dask_vs_pool:.2f}x the pool's time (goal <= {1 + DASK_TOLERANCE:.2f}x)")


def test_scaling_with_workers(benchmark, registry):
    """Throughput of ``--workers N`` for N in :data:`SCALING_WORKERS` up to this machine's cores, each a
    fresh pool (each worker with its share of the cores' threads) warmed up first, on
    ``TASKS_PER_WORKER`` tasks per worker of the largest pool (the same tasks for every N): the
    scaling report for a machine with more cores than this one."""
    counts = [n for n in SCALING_WORKERS if n <= cpu_count()]
    tasks = range(TASKS_PER_WORKER * counts[-1])
    seconds: dict[int, float] = {}

    def measure() -> None:
        for n in counts:
            with executors.ProcessPool(n) as pool:
                seconds[n] = seconds_for(pool, registry, "wiener", tasks)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    speedup = {n: seconds[counts[0]] / seconds[n] for n in counts}
    benchmark.extra_info.update(tasks=len(tasks), cores=cpu_count(),
                                **{f"workers_{n}_tasks_per_s": len(tasks) / seconds[n] for n in counts})
    print(f"\n{len(tasks)} wiener tasks on static full, {cpu_count()} cores: " + ", ".join(
        f"{n} worker{'s' * (n > 1)} {len(tasks) / seconds[n]:.1f} tasks/s ({speedup[n]:.2f}x, "
        f"{speedup[n] / n:.0%} of linear)" for n in counts))


def test_warm_cache_speedup(benchmark, registry, tmp_path):
    """Cold (generate, store, reconstruct, score) against warm (read and verify, reconstruct, score).
    A cache can only remove generation: the same tasks with the samples already in memory (reconstruct
    and score alone) give the ceiling cold / in-memory that no cache can beat."""
    tasks = range(N_TASKS)
    seconds = {}

    def run(state: str, ahead: bool, cache: Path | None = None) -> float:
        worker = Worker(job(registry, cache), registry)
        if state == "in memory":
            worker.sample = held.__getitem__
        start = time.perf_counter()
        generated = []
        for i in tasks:
            if ahead and i + 1 < tasks.stop:
                worker.prefetch(i + 1)  # as an in-process run does: the next sample made (or read) meanwhile
            generated.append(worker.compute(Task(i, ("widefield",))).generated)
        seconds = time.perf_counter() - start
        worker.close()
        assert all(generated) if state == "cold" else not any(generated)
        if state == "warm" and not held:
            held.update((i, worker.sample(i)) for i in tasks)
        return seconds

    held: dict = {}

    def measure() -> None:
        for ahead, mode in ((False, "one at a time"), (True, "ahead")):
            for state in ("cold", "warm", "in memory"):
                cache = tmp_path / mode if state != "in memory" else None
                seconds[(state, mode)] = run(state, ahead and state != "in memory", cache)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    lines = []
    for mode in ("one at a time", "ahead"):
        cold, warm, memory = (seconds[(state, mode)] for state in ("cold", "warm", "in memory"))
        benchmark.extra_info.update({f"{mode.replace(' ', '_')}_{key}": value for key, value in
                                     (("cold_s", cold), ("warm_s", warm), ("speedup", cold / warm),
                                      ("ceiling", cold / memory))})
        lines.append(f"cold cache {cold:.2f} s, warm {warm:.2f} s ({cold / warm:.1f}x; samples in memory "
                     f"{memory:.2f} s: no cache can beat {cold / memory:.1f}x)")
    speedup = seconds[("cold", "one at a time")] / seconds[("warm", "one at a time")]
    ceiling = seconds[("cold", "one at a time")] / seconds[("in memory", "one at a time")]
    print(f"\nwidefield on {N_TASKS} static full samples, tasks one at a time: {lines[0]}; with the next sample "
          f"made meanwhile (a run's default): {lines[1]}")
    if speedup < CACHE_GOAL:
        warnings.warn(f"a warm cache makes widefield {speedup:.1f}x faster (goal >= {CACHE_GOAL}x; "
                      f"ceiling with the samples in memory {ceiling:.1f}x)")

"""Throughput of the executors and of the sample cache, as ratios measured in one run.

Run: ``python -m pytest tests/benchmarks/test_bench_parallel.py --benchmark-only -s``.

The tasks are the first ``N_TASKS`` samples of ``static`` full, each generated (no cache),
reconstructed by ``wiener`` and scored by the suite's default metrics: what ``simbench run
--method wiener --suite static`` does per sample.  The same tasks go through the in-process
executor, a pool of 2 worker processes (``--workers 2``) and a Dask ``LocalCluster`` of 2
single-threaded worker processes (``--dask --workers 2``); pools and clusters are started and
warmed up (one task) before the clock starts.  The in-process executor makes the next sample in a
background thread while the current one is reconstructed and scored, as in a run.  Goals on a 2-core machine: the pool ≥ 1.7× the
serial throughput; Dask within 15 % of the pool.

The cache: ``widefield`` on the same samples with an empty cache (generate, store, reconstruct,
score) and then with it warm (read and verify, reconstruct, score), the next sample made or read
in the background as in a run.  Goal: warm ≥ 3× faster; the
benchmark also runs the tasks with the samples already in memory (reconstruct and score alone: no
cache can do better) and reports the ceiling that sets.
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
from simbench.harness.tasks import Job, Task, Worker
from simbench.metrics.base import MetricConfig
from simbench.plugin.manager import PluginManager

N_TASKS = 12
POOL_GOAL, DASK_TOLERANCE, CACHE_GOAL = 1.7, 0.15, 3.0


@pytest.fixture(scope="module")
def registry():
    return PluginManager().load()


def job(registry, cache_dir: Path | None = None) -> Job:
    suite = registry.suite("static")
    return Job(suite="static", suite_options=(), size="full", seed=suite.default_seed,
               metrics=tuple(suite.metric_names(())), metric_config=tuple(sorted(MetricConfig().to_dict().items())),
               cache_dir=str(cache_dir) if cache_dir else None)


def seconds_for(executor: executors.Executor, registry, method: str, indices: range) -> float:
    """Wall time (s) of ``method`` on ``indices`` through ``executor``, ``slots`` tasks in flight,
    after one warm-up task per slot (imports, plugin loading) outside the clock."""
    executor.start(job(registry), registry)
    warm_up = [executor.submit(Task(indices.stop + i, (method,))) for i in range(executor.slots)]
    wait(warm_up)
    pending = list(indices)
    in_flight = set()
    start = time.perf_counter()
    while pending or in_flight:
        while pending and len(in_flight) < executor.slots:
            index = pending.pop(0)
            if pending:  # as a run's coordinator does: the in-process executor makes that sample meanwhile
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
            seconds["serial"] = seconds_for(serial, registry, "wiener", tasks)
        with executors.ProcessPool(2) as pool:
            seconds["pool"] = seconds_for(pool, registry, "wiener", tasks)
        with executors.DaskCluster(workers=2) as dask:
            seconds["dask"] = seconds_for(dask, registry, "wiener", tasks)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    pool_speedup = seconds["serial"] / seconds["pool"]
    dask_vs_pool = seconds["dask"] / seconds["pool"]
    benchmark.extra_info.update({f"{k}_s": v for k, v in seconds.items()}, tasks=N_TASKS,
                                pool_speedup=pool_speedup, dask_over_pool=dask_vs_pool)
    print(f"\n{N_TASKS} wiener tasks on static full: serial {seconds['serial']:.1f} s, 2 workers "
          f"{seconds['pool']:.1f} s ({pool_speedup:.2f}x), Dask LocalCluster(2) {seconds['dask']:.1f} s "
          f"({dask_vs_pool:.2f}x the pool's time)")
    if pool_speedup < POOL_GOAL:
        warnings.warn(f"--workers 2 gives {pool_speedup:.2f}x the serial throughput (goal >= {POOL_GOAL}x)")
    if dask_vs_pool > 1 + DASK_TOLERANCE:
        warnings.warn(f"Dask takes {dask_vs_pool:.2f}x the pool's time (goal <= {1 + DASK_TOLERANCE:.2f}x)")


def test_warm_cache_speedup(benchmark, registry, tmp_path):
    """Cold (generate, store, reconstruct, score) against warm (read and verify, reconstruct, score).
    A cache can only remove generation: the same tasks with the samples already in memory (reconstruct
    and score alone) give the ceiling cold / in-memory that no cache can beat."""
    tasks = range(N_TASKS)
    seconds = {}

    def measure() -> None:
        held = {}
        for state in ("cold", "warm", "in memory"):
            worker = Worker(job(registry, tmp_path), registry)
            if state == "in memory":
                worker.sample = held.__getitem__
            start = time.perf_counter()
            generated = []
            for i in tasks:
                if state != "in memory" and i + 1 < tasks.stop:
                    worker.prefetch(i + 1)  # as an in-process run does: the next sample made (or read) meanwhile
                generated.append(worker.compute(Task(i, ("widefield",))).generated)
            seconds[state] = time.perf_counter() - start
            worker.close()
            assert all(generated) if state == "cold" else not any(generated)
            if state == "warm":
                held.update((i, worker.sample(i)) for i in tasks)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    speedup = seconds["cold"] / seconds["warm"]
    ceiling = seconds["cold"] / seconds["in memory"]
    benchmark.extra_info.update(cold_s=seconds["cold"], warm_s=seconds["warm"], in_memory_s=seconds["in memory"],
                                speedup=speedup, ceiling=ceiling, tasks=N_TASKS)
    print(f"\nwidefield on {N_TASKS} static full samples: cold cache {seconds['cold']:.2f} s, warm "
          f"{seconds['warm']:.2f} s ({speedup:.1f}x); samples in memory {seconds['in memory']:.2f} s: no cache "
          f"can beat {ceiling:.1f}x here")
    if speedup < CACHE_GOAL:
        warnings.warn(f"a warm cache makes widefield {speedup:.1f}x faster (goal >= {CACHE_GOAL}x; "
                      f"ceiling with the samples in memory {ceiling:.1f}x)")

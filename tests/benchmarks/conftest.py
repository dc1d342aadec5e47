"""Benchmarks run once, untimed, under ``--benchmark-disable`` (the build's smoke run).

pytest-benchmark's fixture then calls the function once and keeps no statistics, so the
reporting code of a benchmark (ratios, goals, extra_info) would never run and could break
unseen.  Here the fixture is replaced in that mode by one that times the single call with
``time.perf_counter`` and offers the same ``stats`` reading, so every line of every
benchmark runs in the build; the numbers of that one call mean nothing and are not kept.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture


class _Stats:
    """The few statistics benchmarks read, over the single-call times (seconds):
    ``stats["median"]`` and ``stats.stats.min`` alike."""

    def __init__(self, times: list[float]) -> None:
        self.min, self.max = min(times), max(times)
        self.mean, self.median = statistics.fmean(times), statistics.median(times)

    @property
    def stats(self) -> _Stats:
        return self

    def __getitem__(self, name: str) -> float:
        return getattr(self, name)


class _RunOnce(BenchmarkFixture):
    """Stands in for pytest-benchmark's fixture when benchmarking is disabled (a subclass only
    because the plugin checks the fixture's type; none of the parent's machinery is used)."""

    def __init__(self, inner: BenchmarkFixture) -> None:  # noqa: D107 - the parent's __init__ is not wanted
        self.extra_info: dict[str, Any] = inner.extra_info
        self._times: list[float] = []

    def _timed(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self._times.append(time.perf_counter() - start)
        return result

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._timed(fn, args, kwargs)

    def pedantic(self, target: Callable[..., Any], args: tuple = (), kwargs: dict | None = None,
                 setup: Callable[[], Any] | None = None, **_: Any) -> Any:
        prepared = setup() if setup is not None else None
        if prepared is not None:
            args, kwargs = prepared
        return self._timed(target, tuple(args), dict(kwargs or {}))

    @property
    def stats(self) -> _Stats:
        return _Stats(self._times)


@pytest.fixture
def benchmark(benchmark: BenchmarkFixture, request: pytest.FixtureRequest) -> BenchmarkFixture:
    """pytest-benchmark's fixture, or a single timed call under ``--benchmark-disable``."""
    return _RunOnce(benchmark) if request.config.getoption("benchmark_disable", False) else benchmark


def _wall_times(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Min and median wall time (s) of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"min": min(times), "median": statistics.median(times)}


@pytest.fixture(scope="session")
def wall_times() -> Callable[[Callable[[], Any], int], dict[str, float]]:
    """``wall_times(fn, repeats)``: min and median seconds of ``fn()`` (a baseline timed beside a benchmark)."""
    return _wall_times

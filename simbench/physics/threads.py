"""Thread counts: a fixed BLAS count for the simulators, and the budget of threads one task may use.

The budget (:func:`thread_budget`) is what FFTs (``scipy.fft``'s ``workers``) and a method's own
thread pool use: ``OMP_NUM_THREADS`` where it is set (worker processes set it to their share of
the cores: ``--workers 2`` on 2 cores gives each 1, Dask's workers start with 1), else every core
this process may use.  FFT results do not depend on the thread count, bit for bit.  The same
budget spreads independent pieces of one computation (a metric's blocks, a simulator's independent
steps) over threads (:func:`threaded_map`).

A fixed BLAS thread count for the simulators, so that a sample's bytes do not depend on the machine:

OpenBLAS splits the sums of a matrix product between its threads, and the
split (hence the float rounding) follows the thread count: the light-sheet
simulator's products gave other bytes under ``OMP_NUM_THREADS=1`` than on the
2 cores the committed manifests were made on.  :func:`fixed_blas_threads` runs
a function with exactly :data:`SIMULATION_BLAS_THREADS` BLAS threads, on any
machine and whatever the environment says.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

#: BLAS threads while simulating: the count the committed manifests (``datasets/``) were made with
SIMULATION_BLAS_THREADS = 2
#: :func:`threaded_map` works on fewer array values in the calling thread: starting and joining a
#: thread costs about 0.3 ms, as much as a pass over a few hundred thousand values (a 512² image's
#: upsampling and support dilation took 0.9 and 1.2 ms longer on two threads than on one)
THREADED_MIN_VALUES = 1 << 21

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
R = TypeVar("R")


@functools.cache
def _controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries (found once: inspecting them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def fixed_blas_threads(function: F) -> F:
    """``function`` run with :data:`SIMULATION_BLAS_THREADS` BLAS threads (restored afterwards)."""

    @functools.wraps(function)
    def limited(*args: Any, **kwargs: Any) -> Any:
        with _controller().limit(limits=SIMULATION_BLAS_THREADS, user_api="blas"):
            return function(*args, **kwargs)

    return limited  # type: ignore[return-value]


def cpu_count() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def thread_budget() -> int:
    """Threads one task in this process may use: ``OMP_NUM_THREADS`` where set to a positive
    number, else :func:`cpu_count`."""
    budget = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(budget) if budget.isdigit() and int(budget) > 0 else cpu_count()


def map_threads(items: int, *, values: int) -> int:
    """Threads :func:`threaded_map` starts for ``items`` pieces of work on ``values`` array values in
    all: up to :func:`thread_budget`, none (1: the calling thread) below :data:`THREADED_MIN_VALUES`."""
    return max(1, min(thread_budget(), items)) if values >= THREADED_MIN_VALUES else 1


def threaded_map(function: Callable[[T], R], items: Iterable[T], *, values: int) -> list[R]:
    """``[function(item) for item in items]`` on :func:`map_threads` threads, results in the items'
    order: a sum over them is the same, bit for bit, whatever the budget.  ``values``: how many
    array values the whole map works on.  Worth it only for work that releases the GIL (NumPy's
    array loops and random draws, ``scipy.fft``, ``scipy.ndimage``'s filters)."""
    items = list(items)
    threads = map_threads(len(items), values=values)
    if threads == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(threads, thread_name_prefix="simbench-map") as pool:
        return list(pool.map(function, items))


def slab_bounds(n: int, *, values: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of contiguous, near-equal ranges covering ``0 … n``, one per thread that
    :func:`threaded_map` would start for work on ``values`` array values (a single range when it
    would start none): the slabs one array is split into for it."""
    parts = map_threads(n, values=values)
    edges = [n * i // parts for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def threaded_slabs(function: Callable[[tuple[int, int]], Any], n: int, *, values: int) -> None:
    """``function((start, stop))`` for the :func:`slab_bounds` of an axis of length ``n``, on
    :func:`threaded_map`'s threads (for work that writes its slab of an output in place)."""
    threaded_map(function, slab_bounds(n, values=values), values=values)

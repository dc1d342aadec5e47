"""Thread counts: a fixed BLAS count for the simulators, and the budget of threads one task may use.

The budget (:func:`thread_budget`) is what FFTs (``scipy.fft``'s ``workers``) and a method's own
thread pool use: ``OMP_NUM_THREADS`` where it is set (worker processes set it to their share of
the cores: ``--workers 2`` on 2 cores gives each 1, Dask's workers start with 1), else every core
this process may use.  FFT results do not depend on the thread count, bit for bit.

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
from collections.abc import Callable
from typing import Any, TypeVar

#: BLAS threads while simulating: the count the committed manifests (``datasets/``) were made with
SIMULATION_BLAS_THREADS = 2

F = TypeVar("F", bound=Callable[..., Any])


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

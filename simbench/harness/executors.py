"""Where a run's tasks are computed: this process, a local process pool, or a Dask cluster.

Every executor takes :class:`~simbench.harness.tasks.Task` objects and returns
futures of :class:`~simbench.harness.tasks.TaskResult`; the coordinator
(:mod:`simbench.harness.runner`) decides what to submit and keeps the rows.
``slots`` is how many tasks it should have in flight at once.  A task whose
worker process ended (killed, out of memory) fails with :class:`WorkerDied`;
``final`` says whether the executor has already retried it.

Workers outside this process load methods, suites and metrics from their
installed entry points (``pip install`` the plugins on every worker).
"""
from __future__ import annotations

import abc
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness.tasks import Job, Task, TaskResult, Worker, compute_remote
from simbench.physics.threads import cpu_count
from simbench.plugin.manager import Registry

#: the line printed when Dask is asked for but not installed
DASK_MISSING = "Dask is not installed: pip install 'simbench[dask]' (or: pip install 'dask[distributed]')"
#: the Dask worker resource a task of an accelerated (e.g. GPU) method asks for, one per task
GPU_RESOURCE = "GPU"


class WorkerDied(Exception):
    """The process computing a task ended before returning it."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


class Executor(abc.ABC):
    """Computes tasks; ``start`` is called once per run (a multi-suite command reuses the executor)."""

    slots: int = 1
    description: str = ""

    _local: Worker | None = None

    def start(self, job: Job, registry: Registry) -> None:
        if self._local is not None:  # the previous suite's
            self._local.close()
        self.job, self.registry = job, registry
        self._local = None

    def local_worker(self) -> Worker:
        """A worker of the current job in this process (made on first use)."""
        if self._local is None:
            self._local = Worker(self.job, self.registry)
        return self._local

    @abc.abstractmethod
    def submit(self, task: Task) -> Future[TaskResult]:
        """A future of ``task``'s result."""

    def expect(self, index: int) -> None:
        """A hint: the next task will most likely be for sample ``index`` (ignored by default)."""

    def close(self, cancel: bool = False) -> None:
        """Release the workers; ``cancel``: stop work in flight now (Ctrl-C)."""
        if self._local is not None:
            self._local.close(cancel)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: Any, *rest: Any) -> None:
        self.close(cancel=kind is not None)


class InProcess(Executor):
    """Computes each task in this process when it is submitted (the default), with the next task's
    sample made ahead in a background thread."""

    description = "in this process"

    def expect(self, index: int) -> None:
        self.local_worker().prefetch(index)

    def submit(self, task: Task) -> Future[TaskResult]:
        future: Future[TaskResult] = Future()
        try:
            future.set_result(self.local_worker().compute(task))
        except Exception as exc:  # noqa: BLE001 - handed to the coordinator like a remote failure
            future.set_exception(exc)
        return future


def _init_pool_worker(threads: int) -> None:
    """A pool worker: ``threads`` BLAS/OpenMP threads (so that N workers share the cores), and Ctrl-C
    left to the coordinator, which stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


class ProcessPool(Executor):
    """``workers`` processes on this machine.  A pool whose worker died is replaced on the next
    submission; the tasks it had in flight fail with :class:`WorkerDied` (not final)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise SimbenchError(f"--workers must be at least 1, got {workers}")
        self.slots = workers
        self.description = f"in {workers} worker processes"
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None and self._broken:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._pool is None:
            # forkserver: workers start from a clean process, never from a copy of this one's threads
            self._pool = ProcessPoolExecutor(self.slots, mp_context=multiprocessing.get_context("forkserver"),
                                             initializer=_init_pool_worker,
                                             initargs=(max(1, cpu_count() // self.slots),))
            self._broken = False
        return self._pool

    def submit(self, task: Task) -> Future[TaskResult]:
        outer: Future[TaskResult] = Future()
        try:
            inner = self._live_pool().submit(compute_remote, self.job, task)
        except BrokenProcessPool:
            self._broken = True
            inner = self._live_pool().submit(compute_remote, self.job, task)
        inner.add_done_callback(lambda f: self._relay(f, outer))
        return outer

    def _relay(self, inner: Future[TaskResult], outer: Future[TaskResult]) -> None:
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if isinstance(exc, BrokenProcessPool):
            self._broken = True
            exc = WorkerDied("a worker process ended (killed or out of memory) while computing this sample",
                             final=False)
        if exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(inner.result())

    def close(self, cancel: bool = False) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if cancel:  # stop now: the processes are ours, and their results would be dropped anyway
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
        else:
            pool.shutdown(wait=True)


class DaskCluster(Executor):
    """Tasks on a Dask ``distributed`` cluster: the scheduler at ``address`` (``tcp://HOST:PORT``),
    or, without one, a local cluster of ``workers`` single-threaded processes.  A task whose worker
    dies is retried once by the scheduler (our local cluster sets ``allowed-failures`` to 1) and
    then fails with a final :class:`WorkerDied`.  Tasks of accelerated methods ask for one
    ``GPU`` resource each when some worker advertises GPUs (``dask worker … --resources GPU=1``)."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise SimbenchError(DASK_MISSING) from None
        self.cluster = None
        if address:
            try:
                self.client = Client(address, timeout=30)
            except OSError as exc:
                raise SimbenchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        else:
            n = workers or cpu_count()
            with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                                  # a sample's --timeout runs the method in a child process
                                  "distributed.worker.daemon": False,
                                  # the statistical profiler samples every worker thread's stack every
                                  # 10 ms for the dashboard we do not start: 10-15 % of a wiener task
                                  "distributed.worker.profile.enabled": False,
                                  # its event-loop tick (every 20 ms), system and memory monitors (every
                                  # 0.5 and 0.1 s) in every worker, nanny and the scheduler, all sharing
                                  # the cores with the tasks: a few % of a short task
                                  "distributed.admin.tick.interval": "1s",
                                  "distributed.admin.system-monitor.interval": "5s",
                                  "distributed.admin.system-monitor.disk": False,
                                  "distributed.worker.memory.monitor-interval": "1s",
                                  # tasks go to a worker as soon as they are submitted (see slots below)
                                  "distributed.scheduler.worker-saturation": float("inf")}):
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
            self.client = Client(self.cluster)
        workers_info = self.client.scheduler_info()["workers"].values()
        threads = max(1, sum(w.get("nthreads", 1) for w in workers_info))
        # two tasks per worker thread: the next one already waits on the worker when one ends, not
        # a scheduler round trip away (about 14 ms a task on a loaded 2-core machine)
        self.slots = 2 * threads
        self.gpus = sum(w.get("resources", {}).get(GPU_RESOURCE, 0) for w in workers_info)
        where = address or f"a local cluster of {len(workers_info)} processes"
        self.description = f"on Dask, {where} ({threads} threads, {self.gpus:g} GPUs)"

    def submit(self, task: Task) -> Future[TaskResult]:
        accelerated = any(getattr(self.registry.method(name), "accelerated", False) for name in task.methods)
        resources = {GPU_RESOURCE: 1} if accelerated and self.gpus else None
        inner = self.client.submit(compute_remote, self.job, task, pure=False, resources=resources)
        outer: Future[TaskResult] = Future()
        inner.add_done_callback(lambda f: self._relay(f, outer))
        return outer

    @staticmethod
    def _relay(inner: Any, outer: Future[TaskResult]) -> None:
        from distributed import KilledWorker

        try:
            outer.set_result(inner.result())
        except KilledWorker as exc:
            outer.set_exception(WorkerDied(f"its Dask workers died twice ({exc})", final=True))
        except BaseException as exc:  # noqa: BLE001 - the task's own error, handed to the coordinator
            outer.set_exception(exc)

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: str | None = None, dask: bool = False, scheduler: str | None = None) -> Executor:
    """The executor that ``--workers N|auto``, ``--dask`` and ``--scheduler ADDRESS`` ask for."""
    n = None
    if workers is not None:
        n = cpu_count() if workers == "auto" else _positive(workers)
    if scheduler or dask:
        return DaskCluster(scheduler, n)
    return ProcessPool(n) if n is not None and n > 1 else InProcess()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SimbenchError(f"--workers takes a number of processes (1 or more) or 'auto'; got {text!r}")
    return value

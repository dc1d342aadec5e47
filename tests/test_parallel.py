"""Runs spread over worker processes and Dask give the same rows as a serial run; a worker that dies
or a Ctrl-C loses no finished sample; the sample cache makes a suite once for every method."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_distribution, run_cli
from simbench.harness import cache, results, runner, tasks
from simbench.metrics.base import MetricConfig
from simbench.harness.progress import LineProgress

#: fields of a row that do not depend on where or when it was computed
SAME = ("id", "status", "error", "scores", "flags", "uncertainty", "digest", "reference", "reference_flags",
        "reference_uncertainty", "meta")

SLOW = """
import os, time
import numpy as np
from simbench import Method, hookimpl
from simbench.types import MODALITY_SIM2D

class Sleepy(Method):
    '''The widefield image, upsampled, after $SLEEPY_S seconds.'''
    name = "sleepy"
    modalities = (MODALITY_SIM2D,)

    def reconstruct(self, raw):
        time.sleep(float(os.environ.get("SLEEPY_S", "0.5")))
        return np.kron(raw.frames.mean(axis=0), np.ones((2, 2), np.float32))

class KillsItself(Method):
    '''Ends its own process (as the kernel's out-of-memory killer would).'''
    name = "kills-itself"
    modalities = (MODALITY_SIM2D,)

    def reconstruct(self, raw):
        os.kill(os.getpid(), 9)

@hookimpl
def simbench_methods():
    return [Sleepy, KillsItself]
"""


def _rows(results_dir: Path) -> dict[tuple[str, str], dict]:
    """(method, sample id) → the row's location-independent fields, over every record under ``results_dir``."""
    found = {}
    for record in results.iter_records(results_dir, "static"):
        for sid, row in record.samples.items():
            found[(record.data["method"], sid)] = {k: row.get(k) for k in SAME}
    return found


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _pool_workers(pid: int) -> list[int]:
    """The process-pool workers of the simbench process ``pid`` (children of its forkserver)."""
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in cmdline:
            return _children(child)
    return []


def _wait_for_rows(results_dir: Path, method: str, count: int, process: subprocess.Popen, limit_s: float = 120) -> None:
    start = time.monotonic()
    while sum(1 for key in _rows(results_dir) if key[0] == method) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - start < limit_s, "no rows in time"
        time.sleep(0.1)


@pytest.fixture
def slow_plugin(plugin_dir):
    make_distribution(plugin_dir, "slow-plugin", {"slow_plugin": SLOW}, {"slow": "slow_plugin"})
    return plugin_dir


def test_serial_pool_and_dask_give_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    args = ["run", "--method", "widefield,wiener", "--suite", "static", "--size", "quick", "--no-progress"]
    serial = run_cli(*args, "--results", str(tmp_path / "serial"), "--no-cache")
    pool = run_cli(*args, "--results", str(tmp_path / "pool"), "--workers", "2")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        dask = run_cli(*args, "--results", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address)
    for res in (serial, pool, dask):
        assert res.returncode == 0, res.stderr
    assert "in 2 worker processes" in pool.stderr and "on Dask, tcp://127.0.0.1" in dask.stderr
    expected = _rows(tmp_path / "serial")
    assert len(expected) == 12 and all(row["status"] == "ok" for row in expected.values())
    assert _rows(tmp_path / "pool") == expected  # every score bit for bit (JSON floats round-trip exactly)
    assert _rows(tmp_path / "dask") == expected


def test_a_killed_worker_loses_no_finished_sample(slow_plugin, tmp_path):
    env = {**os.environ, "SLEEPY_S": "1.0"}
    command = [sys.executable, "-m", "simbench", "run", "--method", "sleepy", "--suite", "static", "--size", "quick",
               "--results", str(tmp_path), "--workers", "2", "--no-progress"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_rows(tmp_path, "sleepy", 1, process)
    before = _rows(tmp_path)
    workers = _pool_workers(process.pid)
    assert workers, "no pool workers found"
    os.kill(workers[0], signal.SIGKILL)  # mid-run: the other samples are in flight or queued
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    after = _rows(tmp_path)
    assert len(after) == 6 and all(row["status"] == "ok" for row in after.values()), err
    assert all(after[key] == row for key, row in before.items())  # finished rows kept as they were


def test_a_task_whose_worker_dies_twice_is_recorded_as_failed(slow_plugin, tmp_path):
    res = run_cli("run", "--method", "kills-itself,sleepy", "--suite", "static", "--size", "quick", "--results",
                  str(tmp_path), "--workers", "2", "--no-progress", env={"SLEEPY_S": "0"})
    assert res.returncode == 1
    rows = _rows(tmp_path)
    died = [row for (method, _), row in rows.items() if method == "kills-itself"]
    assert len(died) == 6 and all(r["status"] == "failed" and r["error"].startswith("worker died") for r in died)
    # the retry runs each method alone, so the crash costs no other method's row
    sleepy = {key: row["error"] for key, row in rows.items() if key[0] == "sleepy"}
    assert len(sleepy) == 6 and not any(sleepy.values()), (sleepy, res.stderr)
    assert "kills-itself on static: 0 computed, 6 failed" in res.stderr


def test_ctrl_c_stops_the_workers_and_keeps_finished_samples(slow_plugin, tmp_path):
    command = [sys.executable, "-m", "simbench", "run", "--method", "sleepy", "--suite", "static", "--size", "quick",
               "--results", str(tmp_path), "--workers", "2", "--no-progress"]
    # SIGINT at its default, as a terminal gives it: a shell that starts pytest in the background
    # (`nohup … &`) leaves SIGINT ignored, and the run would inherit that and finish
    process = subprocess.Popen(command, env={**os.environ, "SLEEPY_S": "1.5"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    _wait_for_rows(tmp_path, "sleepy", 1, process)
    workers = _pool_workers(process.pid)
    kept = _rows(tmp_path)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "finished work is saved" in err
    assert all(_rows(tmp_path)[key] == row for key, row in kept.items())
    time.sleep(0.5)
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers still running"
    resumed = run_cli(*command[3:], env={"SLEEPY_S": "0"})
    assert resumed.returncode == 0 and len(_rows(tmp_path)) == 6


def test_a_warm_cache_generates_no_sample_for_the_next_method(registry, tmp_path, monkeypatch):
    measured = []
    score_target = tasks.reference_scores
    monkeypatch.setattr(tasks, "reference_scores", lambda *args: measured.append(1) or score_target(*args))

    def run(method: str, **options) -> runner.RunOutcome:
        return runner.run(registry, runner.RunRequest(methods=[method], suite="static", size="quick",
                                                      results_dir=tmp_path / "results", progress=False,
                                                      cache_dir=tmp_path / "cache", **options))

    assert (run("widefield").generated, len(measured)) == (6, 6)
    assert (run("wiener").generated, len(measured)) == (0, 6)  # nor is the target measured again
    assert run("rl-deconv").from_cache == 6
    reference = {k: v for k, v in _rows(tmp_path / "results").items() if k[0] == "widefield"}
    assert {k[1]: v["reference"] for k, v in reference.items()} == \
        {k[1]: v["reference"] for k, v in _rows(tmp_path / "results").items() if k[0] == "wiener"}
    run("widefield", metric_config=MetricConfig(convention="paper"))  # other settings: measured for them
    assert len(measured) == 12
    listed = cache.entries(tmp_path / "cache")
    assert [(e.suite, e.samples) for e in listed] == [("static", 6)] and listed[0].bytes > 0


def test_in_process_runs_make_each_sample_once_the_next_one_while_the_current_is_scored(registry, tmp_path,
                                                                                      monkeypatch):
    import threading

    suite_class = type(registry.suite("static"))
    made: list[tuple[int, bool]] = []
    make = suite_class.make_sample

    def counted(self, index, size, seed):
        made.append((index, threading.current_thread() is threading.main_thread()))
        return make(self, index, size, seed)

    monkeypatch.setattr(suite_class, "make_sample", counted)
    outcome = runner.run(registry, runner.RunRequest(methods=["widefield"], suite="static", size="quick",
                                                     results_dir=tmp_path, progress=False))
    assert sorted(index for index, _ in made) == list(range(6)) and outcome.generated == 6
    assert [index for index, in_main in made if not in_main] == [1, 2, 3, 4, 5]  # each made ahead of its task
    assert not [t for t in threading.enumerate() if t.name.startswith("simbench-sample")]  # gone with the run
    made.clear()  # with --timeout the method runs in a forked child: no thread may be mid-sample then
    runner.run(registry, runner.RunRequest(methods=["widefield"], suite="static", size="quick", timeout_s=60,
                                           results_dir=tmp_path / "timed", progress=False))
    assert sorted(made) == [(index, True) for index in range(6)]


def test_a_damaged_cache_file_is_made_again_never_served(registry, tmp_path):
    suite = registry.suite("static")
    store = cache.SampleCache(tmp_path, suite, "quick", 0, None)
    sample = suite.make_sample(0, "quick", 0)
    from simbench.harness.digest import sample_digest

    digest = sample_digest(sample)
    store.store(sample, digest, {"flow": 1.5}, {"key": {"reference": {"oob": -15.25}}})
    back = store.load(sample.id)
    assert back is not None and back.digest == digest and back.measured == {"flow": 1.5}
    assert back.reference == {"key": {"reference": {"oob": -15.25}}}
    assert np.array_equal(back.sample.raw.frames, sample.raw.frames) and back.sample.raw.pattern == sample.raw.pattern
    assert back.sample.raw.frames.flags.writeable  # a method may work in place on what it is given
    path = next(store.dir.glob(f"*{cache.SUFFIX}"))
    intact = path.read_bytes()
    path.write_bytes(intact.replace(b"-15.25", b"-95.25"))  # a changed reference score is measured again
    tampered = store.load(sample.id)
    assert tampered is not None and tampered.reference is None and tampered.measured == {"flow": 1.5}
    for where in (len(intact) // 2, 20):  # one flipped byte in the frames; in the header
        data = bytearray(intact)
        data[where] ^= 0xFF
        path.write_bytes(bytes(data))
        assert store.load(sample.id) is None
    data = bytearray(intact)
    path.write_bytes(bytes(data[: len(data) // 3]))  # a truncated file
    assert store.load(sample.id) is None
    assert cache.clear(tmp_path) > 0 and cache.entries(tmp_path) == []


def test_the_cache_key_follows_what_decides_the_bytes(registry):
    suite = registry.suite("static")
    key = cache.suite_key(suite, "quick", 0, "simbench 0.1.0")
    assert key == cache.suite_key(suite, "quick", 0, "simbench 0.1.0")
    assert len({key, cache.suite_key(suite, "full", 0, "simbench 0.1.0"), cache.suite_key(suite, "quick", 1, "simbench 0.1.0"),
                cache.suite_key(suite, "quick", 0, "simbench 0.2.0")}) == 4


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "w") as stream, LineProgress(4, "static/quick", stream, every_s=0.0) as bar:
        for _ in range(4):
            bar.update()
    lines = log.read_text().splitlines()
    assert lines[0].startswith("static/quick: 1/4 tasks (25 %)") and "eta" in lines[0]
    assert lines[-1].startswith("static/quick: 4/4 tasks (100 %)")


def test_missing_dask_is_one_clear_line(tmp_path, monkeypatch):
    from simbench.errors import SimbenchError
    from simbench.harness import executors

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(SimbenchError, match=r"pip install 'simbench\[dask\]'"):
        executors.make_executor(dask=True)
    with pytest.raises(SimbenchError, match="--workers takes a number"):
        executors.make_executor("zero")


def test_an_interrupt_in_process_keeps_finished_rows_and_releases_every_claim(registry, tmp_path):
    from conftest import inject_methods

    from simbench import Method
    from simbench.types import MODALITY_SIM2D

    class Interrupted(Method):
        """Answers twice, then the user presses Ctrl-C."""

        name = "interrupted"
        modalities = (MODALITY_SIM2D,)
        calls = 0

        def reconstruct(self, raw):
            type(self).calls += 1
            if type(self).calls > 2:
                raise KeyboardInterrupt
            return np.kron(raw.frames.mean(axis=0), np.ones((2, 2), np.float32))

    inject_methods(registry, Interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run(registry, runner.RunRequest(methods=["interrupted"], suite="static", size="quick",
                                               results_dir=tmp_path, progress=False))
    assert len(_rows(tmp_path)) == 2
    assert not list(tmp_path.glob("static/interrupted/*/claims/*.claim"))


def test_tasks_of_accelerated_methods_hold_one_gpu_on_a_dask_cluster_with_gpus(registry):
    from simbench.harness import executors
    from simbench.harness.tasks import Task

    class Client:
        """Records what the executor asks the scheduler for."""

        def __init__(self):
            self.asked = []

        def submit(self, fn, job, task, pure, resources):
            self.asked.append((task.methods, resources))
            return self

        def add_done_callback(self, callback):
            pass

    dask = executors.DaskCluster.__new__(executors.DaskCluster)  # no cluster: only the submission is checked
    dask.client, dask.registry, dask.job = Client(), registry, None
    for gpus in (2, 0):
        dask.gpus = gpus
        dask.submit(Task(0, ("vsrsim",)))
        dask.submit(Task(0, ("wiener", "widefield")))
    assert dask.client.asked == [(("vsrsim",), {"GPU": 1}), (("wiener", "widefield"), None),
                                 (("vsrsim",), None), (("wiener", "widefield"), None)]


def test_the_thread_budget_follows_omp_num_threads(monkeypatch):
    from simbench.physics.threads import cpu_count, thread_budget

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what a worker of `--workers 2` on 2 cores, or Dask's, has
    assert thread_budget() == 1
    for unusable in ("", "0", "four"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert thread_budget() == cpu_count() >= 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_budget() == cpu_count()

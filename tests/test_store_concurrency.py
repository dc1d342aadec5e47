"""The results store under kills and concurrent writers: finished samples are never lost, never
overwritten and never computed twice."""
from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time

import pytest

from simbench.harness.results import scan

from conftest import make_distribution, stored

#: widefield that takes $PACED_SECONDS and logs "<pid> <sha1 of the raw frames>" to $PACED_LOG
PACED = """
import hashlib, os, time
import simbench

class Paced(simbench.Method):
    name = "paced"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        with open(os.environ["PACED_LOG"], "a") as log:
            log.write(f"{os.getpid()} {hashlib.sha1(raw.frames.tobytes()).hexdigest()}\\n")
        time.sleep(float(os.environ.get("PACED_SECONDS", "0")))
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)

@simbench.hookimpl
def simbench_methods():
    return [Paced]
"""


@pytest.fixture
def paced(plugin_dir, tmp_path, monkeypatch):
    make_distribution(plugin_dir, "paced-plugin", {"paced_plugin": PACED}, {"paced": "paced_plugin"})
    monkeypatch.setenv("PACED_LOG", str(tmp_path / "calls.log"))
    return tmp_path / "calls.log"


def _start(results, method="paced", *extra):
    args = [sys.executable, "-m", "simbench", "run", "--method", method, "--suite", "static", "--size", "quick",
            "--results", str(results), "--no-progress", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _sample_files(results):
    return {p.name: p.read_bytes() for p in results.glob("static/*/*/samples/*.json")}


def _calls(log, pids):
    """The frame checksums the method was called on by the processes ``pids``."""
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [checksum for pid, checksum in lines if int(pid) in pids]


@pytest.fixture(scope="module")
def frame_ids():
    """sha1 of each quick static sample's raw frames (and of its repeat, for FRC) → its sample id."""
    import hashlib

    from simbench.plugin.manager import PluginManager

    suite = PluginManager(strict=False).load().suite("static")
    ids = {}
    for i in range(suite.n_samples("quick")):
        sample = suite.make_sample(i, "quick", 0)
        for raw in (sample.raw, sample.raw_repeat):
            ids[hashlib.sha1(raw.frames.tobytes()).hexdigest()] = sample.id
    return ids


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kills_at_random_moments_lose_nothing_and_recompute_nothing(paced, tmp_path, monkeypatch, frame_ids, seed):
    rng = random.Random(seed)
    monkeypatch.setenv("PACED_SECONDS", "0.4")
    results = tmp_path / "results"
    kept: dict[str, bytes] = {}
    for attempt in range(12):
        before = set(kept)
        proc = _start(results)
        if attempt < 4:
            time.sleep(rng.uniform(1.0, 6.0))  # start-up, sample generation or reconstruction, by chance
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=300)
        files = _sample_files(results)
        for name, data in kept.items():  # every finished sample is still there, byte for byte
            assert files.get(name) == data, name
        kept = files
        recomputed = {frame_ids[c] for c in _calls(paced, {proc.pid})} & {n.split(".")[0] for n in before}
        assert not recomputed, f"finished samples computed again: {sorted(recomputed)}"
        if proc.returncode == 0:
            break
    final = stored(results, "static", "paced")
    assert final["complete"] and {r["status"] for r in final["samples"].values()} == {"ok"}


def test_identical_concurrent_runs_compute_each_sample_once(paced, tmp_path, monkeypatch):
    monkeypatch.setenv("PACED_SECONDS", "0.5")
    procs = [_start(tmp_path / "results") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    computed = [int(re.search(r"paced on static: (\d+) computed", err).group(1)) for _, err in outs]
    assert sum(computed) == 6, outs
    assert len(paced.read_text().splitlines()) == 6  # six samples reconstructed once each, in all (no repeat metric)
    assert stored(tmp_path / "results", "static", "paced")["complete"]


def test_concurrent_writers_of_different_configurations_keep_both(paced, tmp_path, monkeypatch):
    monkeypatch.setenv("PACED_SECONDS", "0.2")
    results = tmp_path / "results"
    procs = [_start(results), _start(results, "paced", "--metric-convention", "paper"),
             _start(results, "paced", "--seed", "5")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert all("6 computed, 0 failed, 0 already done" in err for _, err in outs), outs
    records = scan(results, "static").records
    assert sorted(r.key for r in records) == ["quick", "quick+paper", "quick@seed=5"]
    assert all(r.data["complete"] and len(r.samples) == 6 for r in records)

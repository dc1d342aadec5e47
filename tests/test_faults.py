"""Faults a user meets: other settings, bad weights, damaged files, unsafe names, hangs, truncated TIFFs.

Every case ends in correct results or one line naming the problem, with the documented exit
status, and no finished sample is ever lost.
"""
from __future__ import annotations

import hashlib
import json
import re
import os
import time

import numpy as np
import pytest

import simbench
from simbench.errors import SimbenchError
from simbench.harness import runner
from simbench.harness.leaderboard import render
from simbench.harness.results import scan
from simbench.metrics.base import MetricConfig

from conftest import ROOT, inject_methods, make_distribution, run_cli, stored

#: static quick results of widefield and wiener in the earlier single-file format (as committed before the store)
LEGACY = ROOT / "tests" / "data" / "legacy-results"

FAULTY = """
import os, time
import simbench

class Fails(simbench.Method):
    name = "always-fails"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        raise RuntimeError("broken on purpose")

@simbench.hookimpl
def simbench_methods():
    return [Fails]
"""


class Weighted(simbench.Method):
    """Reads 'weights' from the file named by $FAULT_WEIGHTS: b"good" works, anything else fails."""

    name = "weighted"
    modalities = (simbench.MODALITY_SIM2D,)

    @classmethod
    def artifacts(cls):
        return {"weights_sha256": hashlib.sha256(open(os.environ["FAULT_WEIGHTS"], "rb").read()).hexdigest()}

    def reconstruct(self, raw):
        if open(os.environ["FAULT_WEIGHTS"], "rb").read() != b"good":
            raise SimbenchError(f"{os.environ['FAULT_WEIGHTS']} is not a readable weights file")
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)


class Sleeps(simbench.Method):
    """Writes its pid to $FAULT_PIDS/<pid> and sleeps $FAULT_SLEEP seconds before answering."""

    name = "sleeps"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        open(os.path.join(os.environ["FAULT_PIDS"], str(os.getpid())), "w").close()
        time.sleep(float(os.environ["FAULT_SLEEP"]))
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)


def _run(registry, results, methods, **kw):
    return runner.run(registry, runner.RunRequest(methods=methods, suite="static", size="quick", results_dir=results,
                                                  progress=False, **kw))


def _one_line_error(res, *parts):
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("simbench: error:")]
    assert len(errors) == 1 and all(p in errors[0] for p in parts), res.stderr


def test_another_metric_convention_adds_a_record_and_keeps_the_first(registry, tmp_path):
    first = _run(registry, tmp_path, ["widefield"]).records[0]
    paper = _run(registry, tmp_path, ["widefield"], metric_config=MetricConfig(convention="paper")).records[0]
    assert (first.key, paper.key) == ("quick", "quick+paper") and first.path != paper.path
    assert stored(tmp_path, "static", "widefield")["samples"] == first.samples
    assert len(stored(tmp_path, "static", "widefield", "quick+paper")["samples"]) == 6
    table = render(tmp_path, "static", "plain", {})
    assert "static [quick]" in table and "static [quick+paper]" in table


def test_other_weights_add_a_record_and_keep_the_good_samples(registry, tmp_path, monkeypatch):
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"good")
    monkeypatch.setenv("FAULT_WEIGHTS", str(weights))
    inject_methods(registry, Weighted)
    good = _run(registry, tmp_path / "results", ["weighted"])
    weights.write_bytes(b"go")  # damaged
    bad = _run(registry, tmp_path / "results", ["weighted"])
    assert good.counts["weighted"].computed == 6 and bad.counts["weighted"].failed == 6
    records = scan(tmp_path / "results", "static").records
    ok = [r for r in records if all(row["status"] == "ok" for row in r.samples.values())]
    assert len(records) == 2 and len(ok) == 1 and ok[0].samples == good.records[0].samples


def test_timeout_kills_the_method_and_the_run_goes_on(registry, tmp_path, monkeypatch):
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FAULT_PIDS", str(pids))
    monkeypatch.setenv("FAULT_SLEEP", "60")
    inject_methods(registry, Sleeps)
    start = time.monotonic()
    outcome = _run(registry, tmp_path / "results", ["sleeps", "widefield"], timeout_s=0.5)
    assert time.monotonic() - start < 50  # six hung samples did not take 6 × 60 s
    rows = outcome.records[0].samples.values()
    assert {r["status"] for r in rows} == {"failed"} and len(rows) == 6
    assert all(r["error"].startswith("timeout after 0.5 s") for r in rows), next(iter(rows))["error"]
    assert outcome.counts["sleeps"].failed == 6 and outcome.counts["widefield"].computed == 6
    started = [int(p.name) for p in pids.iterdir()]
    assert len(started) == 6 and os.getpid() not in started
    for pid in started:  # the method's processes are gone, not left working
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_timeout_leaves_a_fast_method_alone(registry, tmp_path):
    in_process = _run(registry, tmp_path / "a", ["widefield"]).records[0]
    limited = _run(registry, tmp_path / "b", ["widefield"], timeout_s=120).records[0]
    assert [r["scores"] for r in limited.samples.values()] == [r["scores"] for r in in_process.samples.values()]


def test_a_damaged_results_file_is_listed_and_never_hides_the_good_ones(registry, tmp_path):
    record = _run(registry, tmp_path, ["widefield"]).records[0]
    folder = tmp_path / "static"
    (folder / "old.json").write_text('{"schema_version": 1, "runs": {"quick": {"method": "old", "sa')  # truncated
    (folder / "notes.json").write_text("[1, 2, 3]\n")  # stray
    (folder / "other.json").write_text('{"schema_version": 7, "runs": {}}')  # another schema
    damaged = next((record.path / "samples").glob("*.json"))
    damaged.write_text(damaged.read_text()[:50])
    res = run_cli("leaderboard", "--suite", "static", "--results", str(tmp_path))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert re.search(r"widefield\s+5/6", res.stdout), res.stdout  # coverage: the damaged sample is missing
    warnings = [line for line in res.stderr.splitlines() if "unreadable" in line]
    assert len(warnings) == 4 and all(line.startswith("simbench: warning:") for line in warnings), res.stderr
    for name in ("old.json", "notes.json", "other.json", damaged.name):
        assert sum(name in line for line in warnings) == 1, (name, res.stderr)
    again = run_cli("run", "--method", "widefield", "--suite", "static", "--size", "quick", "--results",
                    str(tmp_path), "--no-progress")
    assert again.returncode == 0 and "1 computed, 0 failed, 5 already done" in again.stderr, again.stderr
    scores = {sid: row["scores"] for sid, row in stored(tmp_path, "static", "widefield")["samples"].items()}
    assert scores == {sid: row["scores"] for sid, row in record.samples.items()}  # the same values again
    assert damaged.with_name(damaged.name + ".unreadable").exists()  # kept aside, not deleted


def test_a_results_folder_that_cannot_be_written_is_one_line(registry, tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(SimbenchError, match=r"cannot write .*static-0000\.claim: \[Errno 13\] Permission denied$"):
        _run(registry, tmp_path, ["widefield"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_exits_2(tmp_path):
    tmp_path.chmod(0o555)
    try:
        res = run_cli("run", "--method", "widefield", "--suite", "static", "--size", "quick", "--results",
                      str(tmp_path / "r"), "--no-progress")
    finally:
        tmp_path.chmod(0o755)
    _one_line_error(res, "cannot write")


@pytest.mark.parametrize("name", ["../../escape", "/tmp/anywhere", "", "a/b", ".hidden", "..", "x" * 65])
def test_unsafe_result_names_are_refused_and_nothing_is_written(tmp_path, name):
    (tmp_path / "pred").mkdir()
    res = run_cli("score", "--suite", "static", "--predictions", str(tmp_path / "pred"), "--name", name,
                  "--results", str(tmp_path / "results" / "deep"))
    _one_line_error(res, "not a safe file name")
    assert [p.name for p in tmp_path.iterdir()] == ["pred"] and not os.path.exists("/tmp/anywhere.json")


def test_plugins_with_unsafe_names_fail_to_load():
    from simbench.plugin.manager import _validate_method, _validate_suite
    from simbench.suites.static import StaticSuite

    class Escapes(simbench.Method):
        name = "../escape"
        modalities = (simbench.MODALITY_SIM2D,)

        def reconstruct(self, raw):  # pragma: no cover - never loaded
            raise AssertionError

    class Absolute(StaticSuite):
        name = "/etc/suite"

    assert "not a safe file name" in _validate_method(Escapes)
    assert "not a safe file name" in _validate_suite(Absolute())
    assert _validate_suite(StaticSuite()) == ""


def _truncated_stack(path):
    from simbench.io import write_image

    write_image(path, np.random.default_rng(0).random((9, 64, 64), dtype=np.float32), 86.7)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_multi_page_tiffs_are_refused(tmp_path):
    stack = _truncated_stack(tmp_path / "raw.tif")
    res = run_cli("measure", "decorr", str(stack), "--pixel-size", "43.35")
    _one_line_error(res, str(stack), "truncated")
    res = run_cli("reconstruct", "--method", "wiener", str(stack), "-o", str(tmp_path / "out.tif"), "--na", "1.49",
                  "--wavelength", "515", "--pixel-size", "86.7")
    _one_line_error(res, str(stack), "truncated")
    assert not (tmp_path / "out.tif").exists()


def test_counts_tell_the_truth_and_kept_failures_are_named(plugin_dir, tmp_path):
    make_distribution(plugin_dir, "faulty-plugin", {"faulty_plugin": FAULTY}, {"faulty": "faulty_plugin"})
    args = ["run", "--method", "always-fails", "--suite", "static", "--size", "quick", "--results", str(tmp_path),
            "--no-progress"]
    first = run_cli(*args)
    assert first.returncode == 1 and "always-fails on static: 0 computed, 6 failed, 0 already done" in first.stderr
    again = run_cli(*args)
    assert again.returncode == 1 and "0 computed, 0 failed, 6 already done" in again.stderr
    assert "6 sample(s) that failed in an earlier run were not computed again (add --retry-failed" in again.stderr
    retried = run_cli(*args, "--retry-failed")
    assert "0 computed, 6 failed, 0 already done" in retried.stderr and "--retry-failed to" not in retried.stderr


def test_compare_with_a_typo_says_did_you_mean(tmp_path):
    res = run_cli("compare", "widefeld", "wiener", "--suite", "static", "--size", "quick", "--results", str(tmp_path))
    _one_line_error(res, "unknown method 'widefeld'; did you mean 'widefield'")


def test_a_2d_method_on_a_3d_suite_is_refused_before_any_sample(tmp_path):
    start = time.monotonic()
    res = run_cli("run", "--method", "wiener", "--suite", "axial/chromatin", "--size", "quick", "--results",
                  str(tmp_path), "--no-progress")
    _one_line_error(res, "does not accept modality", "axial/chromatin")
    assert time.monotonic() - start < 60 and not any(tmp_path.iterdir())


def test_migrating_committed_results_keeps_every_value(tmp_path):
    import shutil

    results = tmp_path / "results"
    shutil.copytree(LEGACY / "static", results / "static")  # files of the earlier single-file format
    before = run_cli("leaderboard", "--suite", "static", "--results", str(results), "--format", "md")
    moved = run_cli("results", "migrate", "--results", str(results))
    assert moved.returncode == 0 and "→" in moved.stdout, moved.stderr
    assert not list(results.glob("static/*.json")) and list(results.glob("static/*.json.migrated"))
    after = run_cli("leaderboard", "--suite", "static", "--results", str(results), "--format", "md")
    assert before.returncode == after.returncode == 0 and after.stdout == before.stdout
    for legacy in results.glob("static/*.json.migrated"):
        data = json.loads(legacy.read_text())
        for key, run in data["runs"].items():
            assert stored(results, "static", run["method"], key)["samples"] == run["samples"]


def test_a_run_beside_an_earlier_single_file_says_it_does_not_resume_from_it(registry, tmp_path):
    import shutil

    (tmp_path / "static").mkdir()
    shutil.copy(LEGACY / "static" / "widefield.json", tmp_path / "static")
    warnings: list[str] = []
    runner.run(registry, runner.RunRequest(methods=["widefield"], suite="static", size="quick", results_dir=tmp_path,
                                           progress=False), warn=warnings.append)
    assert len(warnings) == 1 and "earlier single-file format are kept and not resumed from" in warnings[0]
    assert (tmp_path / "static" / "widefield.json").exists()

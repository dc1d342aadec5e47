"""Runner and results: failures are data, resume after a kill, provenance, leaderboards."""
from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from typing import ClassVar

import numpy as np
import pytest

import simbench
from simbench.errors import SimbenchError, UnknownNameError
from simbench.harness import runner
from simbench.harness.leaderboard import render
from simbench.metrics.base import MetricConfig
from simbench.suites.base import SuiteOption
from simbench.suites.static import StaticSuite

from conftest import inject_methods, make_distribution, run_cli, stored


class WrongShape(simbench.Method):
    name = "wrong-shape"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        return raw.frames.mean(axis=0)  # forgot the x2


class MakesNaN(simbench.Method):
    name = "makes-nan"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        out = simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)
        out[3, 4] = np.nan
        return out


class Crashes(simbench.Method):
    name = "crashes"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        raise ZeroDivisionError("boom")


class WrongModality(simbench.Method):
    name = "wrong-modality"
    modalities = ("something-else",)

    def reconstruct(self, raw):  # pragma: no cover - never called
        raise AssertionError


def _run(registry, tmp_path, methods, **kw):
    request = runner.RunRequest(methods=methods, suite="static", size="quick", results_dir=tmp_path,
                                progress=False, **kw)
    return runner.run(registry, request)


def test_bad_outputs_are_recorded_per_sample_and_the_run_goes_on(registry, tmp_path):
    inject_methods(registry, WrongShape, MakesNaN, Crashes)
    outcome = _run(registry, tmp_path, ["wrong-shape", "makes-nan", "crashes", "widefield"])
    n = registry.suite("static").n_samples("quick")
    assert outcome.failed == {"wrong-shape": n, "makes-nan": n, "crashes": n, "widefield": 0}
    rows = {rec.data["method"]: next(iter(rec.samples.values())) for rec in outcome.records}
    assert "returned shape (256, 256), expected (512, 512)" in rows["wrong-shape"]["error"]
    assert "1 non-finite values" in rows["makes-nan"]["error"]
    assert rows["crashes"]["error"] == "ZeroDivisionError: boom"
    assert rows["widefield"]["status"] == "ok"
    assert set(rows["widefield"]["scores"]) == set(registry.suite("static").metrics)
    table = render(tmp_path, "static", "plain", {})
    assert f"{n} failed" in table and f"0/{n}" in table


def test_a_method_of_another_modality_is_refused_before_any_sample_is_made(registry, tmp_path, monkeypatch):
    inject_methods(registry, WrongModality)
    monkeypatch.setattr(StaticSuite, "make_sample", lambda *a: pytest.fail("a sample was made"))
    with pytest.raises(SimbenchError, match="does not accept modality 'sim2d-stripes-3x3' of suite 'static'"):
        _run(registry, tmp_path, ["widefield", "wrong-modality"])
    assert not (tmp_path / "static").exists()


def test_record_schema_and_provenance(registry, tmp_path):
    outcome = _run(registry, tmp_path, ["widefield"])
    data = stored(tmp_path, "static", "widefield")
    assert data is not None and outcome.records[0].data["complete"]
    assert data["suite"] == "static" and data["suite_version"] == registry.suite("static").version
    assert len(data["suite_hash"]) == 64 and data["seed"] == 0 and data["size"] == "quick"
    assert data["metrics"]["psnr"]["direction"] == "higher" and data["metrics"]["mse"]["direction"] == "lower"
    assert data["metric_config"]["convention"] == "normalised"
    prov = data["provenance"]
    for key in ("simbench_version", "git", "plugins", "platform", "numpy", "torch", "python", "cpu"):
        assert key in prov
    assert prov["plugins"]["simbench"] == prov["simbench_version"]
    row = next(iter(data["samples"].values()))
    assert row["runtime_s"] > 0 and len(row["digest"]) == 64 and row["meta"]["pool"] == "test"


def test_runs_are_deterministic_and_resume_recomputes_nothing(registry, tmp_path):
    first = _run(registry, tmp_path / "a", ["widefield"]).records[0]
    second = _run(registry, tmp_path / "b", ["widefield"]).records[0]
    assert first.data["suite_hash"] == second.data["suite_hash"]
    assert [r["scores"] for r in first.samples.values()] == [r["scores"] for r in second.samples.values()]
    again = _run(registry, tmp_path / "a", ["widefield"])
    assert again.computed == {"widefield": 0}


def test_paper_convention_is_recorded_and_changes_scores(registry, tmp_path):
    default = _run(registry, tmp_path / "a", ["widefield"]).records[0]
    paper = _run(registry, tmp_path / "b", ["widefield"], metric_config=MetricConfig(convention="paper"))
    assert paper.records[0].data["metric_config"]["convention"] == "paper"
    assert [r["scores"]["psnr"] for r in default.samples.values()] != \
           [r["scores"]["psnr"] for r in paper.records[0].samples.values()]


def test_cli_bad_input_one_line_errors(tmp_path):
    for args, expect in [
        (["run", "--method", "widefeld", "--suite", "static"], "unknown method 'widefeld'; did you mean 'widefield'"),
        (["run", "--method", "widefield", "--suite", "statik"], "unknown suite 'statik'; did you mean 'static'"),
        (["run", "--method", "widefield", "--suite", "static", "--size", "huge"], "has no size 'huge'"),
    ]:
        res = run_cli(*args, "--results", str(tmp_path), "--no-progress")
        assert res.returncode == 2
        errors = [line for line in res.stderr.splitlines() if line.startswith("simbench: error:")]
        assert len(errors) == 1 and expect in errors[0], res.stderr
        assert "Traceback" not in res.stderr


SLOW = """
import os, time
import simbench

class Slow(simbench.Method):
    name = "slow"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)

class Broken(simbench.Method):
    name = "nan-maker"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        return simbench.upsample_bicubic(raw.frames[0], 2) * float("nan")

@simbench.hookimpl
def simbench_methods():
    return [Slow, Broken]
"""


def _wait_for_samples(folder, count, proc, timeout=120.0):
    """Wait until ``count`` samples are stored under a method's results ``folder``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.stderr.read()}")
        if len(list(folder.glob("*/samples/*.json"))) >= count:
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for samples")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_without_recomputing(plugin_dir, tmp_path, sig, monkeypatch):
    make_distribution(plugin_dir, "slow-plugin", {"slow_plugin": SLOW}, {"slow": "slow_plugin"})
    monkeypatch.setenv("SLOW_SECONDS", "1.5")  # the remaining samples outlast a busy machine's signal latency
    args = [sys.executable, "-m", "simbench", "run", "--method", "slow", "--suite", "static", "--size", "quick",
            "--results", str(tmp_path), "--no-progress"]
    # SIGINT at its default, as a terminal gives it: a shell starting pytest in the background
    # (e.g. `nohup … &`) leaves SIGINT ignored, and children would inherit that
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    _wait_for_samples(tmp_path / "static" / "slow", 2, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "rerun the same command to resume" in proc.stderr.read()
    saved = stored(tmp_path, "static", "slow")["samples"]  # every stored sample reads back after the kill
    assert 2 <= len(saved) < 6
    monkeypatch.setenv("SLOW_SECONDS", "0")
    res = run_cli(*args[3:])
    assert res.returncode == 0, res.stderr
    assert f"slow on static: {6 - len(saved)} computed, 0 failed, {len(saved)} already done" in res.stderr
    final = stored(tmp_path, "static", "slow")
    assert final["complete"] and len(final["samples"]) == 6
    for sid, row in saved.items():  # finished rows were kept as they were, not recomputed
        assert final["samples"][sid] == row


def test_cli_reports_failed_samples_with_exit_1_and_keeps_good_results(plugin_dir, tmp_path):
    make_distribution(plugin_dir, "slow-plugin", {"slow_plugin": SLOW}, {"slow": "slow_plugin"})
    res = run_cli("run", "--method", "nan-maker,widefield", "--suite", "static", "--size", "quick",
                  "--results", str(tmp_path), "--no-progress")
    assert res.returncode == 1
    assert "nan-maker on static: 6 sample(s) failed" in res.stderr and "non-finite values" in res.stderr
    assert not [line for line in res.stderr.splitlines() if "widefield" in line and "sample(s) failed" in line]
    good = stored(tmp_path, "static", "widefield")
    assert good["complete"] and all(r["status"] == "ok" for r in good["samples"].values())
    board = run_cli("leaderboard", "--suite", "static", "--results", str(tmp_path), "--format", "md")
    assert board.returncode == 0 and "6 failed" in board.stdout and "| 1      | widefield" in board.stdout


def test_non_default_seed_gets_its_own_record_and_hash(registry, tmp_path):
    default = _run(registry, tmp_path, ["widefield"]).records[0]
    other = _run(registry, tmp_path, ["widefield"], seed=7).records[0]
    assert (default.key, other.key) == ("quick", "quick@seed=7")
    assert other.data["suite_hash"] != default.data["suite_hash"] and len(other.data["suite_hash"]) == 64
    assert stored(tmp_path, "static", "widefield", "quick@seed=7")["seed"] == 7
    assert default.data["device"] == "cpu"


def test_leaderboard_flags_stale_and_incomplete_results(registry, tmp_path):
    record = _run(registry, tmp_path, ["widefield"]).records[0]
    current = {("static", "quick", 0): record.data["suite_hash"]}
    assert "stale" not in render(tmp_path, "static", "plain", current)
    next((record.path / "samples").glob("*.json")).unlink()  # damage from outside
    table = render(tmp_path, "static", "plain", {("static", "quick", 0): "0" * 64})
    assert "stale: suite changed" in table and "incomplete" in table and "5/6" in table
    csv = render(tmp_path, "static", "csv", current)
    assert csv.splitlines()[0].startswith("suite,run,method,rank,n_ok,n_total,psnr_mean,psnr_std")


class GainSuite(StaticSuite):
    """The static suite with a user option (for testing --suite-opt)."""

    name = "gain-static"
    options = (SuiteOption("gain", "multiply the scene's brightness", 1.0, float),)

    def make_sample(self, index, size, seed):
        s = super().make_sample(index, size, seed)
        gain = self.option_values["gain"]
        return dataclasses.replace(s, target=s.target * np.float32(gain),
                                   raw=dataclasses.replace(s.raw, frames=s.raw.frames * np.float32(gain)))


def test_suite_options_change_identity_and_hash(registry, tmp_path):
    registry.suites["gain-static"] = GainSuite()
    request = {"methods": ["widefield"], "suite": "gain-static", "size": "quick", "results_dir": tmp_path,
               "progress": False}
    plain = runner.run(registry, runner.RunRequest(**request)).records[0]
    gained = runner.run(registry, runner.RunRequest(**request, suite_options={"gain": "2.5"})).records[0]
    assert (plain.key, gained.key) == ("quick", "quick[gain=2.5]")
    assert gained.data["suite_options"] == {"gain": 2.5} and plain.data["suite_options"] == {}
    assert gained.data["suite_hash"] != plain.data["suite_hash"]
    with pytest.raises(SimbenchError, match="bad value 'loud' for option 'gain'"):
        runner.run(registry, runner.RunRequest(**request, suite_options={"gain": "loud"}))
    with pytest.raises(UnknownNameError, match="did you mean 'gain'"):
        runner.run(registry, runner.RunRequest(**request, suite_options={"gian": "2"}))


def test_a_new_metric_version_is_a_new_record_and_old_records_keep_their_identity(registry, tmp_path):
    from simbench.harness.store import identity

    spec = {"suite": "static", "method": "widefield", "metrics": {"psnr": {"direction": "higher"}}}
    versioned = json.loads(json.dumps(spec))
    versioned["metrics"]["psnr"]["version"] = "1"
    assert identity(versioned) == identity(spec)  # records from before metric versions are unchanged
    versioned["metrics"]["psnr"]["version"] = "2"
    assert identity(versioned) != identity(spec)
    request = {"methods": ["widefield"], "suite": "static", "size": "quick", "results_dir": tmp_path, "progress": False}
    first = runner.run(registry, runner.RunRequest(**request)).records[0]
    registry.metrics["psnr"] = dataclasses.replace(registry.metrics["psnr"], version="2")
    second = runner.run(registry, runner.RunRequest(**request)).records[0]
    assert first.data["metrics"]["psnr"]["version"] == "1" and second.data["metrics"]["psnr"]["version"] == "2"
    assert first.path != second.path and len(second.data["samples"]) == 6  # scored again, not resumed


class _Member(StaticSuite):
    """A member of a suite group (for testing `--suite group` and grouped leaderboards)."""

    name = "grp/a"


class _Member2(_Member):
    name = "grp/b"


def test_suite_group_runs_every_member_and_renders_column_groups(registry, tmp_path):
    registry.suites.update({"grp/a": _Member(), "grp/b": _Member2()})
    assert [s.name for s in registry.suite_group("grp")] == ["grp/a", "grp/b"]
    with pytest.raises(UnknownNameError, match="did you mean 'grp'"):
        registry.suite_group("gr")
    for name in ("grp/a", "grp/b"):
        runner.run(registry, runner.RunRequest(methods=["widefield"], suite=name, size="quick",
                                               results_dir=tmp_path, progress=False))
    table = render(tmp_path, "grp", "plain", {})
    assert table.startswith("grp [quick]")
    header = table.split("every metric\n", 1)[1].splitlines()[0]
    assert "a rank" in header and "a psnr ↑" in header and "b psnr ↑" in header and "b frc_gt ↓" in header


class _AnyOrderSuite(StaticSuite):
    name = "any-order-static"
    requires_any_pattern_order = True


class _FixedOrder(simbench.Method):
    name = "fixed-order"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):  # pragma: no cover - never called: skipped
        raise AssertionError


def test_methods_without_any_pattern_order_are_skipped_with_a_reason(registry, tmp_path):
    registry.suites["any-order-static"] = _AnyOrderSuite()
    inject_methods(registry, _FixedOrder)
    outcome = runner.run(registry, runner.RunRequest(methods=["fixed-order", "widefield"], suite="any-order-static",
                                                     size="quick", results_dir=tmp_path, progress=False))
    rows = {rec.data["method"]: list(rec.samples.values()) for rec in outcome.records}
    assert {r["status"] for r in rows["fixed-order"]} == {"skipped"}
    assert "does not declare accepts_any_pattern_order" in rows["fixed-order"][0]["error"]
    assert {r["status"] for r in rows["widefield"]} == {"ok"}
    assert outcome.failed == {"fixed-order": 0, "widefield": 0}
    assert "6 skipped" in render(tmp_path, "any-order-static", "plain", {})


class _MeasuredSuite(StaticSuite):
    """A static suite whose samples carry a measurement (counted)."""

    name = "measured-static"
    calls: ClassVar[list[int]] = []

    def measure(self, index, size, seed):
        self.calls.append(index)
        return {"brightness": float(self.make_sample(index, size, seed).target.mean())}


def test_measurements_enter_the_rows_without_changing_the_digest(registry, tmp_path, monkeypatch):
    """Measurements are copied into each row's meta (from the manifest when it has them, else
    measured during the run) and are not part of the sample's checksum."""
    from simbench.harness import manifest
    from simbench.harness.digest import content_hash, sample_digest

    suite = _MeasuredSuite()
    registry.suites[suite.name] = suite
    request = runner.RunRequest(methods=["widefield"], suite=suite.name, size="quick", results_dir=tmp_path,
                                progress=False)
    rows = list(runner.run(registry, request).records[0].samples.values())
    assert suite.calls == list(range(6))
    for i, row in enumerate(rows):
        sample = suite.make_sample(i, "quick", 0)
        assert row["digest"] == sample_digest(sample) and "brightness" not in sample.meta
        assert row["meta"] == {**sample.meta, "brightness": float(sample.target.mean())}
    # with a manifest that holds them, nothing is measured during the run
    entry = manifest.SizeManifest({r["id"]: r["digest"] for r in rows}, content_hash(r["digest"] for r in rows),
                                  {r["id"]: {"brightness": -1.0} for r in rows})
    monkeypatch.setattr(manifest, "expected", lambda *a: entry)
    suite.calls.clear()
    again = runner.run(registry, dataclasses.replace(request, results_dir=tmp_path / "again"))
    assert suite.calls == [] and {r["meta"]["brightness"] for r in again.records[0].samples.values()} == {-1.0}

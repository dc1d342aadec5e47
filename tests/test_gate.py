"""The regression gate: a degraded method fails it, restoring it passes, stale baselines are not compared."""
from __future__ import annotations

import json
import shutil

import pytest

from simbench.harness.gate import MetricChange, Tolerance, compare, load_tolerances
from simbench.harness.results import RunRecord

from conftest import ROOT, make_distribution, run_cli

TOLERANCES = ROOT / "leaderboards" / "tolerances.toml"
#: widefield, plus Gaussian noise of SIMBENCH_TEST_DEGRADE × the image's standard deviation
PROBE = """
import os
import numpy as np
import simbench

class Probe(simbench.Method):
    name = "gate-probe"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        image = simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)
        level = float(os.environ.get("SIMBENCH_TEST_DEGRADE", "0"))
        return image + level * image.std() * np.random.default_rng(0).standard_normal(image.shape)

@simbench.hookimpl
def simbench_methods():
    return [Probe]
"""


@pytest.fixture(scope="module")
def probe_baseline(tmp_path_factory):
    """The probe installed (PYTHONPATH) and its quick static baseline."""
    root = tmp_path_factory.mktemp("gate")
    site = make_distribution(root / "site", "gate-probe", {"gate_probe": PROBE}, {"gate-probe": "gate_probe"})
    env = {"PYTHONPATH": str(site), "SIMBENCH_TEST_DEGRADE": "0"}
    res = run_cli("run", "--method", "gate-probe", "--suite", "static", "--size", "quick",
                  "--results", str(root / "baseline"), "--no-progress", env=env)
    assert res.returncode == 0, res.stderr
    return root / "baseline", env


def _check(baseline, env, *extra):
    return run_cli("check", "--baseline", str(baseline), "--tolerances", str(TOLERANCES), "--suite", "static",
                   "--size", "quick", *extra, env=env)


def test_degraded_method_fails_the_gate_and_restoring_it_passes(probe_baseline):
    baseline, env = probe_baseline
    degraded = _check(baseline, {**env, "SIMBENCH_TEST_DEGRADE": "0.3"}, "--method", "gate-probe")
    assert degraded.returncode == 1, degraded.stdout + degraded.stderr
    line = next(row for row in degraded.stdout.splitlines() if row.startswith("REGRESSION"))
    assert "gate-probe" in line and "static" in line and "[quick]" in line
    psnr = next(row for row in degraded.stdout.splitlines() if row.strip().startswith("psnr"))
    assert "REGRESSION" in psnr and "change -" in psnr and "dB" in psnr, degraded.stdout
    restored = _check(baseline, env, "--method", "gate-probe")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "REGRESSION" not in restored.stdout and "OK" in restored.stdout and "time:" in restored.stdout


def _edit_header(results, **fields):
    """Change fields of the stored gate-probe record's header (as an older simbench would have
    written them); returns the fields before."""
    (path,) = (results / "static" / "gate-probe").glob("*/record.json")
    header = json.loads(path.read_text())
    before = dict(header["record"])
    header["record"].update(fields)
    path.write_text(json.dumps(header))
    return before


def test_bumped_suite_version_is_stale_not_a_regression(probe_baseline, tmp_path):
    baseline, env = probe_baseline
    stale = tmp_path / "stale"
    shutil.copytree(baseline, stale)
    _edit_header(stale, suite_version="1")
    res = _check(stale, {**env, "SIMBENCH_TEST_DEGRADE": "0.3"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "STALE" in res.stdout and "static v1" in res.stdout and "REGRESSION" not in res.stdout
    assert "warning: stale" in res.stderr


def test_baseline_from_other_weights_is_stale_not_a_regression(probe_baseline, tmp_path):
    """A learned method's baseline records the sha256 of its weights (Method.artifacts): one made
    with other weights is stale, not compared."""
    baseline, env = probe_baseline
    stale = tmp_path / "stale"
    shutil.copytree(baseline, stale)
    assert _edit_header(stale, method_artifacts={"weights_sha256": "0" * 64})["method_artifacts"] == {}
    res = _check(stale, {**env, "SIMBENCH_TEST_DEGRADE": "0.3"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "STALE" in res.stdout and "other artifacts" in res.stdout and "REGRESSION" not in res.stdout


def test_no_baseline_passes_with_a_warning(tmp_path):
    (tmp_path / "static").mkdir()
    res = _check(tmp_path, {}, "--method", "widefield")
    assert res.returncode == 0 and "NO BASELINE" in res.stdout and "warning: no baseline" in res.stderr


def test_bad_input_is_one_line(tmp_path):
    res = run_cli("check", "--baseline", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    (tmp_path / "tol.toml").write_text("[metrics.psnr]\nrelative = 0.1\n")
    res = run_cli("check", "--baseline", str(tmp_path), "--tolerances", str(tmp_path / "tol.toml"))
    assert res.returncode == 2 and "needs a floor" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_tolerance_is_direction_aware_with_a_floor():
    tolerances = load_tolerances(TOLERANCES)
    assert set(tolerances) >= {"default", "psnr", "ssim", "mse", "frc", "frc_gt", "consistency"}
    assert Tolerance(floor=0.1, relative=0.01).allowed(100.0) == 1.0
    assert Tolerance(floor=0.1, relative=0.01).allowed(1.0) == 0.1
    assert MetricChange("psnr", "higher", "dB", 30.0, 29.0, 0.05).regressed
    assert not MetricChange("psnr", "higher", "dB", 30.0, 31.0, 0.05).regressed
    assert MetricChange("mse", "lower", "", 0.01, 0.02, 1e-4).regressed
    assert not MetricChange("mse", "lower", "", 0.02, 0.01, 1e-4).regressed
    assert not MetricChange("frc", "lower", "nm", 100.0, 100.5, 1.0).regressed


def _toy_record(method: str, rows: dict) -> RunRecord:
    return RunRecord(ROOT / "unused.json", "quick", {
        "suite": "toy", "size": "quick", "method": method, "n_samples": len(rows),
        "metrics": {"fwhm_x": {"direction": "target", "unit": "nm"}, "frc_gt": {"direction": "lower", "unit": "nm"}},
        "samples": {sid: {"status": "ok", "runtime_s": None, "reference": {"fwhm_x": 100.0}, **row}
                    for sid, row in rows.items()}})


def test_target_metrics_compare_closeness_and_newly_invalid_values_regress():
    tolerances = load_tolerances(TOLERANCES)
    before = _toy_record("m", {"s0": {"scores": {"fwhm_x": 110.0, "frc_gt": 150.0}},
                           "s1": {"scores": {"fwhm_x": 90.0, "frc_gt": 62.67}, "flags": {"frc_gt": ["no_crossing"]}}})
    narrower = _toy_record("m", {"s0": {"scores": {"fwhm_x": 80.0, "frc_gt": 150.0}},
                             "s1": {"scores": {"fwhm_x": 80.0, "frc_gt": 140.0}}})
    verdict = compare(before, narrower, tolerances)
    fwhm, frc = verdict.changes
    assert (fwhm.baseline, fwhm.current) == pytest.approx((0.1, 0.2)) and fwhm.regressed  # farther from 100 nm
    assert "|relative error to the target|" in fwhm.describe()
    assert (frc.baseline, frc.current) == (150.0, 150.0) and not frc.regressed  # s1 was invalid: not compared
    flagged = _toy_record("m", {"s0": {"scores": {"fwhm_x": 110.0, "frc_gt": 62.67}, "flags": {"frc_gt": ["no_crossing"]}},
                            "s1": {"scores": {"fwhm_x": 90.0, "frc_gt": 140.0}}})
    frc = compare(before, flagged, tolerances).changes[1]
    assert frc.newly_invalid == 1 and frc.regressed and "now invalid" in frc.describe()


TOL = {"default": Tolerance(floor=0.1)}


def _row(sid, status="ok", psnr=20.0):
    return {"id": sid, "status": status, "error": None if status == "ok" else "Boom",
            "scores": {"psnr": psnr, "ssim": 0.5} if status == "ok" else {}, "runtime_s": 0.1}


def _record(rows, metrics=("psnr", "ssim"), **fields):
    from pathlib import Path

    from simbench.harness.results import RunRecord

    data = {"suite": "static", "size": "quick", "method": "widefield", "samples": {r["id"]: r for r in rows},
            "metrics": {m: {"direction": "higher", "unit": ""} for m in metrics}, "complete": True, **fields}
    return RunRecord(Path("baseline"), "quick", data)


def test_a_sample_that_passed_in_the_baseline_and_fails_now_fails_the_gate():
    from simbench.harness.gate import compare, passed

    verdict = compare(_record([_row("a"), _row("b")]), _record([_row("a"), _row("b", "failed")]), TOL)
    assert verdict.status == "failed" and not passed([verdict])
    assert "1 sample(s) scored in the baseline now fail, e.g. b: Boom" in verdict.notes[0]
    assert "1 sample(s) compared" in verdict.notes


def test_a_nan_current_value_is_a_regression():
    from simbench.harness.gate import compare

    verdict = compare(_record([_row("a"), _row("b")]), _record([_row("a"), _row("b", psnr=float("nan"))]), TOL)
    psnr = next(c for c in verdict.changes if c.metric == "psnr")
    assert verdict.status == "regression" and psnr.regressed and "REGRESSION" in psnr.describe()


def test_a_metric_no_longer_scored_is_reported_not_compared():
    from simbench.harness.gate import compare

    verdict = compare(_record([_row("a")]), _record([_row("a")], metrics=("psnr",)), TOL)
    assert verdict.status == "ok" and "ssim: no longer scored" in verdict.notes
    assert [c.metric for c in verdict.changes] == ["psnr"]


@pytest.fixture
def static_now(registry):
    """(registry, static suite, fields of a baseline that is current in every respect)."""
    from simbench.harness import manifest

    suite = registry.suite("static")
    widefield = registry.methods["widefield"]
    return registry, suite, {"suite_version": suite.version, "method_version": widefield.version,
                             "suite_hash": manifest.expected(suite, "quick", suite.default_seed).content_hash,
                             "method_artifacts": widefield.artifacts()}


@pytest.mark.parametrize("change, reason", [
    ({}, ""),
    ({"suite_hash": "0" * 64}, "baseline scored on content hash 000000000000…, the suite's manifest now says"),
    ({"method_version": "0.0-old"}, "baseline made by widefield v0.0-old, the method is now v"),
    ({"complete": False}, "baseline record is incomplete"),
])
def test_stale_baselines_name_their_reason(static_now, change, reason):
    from simbench.harness.gate import _stale_reason

    registry, suite, current = static_now
    found = _stale_reason(_record([_row("a")], **{**current, **change}), suite, registry, "quick")
    assert found.startswith(reason) and bool(found) == bool(reason), found

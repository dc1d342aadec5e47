"""The regression gate: a degraded method fails it, restoring it passes, stale baselines are not compared."""
from __future__ import annotations

import json
import shutil

import pytest

from simbench.harness.gate import MetricChange, Tolerance, load_tolerances

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

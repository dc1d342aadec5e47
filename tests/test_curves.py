"""Learning-curve extrapolation: the fit recovers a known trend and inverts it; flat curves never reach
a higher target; the CLI reads the shipped curves."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from simbench.learn.curves import fit_curve, read_curve

WEIGHTS = Path(__file__).resolve().parents[1] / "plugins" / "simbench_plugins" / "weights"


def test_a_log_linear_curve_is_recovered_and_inverted():
    steps = np.arange(250, 6001, 250, dtype=float)
    noise = np.random.default_rng(1).normal(0, 0.05, steps.size)
    fit = fit_curve(steps, 20.0 + 0.5 * np.log2(steps) + noise)
    low, high = fit.slope_interval()
    assert low < 0.5 < high and abs(fit.db_per_doubling - 0.5) < 0.03 and fit.rms_db < 0.07
    at, lo, hi = fit.steps_to_reach(20.0 + 0.5 * math.log2(12000))
    assert lo < at < hi and at == pytest.approx(12000, rel=0.15)  # one doubling past the last step


def test_a_curve_that_stopped_rising_never_reaches_a_higher_target():
    steps = np.arange(250, 6001, 250, dtype=float)
    fit = fit_curve(steps, 25.0 - 1e-3 * np.log2(steps))
    assert fit.steps_to_reach(26.0)[0] == math.inf
    with pytest.raises(ValueError, match="3 or more validation points"):
        fit_curve(steps[:2], np.array([24.0, 25.0]))


def test_simbench_curve_extrapolates_the_shipped_learning_curves(tmp_path):
    path = WEIGHTS / "vsrsim-small-learning-curve.csv"
    steps, psnr = read_curve(path)
    fit = fit_curve(steps, psnr)
    assert fit.last_step == steps.max() and fit.db_per_doubling > 0
    done = run_cli("curve", str(path), "--gain", "0.2")
    assert done.returncode == 0, done.stderr
    assert f"{fit.db_per_doubling:.3f}" in done.stdout and f"{fit.steps_to_reach(fit.last_psnr_db + 0.2)[0]:,.0f}" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,loss\n1,0.5\n")
    refused = run_cli("curve", str(bad))
    assert refused.returncode == 2 and "not a learning curve" in refused.stderr

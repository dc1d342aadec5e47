"""Bootstrap confidence intervals in leaderboards and paired tests in ``simbench compare``."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from simbench.harness.leaderboard import render
from simbench.harness.stats import bootstrap_ci, paired_test

from conftest import ROOT, run_cli

COMMITTED = ROOT / "leaderboards" / "results"


def test_bootstrap_ci_is_deterministic_and_matches_the_normal_interval():
    values = np.random.default_rng(1).normal(10.0, 2.0, size=400)
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)
    assert low < values.mean() < high
    half_width = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)
    assert all(math.isnan(v) for v in bootstrap_ci([3.0]))


def test_paired_tests_are_direction_aware():
    rng = np.random.default_rng(2)
    a = rng.normal(25.0, 3.0, size=30)
    better_b = a + 0.5 + rng.normal(0, 0.2, size=30)
    better = paired_test("psnr", "higher", a, better_b)
    assert better.p_t < 1e-6 and better.p_wilcoxon < 1e-4 and better.verdict("A", "B") == "B better"
    assert paired_test("mse", "lower", a, a + 1.0 + rng.normal(0, 0.1, size=30)).verdict("A", "B") == "A better"
    same = paired_test("ssim", "higher", a, a)
    assert same.p_t == same.p_wilcoxon == 1.0 and same.verdict("A", "B") == "no significant difference"
    noise = paired_test("psnr", "higher", a, a + rng.normal(0, 1.0, size=30))
    assert noise.verdict("A", "B", alpha=1e-6) == "no significant difference"
    assert better.difference == pytest.approx(float(np.mean(better_b - a)))
    low, high = better.difference_ci
    assert low < better.difference < high and better.d_z == pytest.approx(
        better.difference / float(np.std(better_b - a, ddof=1)))
    assert same.difference == same.d_z == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        paired_test("psnr", "higher", [1.0], [2.0])


def test_leaderboard_cells_show_the_mean_with_its_bootstrap_interval():
    text = render(COMMITTED, "static", "plain", {})
    assert text == render(COMMITTED, "static", "plain", {})
    wiener = next(line for line in text.splitlines() if re.match(r"\d+\s+wiener", line))
    cell = re.split(r"\s{2,}", wiener)[3]  # rank, method, coverage, psnr, e.g. "30.73 [30.21, 31.25]"
    value, low, high = (float(x) for x in re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell).groups())
    assert low < value < high and "±" not in text


def test_compare_cli_names_the_better_method():
    res = run_cli("compare", "widefield", "wiener", "--suite", "static", "--results", str(COMMITTED))
    assert res.returncode == 0, res.stderr
    psnr = next(line for line in res.stdout.splitlines() if line.startswith("psnr"))
    assert psnr.endswith("wiener better") and "200 paired samples" in res.stdout
    assert "B − A [95 % CI]" in res.stdout and "d_z" in res.stdout
    missing = run_cli("compare", "widefield", "nope", "--suite", "static", "--results", str(COMMITTED))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1

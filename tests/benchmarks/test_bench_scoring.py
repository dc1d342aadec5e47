"""Scoring speed: every default metric of one static full sample vs the Wiener reconstruction of it.

Run: ``python -m pytest tests/benchmarks/test_bench_scoring.py --benchmark-only -s``.

Scoring is what the harness does per method and sample: the reconstruction measured by every
default metric of ``static`` (psnr, ssim, mse, frc_gt, oob).  The target's own reference values
(``oob`` of the target) are measured once per sample for all methods and timed separately.  Both
are compared with ``wiener`` reconstructing the same sample (its parameter estimation included),
measured in the same run.  Goal: scoring takes less time than the reconstruction (ratio < 1).
Speed never fails a test: above goal the benchmark warns.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from simbench_plugins.wiener import Wiener

from simbench.harness.evaluation import as_image, reference_scores, score_into
from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.suites.static import StaticSuite

RATIO_GOAL = 1.0


@pytest.fixture(scope="module")
def sample():
    return StaticSuite().make_sample(0, "full", 0)


@pytest.fixture(scope="module")
def wiener_s(sample, wall_times) -> dict[str, float]:
    """Min and median wall time (s) of Wiener reconstructing the sample, 10 repeats after a warm-up."""
    method = Wiener()
    return wall_times(lambda: method.reconstruct(sample.raw), 10)


def score(sample, metrics, image: np.ndarray) -> dict:
    row: dict = {}
    score_into(row, metrics, ScoreInput(image, sample.target, sample.target_pixel_size_nm, MetricConfig(),
                                        sample=sample))
    return row


def test_reference_scores(benchmark, registry, sample, wiener_s, capsys):
    metrics = [registry.metric(name) for name in StaticSuite.metrics]
    reference = benchmark.pedantic(reference_scores, args=(sample, metrics, MetricConfig()), rounds=10,
                                   warmup_rounds=1)
    assert set(reference["reference"]) == {"oob"}
    with capsys.disabled():
        print(f"\nreference (once per sample) {benchmark.stats['min'] * 1e3:.1f} ms (min); "
              f"wiener {wiener_s['min'] * 1e3:.1f} ms (min)")


def test_scoring_is_faster_than_the_reconstruction(benchmark, registry, sample, wiener_s, capsys):
    metrics = [registry.metric(name) for name in StaticSuite.metrics]
    image = as_image(Wiener().reconstruct(sample.raw), sample.target.shape)[0]
    row = benchmark.pedantic(score, args=(sample, metrics, image), rounds=10, warmup_rounds=1)
    assert set(row["scores"]) == set(StaticSuite.metrics)
    ratio = {stat: benchmark.stats[stat] / wiener_s[stat] for stat in ("min", "median")}
    benchmark.extra_info.update(wiener_min_s=wiener_s["min"], wiener_median_s=wiener_s["median"],
                                ratio_min=ratio["min"], ratio_median=ratio["median"], ratio_goal=RATIO_GOAL)
    with capsys.disabled():
        print(f"\nscoring {benchmark.stats['min'] * 1e3:.1f} ms (min) / {benchmark.stats['median'] * 1e3:.1f} ms "
              f"(median); wiener {wiener_s['min'] * 1e3:.1f} / {wiener_s['median'] * 1e3:.1f} ms; "
              f"ratio {ratio['min']:.2f} (min) / {ratio['median']:.2f} (median), goal < {RATIO_GOAL}")
    if ratio["median"] >= RATIO_GOAL:
        warnings.warn(f"scoring takes {ratio['median']:.2f}x the wiener reconstruction (goal < {RATIO_GOAL}x)")

"""Reference-free scoring speed: every default metric of the real-data track on one 512² real stack
(the real beads) vs the Wiener reconstruction of the same stack, measured in the same run.

Run: ``python -m pytest tests/benchmarks/test_bench_real.py --benchmark-only -s``.

Scoring is what the harness does per method and dataset of ``simbench run --suite real``: the 1024²
reconstruction measured by decorr, squirrel_rse, squirrel_rsp, oob, negatives and bead_fwhm_ratio
(the SQUIRREL fit shared by three of them).  Goal: ≤ 0.5 s; the ratio to the reconstruction is
reported beside it.  Speed never fails a test: above goal the benchmark warns.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from simbench_plugins.wiener import Wiener

from simbench.harness.evaluation import as_image, score_into
from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.suites.real import RealSuite

SIDECARS = Path(__file__).resolve().parents[2] / "datasets" / "real"
BEADS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-sim-beads"
GOAL_S = 0.5

pytestmark = pytest.mark.skipif(not BEADS.is_dir(), reason=f"real bead data not found at {BEADS}")


@pytest.fixture(scope="module")
def sample():
    suite = RealSuite(data_dir=str(SIDECARS))
    return suite.make_sample(0, "full", 0)


@pytest.fixture(scope="module")
def wiener_s(sample, wall_times) -> dict[str, float]:
    """Min and median wall time (s) of Wiener reconstructing the stack, 5 repeats after a warm-up."""
    method = Wiener()
    return wall_times(lambda: method.reconstruct(sample.raw), 5)


def score(sample, metrics, image: np.ndarray) -> dict:
    row: dict = {}
    score_into(row, metrics, ScoreInput(image, None, sample.target_pixel_size_nm, MetricConfig(), sample=sample))
    return row


def test_reference_free_scoring_of_one_real_stack(benchmark, registry, sample, wiener_s, capsys):
    metrics = [registry.metric(name) for name in RealSuite.metrics]
    image = as_image(Wiener().reconstruct(sample.raw), sample.grid_shape)[0]
    row = benchmark.pedantic(score, args=(sample, metrics, image), rounds=5, warmup_rounds=1)
    assert set(row["scores"]) == set(RealSuite.metrics)
    ratio = {stat: benchmark.stats[stat] / wiener_s[stat] for stat in ("min", "median")}
    benchmark.extra_info.update(wiener_min_s=wiener_s["min"], wiener_median_s=wiener_s["median"],
                                ratio_min=ratio["min"], ratio_median=ratio["median"], goal_s=GOAL_S)
    with capsys.disabled():
        print(f"\nreference-free scoring {benchmark.stats['min'] * 1e3:.0f} ms (min) / "
              f"{benchmark.stats['median'] * 1e3:.0f} ms (median); wiener {wiener_s['min'] * 1e3:.0f} / "
              f"{wiener_s['median'] * 1e3:.0f} ms; ratio {ratio['min']:.2f} (min) / {ratio['median']:.2f} (median); "
              f"goal ≤ {GOAL_S} s")
    if benchmark.stats["median"] > GOAL_S:
        warnings.warn(f"reference-free scoring takes {benchmark.stats['median']:.2f} s (goal ≤ {GOAL_S} s)")

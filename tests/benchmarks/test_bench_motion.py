"""Speed of the motion suites: generating a sample, measuring its flow, the whole quick suite.

Run: ``python -m pytest tests/benchmarks/test_bench_motion.py --benchmark-only -s`` (about 2 minutes:
three flow measurements of about 30 s each).
A moving sample is 9 ground-truth frames at 512² and its 9 raw frames at 256²;
its flow measurement (TV-L1 on the 8 consecutive pairs at 512², done once by
``simbench manifest`` and stored there, or during a run for a user's video) is
timed separately and reported as its share of generation + measurement.
"""
from __future__ import annotations

import time

import pytest

from simbench.phantoms.flow import measure_flow
from simbench.suites.motion import MotionExtreme, MotionFast, MotionMedium

REGIMES = {s.regime: s for s in (MotionMedium(), MotionFast(), MotionExtreme())}


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_one_sample(benchmark, regime, capsys):
    suite = REGIMES[regime]
    sample = benchmark.pedantic(suite.make_sample, args=(0, "quick", 0), rounds=3, iterations=1)
    assert sample.raw.frames.shape == (9, 256, 256) and sample.target.shape == (512, 512)
    generate_s = benchmark.stats["median"]
    flow_s = _timed(suite.measure, 0, "quick", 0)
    share = flow_s / (flow_s + generate_s)
    benchmark.extra_info.update(flow_s=flow_s, flow_share=share)
    with capsys.disabled():
        print(f"\n{suite.name}: generate {generate_s:.2f} s, flow measurement {flow_s:.1f} s "
              f"= {100 * share:.0f} % of generate + measure")


def test_quick_motion_suite(benchmark, capsys):
    """Every quick sample of the three moving regimes generated (one round), as a run generates them:
    their flow comes from the manifests (its cost per sample is :func:`test_one_sample`'s)."""
    def whole_suite() -> int:
        return sum(suite.make_sample(index, "quick", 0).raw.frames.shape[0]
                   for suite in REGIMES.values() for index in range(suite.n_samples("quick")))

    frames = benchmark.pedantic(whole_suite, rounds=1, iterations=1)
    n_samples = sum(suite.n_samples("quick") for suite in REGIMES.values())
    assert frames == 9 * n_samples
    with capsys.disabled():
        print(f"\nquick motion suite: {n_samples} samples generated in {benchmark.stats['median']:.1f} s")


@pytest.mark.parametrize("downsample", [1, 2], ids=["512", "256"])
def test_tvl1_one_pair(benchmark, downsample):
    frames = REGIMES["fast"]._scene_frames(0, "quick", 0)[0]
    flow, mask = benchmark.pedantic(measure_flow, args=(frames[3], frames[4]), kwargs={"downsample": downsample},
                                    rounds=3, iterations=1)
    assert flow.shape == (2, 512, 512) and mask.mean() > 0.5

"""Suite group `motion`: membership, determinism, manifests, frame ↔ pattern mapping, flow metadata."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.harness.digest import sample_digest
from simbench.harness.manifest import expected
from simbench.suites.motion import MotionExtreme, MotionFast, MotionMedium, MotionStatic
from simbench.suites.static import StaticSuite

MOVING = (MotionMedium(), MotionFast(), MotionExtreme())


def test_the_group_has_four_regimes_and_static_is_the_static_suite(registry):
    assert [s.name for s in registry.suite_group("motion")] == \
        ["motion/static", "motion/medium", "motion/fast", "motion/extreme"]
    a, b = MotionStatic().make_sample(1, "quick", 0), StaticSuite().make_sample(1, "quick", 0)
    assert a.id == b.id and sample_digest(a) == sample_digest(b)
    assert expected(MotionStatic(), "full", 0).content_hash == expected(StaticSuite(), "full", 0).content_hash


def test_full_sizes_are_the_papers_test_sets():
    assert [s.sizes["full"] for s in (MotionStatic(), *MOVING)] == [200, 50, 10, 10]


@pytest.fixture(scope="module")
def samples():
    return {s.regime: s.make_sample(0, "quick", 0) for s in MOVING}


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
def test_regeneration_matches_the_committed_manifest(suite, samples):
    entry = expected(suite, "quick", 0)
    assert entry is not None, f"no manifest for {suite.name}: run `simbench manifest --suite {suite.name}`"
    sample = samples[suite.regime]
    assert sample_digest(sample) == entry.digests[sample.id], \
        f"{suite.name} output changed without a version bump"


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
def test_sample_structure(suite, samples):
    s = samples[suite.regime]
    assert s.raw.frames.shape == (9, 256, 256) and s.target.shape == (512, 512)
    start = s.meta["pattern_start"]
    assert s.raw.frame_patterns == tuple((t - start) % 9 for t in range(9))  # fixed cycle, random start
    assert suite.requires_any_pattern_order
    flow = s.meta["flow"]
    assert flow["median"] > 0 and flow["max"] >= flow["median"] and "seconds" not in flow
    assert s.raw_repeat is not None and not np.array_equal(s.raw_repeat.frames, s.raw.frames)


def test_faster_regimes_have_larger_measured_flow(samples):
    medians = [samples[r].meta["flow"]["median"] for r in ("medium", "fast", "extreme")]
    assert medians[0] < medians[1] < medians[2]

"""Suite `rolling`: consecutive windows of one acquisition, every start pattern, shared frames."""
from __future__ import annotations

import numpy as np

from simbench.harness.digest import sample_digest
from simbench.harness.manifest import expected, load_manifest
from simbench.suites.rolling import RollingSuite

SUITE = RollingSuite()


def test_windows_roll_through_the_pattern_cycle_on_shared_frames():
    a, b = SUITE.make_sample(0, "quick", 0), SUITE.make_sample(1, "quick", 0)
    assert a.raw.frame_patterns == tuple(range(9))
    assert b.raw.frame_patterns == (1, 2, 3, 4, 5, 6, 7, 8, 0)  # one new frame: the next pattern
    assert np.array_equal(a.raw.frames[1:], b.raw.frames[:-1])  # the same acquisition, one frame later
    assert np.array_equal(a.raw_repeat.frames[1:], b.raw_repeat.frames[:-1])
    assert b.meta["window_end_frame"] == a.meta["window_end_frame"] + 1
    assert not np.array_equal(a.target, b.target)  # the scene moved
    assert SUITE.requires_any_pattern_order


def test_committed_manifest():
    entry = expected(SUITE, "quick", 0)
    assert entry is not None, "run `simbench manifest --suite rolling`"
    sample = SUITE.make_sample(2, "quick", 0)
    assert sample_digest(sample) == entry.digests[sample.id]


def test_window_flow_pools_the_windows_own_pairs():
    """Window j's flow is measured on sequence pairs j … j+7; neighbours share 7 of them."""
    measured = load_manifest(SUITE.manifest_name)["measurements"]
    first, second = (measured[SUITE.sample_id(i)]["flow"]["pairs"] for i in (0, 1))
    assert [p["index"] for p in first] == list(range(8)) and [p["index"] for p in second] == list(range(1, 9))
    assert first[1:] == second[:-1]
    assert 1.0 < load_manifest(SUITE.manifest_name)["summary"]["full"]["flow"]["median"] < 2.5  # medium motion

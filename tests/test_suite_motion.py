"""Suite group `motion`: membership, determinism, manifests, frame ↔ pattern mapping, flow report."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.harness.digest import sample_digest
from simbench.harness.manifest import expected, load_manifest
from simbench.phantoms import SOURCE_IMAGES, motion
from simbench.phantoms.flow import flow_statistics
from simbench.phantoms.motion import TABLE1_FLOW_PX
from simbench.suites.motion import MotionExtreme, MotionFast, MotionMedium, MotionStatic
from simbench.suites.static import StaticSuite

from conftest import stored

MOVING = (MotionMedium(), MotionFast(), MotionExtreme())
#: relative tolerance of the regime flow statistics against Table 1 (the issue's acceptance)
TABLE1_TOLERANCE = 0.15


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
    assert "flow" not in s.meta  # a measurement, kept in the manifest and copied into result rows
    assert s.raw_repeat is not None and not np.array_equal(s.raw_repeat.frames, s.raw.frames)


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
def test_pattern_start_option_fixes_the_order_and_nothing_else(suite, samples):
    """``pattern_start=0`` (as frame-delay's) gives the fixed cycle that fixed-order methods need, on the
    same scene, motion and noise: other bytes, so its own manifest, with the same measured flow."""
    drawn = samples[suite.regime]
    fixed_suite = suite.configured({"pattern_start": "0"})
    assert suite.requires_any_pattern_order and not fixed_suite.requires_any_pattern_order
    fixed = fixed_suite.make_sample(0, "quick", 0)
    assert fixed.raw.frame_patterns == tuple(range(9)) and fixed.meta["pattern_start"] == 0
    np.testing.assert_array_equal(fixed.target, drawn.target)
    assert fixed_suite.manifest_file == f"{suite.manifest_name}@pattern_start=0"
    entry = expected(fixed_suite, "quick", 0)
    assert entry is not None, f"run `simbench manifest --suite {suite.name} --suite-opt pattern_start=0`"
    assert sample_digest(fixed) == entry.digests[fixed.id]
    assert entry.content_hash != expected(suite, "quick", 0).content_hash
    assert load_manifest(fixed_suite.manifest_file)["summary"] == load_manifest(suite.manifest_name)["summary"]
    if drawn.meta["pattern_start"] != 0:
        assert sample_digest(fixed) != sample_digest(drawn)


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
@pytest.mark.parametrize("size", ["quick", "full"])
def test_regime_flow_matches_table1(suite, size):
    """The manifest's regime statistics (TV-L1 over all 8 pairs of every sample of the size)
    lie within 15 % of Table 1, and every sample of the size has its measurement."""
    manifest = load_manifest(suite.manifest_name)
    ids = expected(suite, size, 0).digests
    assert set(ids) <= set(manifest["measurements"])
    stats = manifest["summary"][size]["flow"]
    assert stats["n_samples"] == suite.sizes[size]
    for key, paper in zip(("median", "max"), TABLE1_FLOW_PX[suite.regime]):
        assert abs(stats[key] / paper - 1) <= TABLE1_TOLERANCE, (suite.name, size, key, stats[key], paper)


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
def test_manifest_flow_is_what_tvl1_measures_on_the_regenerated_frames(suite):
    """An independent re-measurement of two pairs of sample 0 (the quick check's pairs) agrees
    with the manifest's record of them (bit-exact on one machine; 2 % leaves room for
    floating-point differences between machines)."""
    sid = suite.sample_id(0)
    recorded = {p["index"]: p for p in load_manifest(suite.manifest_name)["measurements"][sid]["flow"]["pairs"]}
    frames = suite._scene_frames(0, "quick", 0)[0]
    again = flow_statistics(frames, pairs=list(motion.CHECK_PAIRS))["pairs"]
    for pair in again:
        for key in ("median", "max"):
            assert pair[key] == pytest.approx(recorded[pair["index"]][key], rel=0.02), (sid, pair["index"], key)


def test_faster_regimes_have_larger_measured_flow():
    medians = [load_manifest(s.manifest_name)["summary"]["full"]["flow"]["median"] for s in MOVING]
    assert medians[0] < medians[1] < medians[2]


@pytest.mark.parametrize("suite", MOVING, ids=lambda s: s.regime)
def test_train_pool_is_disjoint_from_the_test_samples(suite):
    """Learned methods train on make_train_sample: train-pool sources and scene seeds, other streams;
    the test samples are unchanged by its existence (their manifest still matches, above)."""
    train = [suite.make_train_sample(i, 0) for i in range(2)]
    assert [s.meta["pool"] for s in train] == ["train", "train"]
    assert SOURCE_IMAGES[train[0].meta["source"]][1] == "train"  # index 0: a scikit-image photo
    test = [suite.make_sample(i, "quick", 0) for i in range(2)]
    assert not any(np.array_equal(a.target, b.target) for a in train for b in test)
    assert {sample_digest(s) for s in train}.isdisjoint(expected(suite, "full", 0).digests.values())


def test_group_leaderboard_from_the_command_line(tmp_path, capsys):
    """`simbench leaderboard --suite motion` renders the group: one column group per regime run,
    the flow of every sample in its result row."""
    from simbench.cli import main

    assert main(["run", "--method", "widefield", "--suite", "motion/extreme", "--size", "quick",
                 "--results", str(tmp_path), "--no-progress"]) == 0
    rows = stored(tmp_path, "motion/extreme", "widefield")["samples"].values()
    measured = load_manifest("motion-extreme")["measurements"]
    assert all(row["meta"]["flow"] == measured[row["id"]]["flow"] for row in rows)
    capsys.readouterr()
    assert main(["leaderboard", "--suite", "motion", "--results", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("motion [quick]") and "extreme psnr ↑" in text.split("every metric\n", 1)[1].splitlines()[0]

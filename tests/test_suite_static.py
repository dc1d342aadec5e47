"""Suite `static`: determinism by bytes, the committed manifest, pools, what methods see."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.harness.digest import content_hash, sample_digest
from simbench.harness.manifest import DigestMismatchError, check_digest, expected, load_manifest
from simbench.phantoms import SOURCE_IMAGES, load_source
from simbench.physics import default_optics, nominal_pattern, simulate_widefield
from simbench.suites.static import StaticSuite

SUITE = StaticSuite()


@pytest.fixture(scope="module")
def quick():
    return [SUITE.make_sample(i, "quick", SUITE.default_seed) for i in range(SUITE.n_samples("quick"))]


def test_regeneration_gives_identical_bytes(quick):
    again = SUITE.make_sample(1, "quick", SUITE.default_seed)
    assert again.raw.frames.tobytes() == quick[1].raw.frames.tobytes()
    assert again.target.tobytes() == quick[1].target.tobytes()
    assert sample_digest(again) == sample_digest(quick[1])
    other_seed = SUITE.make_sample(1, "quick", SUITE.default_seed + 1)
    assert sample_digest(other_seed) != sample_digest(quick[1])


def test_committed_manifest_matches_regeneration(quick):
    """Fails when the generator's output changes without a version bump."""
    manifest = load_manifest("static")
    assert manifest is not None and manifest["version"] == SUITE.version, \
        "datasets/static.json is missing or for another version: run `simbench manifest --suite static`"
    entry = expected(SUITE, "quick", SUITE.default_seed)
    digests = [sample_digest(s) for s in quick]
    assert digests == [entry.digests[s.id] for s in quick], \
        "static suite output changed without a version bump (see `simbench manifest --help`)"
    assert content_hash(digests) == entry.content_hash
    full = manifest["sizes"]["full"]
    assert full["n"] == SUITE.n_samples("full") == 200
    assert [full["samples"][s.id] for s in quick] == digests  # quick is the head of full


def test_a_changed_sample_is_caught_by_the_manifest_check(quick):
    entry = expected(SUITE, "quick", SUITE.default_seed)
    sample = quick[0]
    altered = type(sample)(id=sample.id, raw=sample.raw, target=sample.target + np.float32(1e-6),
                           target_pixel_size_nm=sample.target_pixel_size_nm, truth=sample.truth, meta=sample.meta)
    check_digest(SUITE, entry, sample.id, sample_digest(sample))
    with pytest.raises(DigestMismatchError, match="without a version bump"):
        check_digest(SUITE, entry, sample.id, sample_digest(altered))


def test_train_and_test_pools_share_no_source():
    test_sources = {SUITE.make_sample(i, "full", 0).meta["source"] for i in range(0, 40, 2)}
    train_sources = {SUITE.make_train_sample(i, 0).meta["source"] for i in range(0, 40, 2)}
    assert test_sources and train_sources and not test_sources & train_sources
    assert all(SOURCE_IMAGES[s][1] == "test" for s in test_sources)
    assert all(SOURCE_IMAGES[s][1] == "train" for s in train_sources)
    # procedural scenes: same index, different pool → different scene
    assert not np.array_equal(SUITE.make_sample(1, "full", 0).target, SUITE.make_train_sample(1, 0).target)


def test_sample_shapes_units_and_native_resolution(quick):
    optics = default_optics()
    for s in quick:
        assert s.raw.frames.shape == (9, 256, 256) and s.raw.frames.dtype == np.float32
        assert s.target.shape == (512, 512) and s.target.dtype == np.float32
        assert s.target_pixel_size_nm == pytest.approx(optics.pixel_size_nm / 2)
        assert s.raw.frame_patterns == tuple(range(9))
        if s.meta["kind"] == "image":  # ground truth is a crop of the source pixels, never resampled
            assert np.isin(s.target, load_source(s.meta["source"])).all()
    kinds = {s.meta["kind"] for s in quick}
    assert kinds == {"image", "cells"}


def test_raw_stack_carries_nominal_not_true_parameters(quick):
    nominal = nominal_pattern(default_optics())
    for s in quick:
        assert s.raw.pattern == nominal
        true = s.truth["pattern"]
        assert true["frequency_per_um"] != nominal.frequency_per_um
        assert abs(true["frequency_per_um"] / nominal.frequency_per_um - 1) <= 0.12
        assert 0.04 <= s.meta["noise"]["gaussian_rel"] <= 0.12


def test_widefield_method_is_the_physical_widefield_image(quick, registry):
    """Mean of the 9 frames = widefield under the mean illumination ½ (SCIENCE.md §1),
    so the method's output is ½·widefield(target), bicubic ×2, up to noise."""
    s = quick[2]
    method = registry.method("widefield")()
    out = method.reconstruct(s.raw)
    from simbench import upsample_bicubic

    clean = 0.5 * upsample_bicubic(simulate_widefield(s.target, s.target_pixel_size_nm, s.raw.optics), 2)
    noise = np.mean(s.meta["noise"]["gaussian_sigma"]) / 3  # mean of 9 independent frames
    assert out.shape == s.target.shape
    assert np.sqrt(np.mean((out - clean) ** 2)) < 1.5 * noise

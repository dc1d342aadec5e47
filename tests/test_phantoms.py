"""Tests for simbench.phantoms: image pools, crops and procedural cell scenes."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.phantoms import (
    POOLS,
    SOURCE_IMAGES,
    load_source,
    pool_sources,
    random_crop,
    render_cell_scene,
    scene_rng,
    source_sha256,
)


def _pool(pool: str) -> set[str]:
    return {name for name, (_, p, _) in SOURCE_IMAGES.items() if p == pool}


def _high_frequency_fraction(image: np.ndarray, cutoff_per_px: float = 0.25) -> float:
    """Fraction of (mean-removed) spectral power above ``cutoff_per_px`` cycles/px."""
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    return float(power[np.hypot(fy, fx) > cutoff_per_px].sum() / power.sum())


def test_pools_are_disjoint_and_non_empty() -> None:
    assert set(POOLS) == {"train", "test"}
    assert {p for _, p, _ in SOURCE_IMAGES.values()} == set(POOLS)
    train, test = _pool("train"), _pool("test")
    assert train and test
    assert not train & test
    functions = {pool: {f for f, p, _ in SOURCE_IMAGES.values() if p == pool} for pool in POOLS}
    assert not functions["train"] & functions["test"]  # no image under two names


@pytest.mark.parametrize("name", sorted(SOURCE_IMAGES))
def test_every_source_loads_as_float32_grey(name: str) -> None:
    image = load_source(name)
    assert image.ndim == 2 and image.dtype == np.float32
    assert image.shape == SOURCE_IMAGES[name][2]  # the declared shape pools are chosen by
    assert 0.0 <= image.min() < image.max() <= 1.0
    assert not image.flags.writeable
    assert source_sha256(name) == source_sha256(name)
    assert len(source_sha256(name)) == 64


def test_sha256_distinguishes_images() -> None:
    assert source_sha256("camera") != source_sha256("moon")


def test_unknown_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        load_source("lily")


@pytest.mark.parametrize("pool", POOLS)
def test_each_pool_has_four_default_size_images(pool: str) -> None:
    names = pool_sources(pool, (512, 512))
    assert len(names) >= 4
    assert names == sorted(names)
    assert set(names) <= _pool(pool)


def test_pool_sources_filters_by_size() -> None:
    small = set(pool_sources("test", (100, 100)))
    large = set(pool_sources("test", (600, 600)))
    assert large < small
    assert "hubble_deep_field" in large and "camera" not in large
    assert all(min(load_source(n).shape) >= 600 for n in large)
    assert "microaneurysms" in small


def test_pool_sources_errors_when_nothing_fits() -> None:
    with pytest.raises(ValueError, match=r"'train'.*5000x5000"):
        pool_sources("train", (5000, 5000))
    with pytest.raises(ValueError, match="unknown pool"):
        pool_sources("validation", (8, 8))


def test_random_crop_is_deterministic_and_seed_dependent() -> None:
    image = load_source("camera")
    a = random_crop(image, (128, 96), np.random.default_rng(7))
    b = random_crop(image, (128, 96), np.random.default_rng(7))
    c = random_crop(image, (128, 96), np.random.default_rng(8))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_random_crop_keeps_native_pixels() -> None:
    image = load_source("cell")
    source_values = np.unique(image)
    for seed in range(8):
        crop = random_crop(image, (200, 150), np.random.default_rng(seed))
        assert crop.shape == (200, 150) and crop.dtype == np.float32
        assert crop.flags.c_contiguous and crop.flags.writeable
        assert np.isin(crop, source_values).all()


def test_random_crop_matches_a_dihedral_window() -> None:
    image = np.arange(6 * 4, dtype=np.float32).reshape(6, 4)
    variants = [np.rot90(image, k)[:, ::-1] if f else np.rot90(image, k)
                for k in range(4) for f in (False, True)]
    for seed in range(10):
        crop = random_crop(image, (3, 2), np.random.default_rng(seed))
        assert any((v[i:i + 3, j:j + 2] == crop).all() for v in variants
                   for i in range(v.shape[0] - 2) for j in range(v.shape[1] - 1))


def test_random_crop_uses_only_transforms_that_fit() -> None:
    image = np.arange(10 * 4, dtype=np.float32).reshape(10, 4)
    for seed in range(10):
        crop = random_crop(image, (8, 3), np.random.default_rng(seed))
        assert crop.shape == (8, 3)
    wide = random_crop(image, (3, 8), np.random.default_rng(0))
    assert wide.shape == (3, 8)


def test_random_crop_rejects_too_small_images() -> None:
    with pytest.raises(ValueError, match="smaller"):
        random_crop(np.zeros((10, 4), np.float32), (11, 2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="smaller"):
        random_crop(load_source("microaneurysms"), (512, 512), np.random.default_rng(0))


def test_scene_is_deterministic_and_seed_dependent() -> None:
    a = render_cell_scene((128, 128), scene_rng(3, "test", 0))
    b = render_cell_scene((128, 128), scene_rng(3, "test", 0))
    c = render_cell_scene((128, 128), scene_rng(3, "test", 1))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("shape", [(64, 96), (33, 17), (512, 512)])
def test_scene_any_size_in_unit_range(shape: tuple[int, int]) -> None:
    scene = render_cell_scene(shape, scene_rng(0, "train", 0))
    assert scene.shape == shape and scene.dtype == np.float32
    assert scene.min() >= 0.0 and scene.max() == pytest.approx(1.0)
    assert np.isfinite(scene).all()


def test_scene_is_not_blank() -> None:
    scene = render_cell_scene((256, 256), scene_rng(0, "test", 2))
    assert (scene > 0.2).mean() > 0.005   # bright structures
    assert (scene > 0.0).mean() > 0.2     # cytoplasm covers part of the field
    assert scene.std() > 0.02


def test_scene_has_pixel_scale_detail() -> None:
    # Measured over 30 scenes of 512x512: fraction 0.13-0.25 (natural images
    # 0.0002-0.19, the same scene blurred by a 1 px Gaussian 0.007).
    for index in range(3):
        scene = render_cell_scene((256, 256), scene_rng(1, "test", index))
        assert _high_frequency_fraction(scene) > 0.05


def test_pixel_size_sets_physical_scale() -> None:
    # Coarser pixels shrink every structure, so more power sits at high frequency.
    fine = render_cell_scene((256, 256), scene_rng(5, "train", 0), pixel_size_nm=15.0)
    coarse = render_cell_scene((256, 256), scene_rng(5, "train", 0), pixel_size_nm=60.0)
    assert _high_frequency_fraction(coarse, 0.1) > _high_frequency_fraction(fine, 0.1)


def test_scene_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        render_cell_scene((0, 10), np.random.default_rng(0))
    with pytest.raises(ValueError):
        render_cell_scene((10, 10), np.random.default_rng(0), pixel_size_nm=-1.0)


def test_scene_rng_pools_are_separate_streams() -> None:
    train = scene_rng(0, "train", 0).random(8)
    test = scene_rng(0, "test", 0).random(8)
    assert not np.array_equal(train, test)
    assert np.array_equal(scene_rng(0, "train", 0).random(8), train)
    assert not np.array_equal(scene_rng(0, "train", 1).random(8), train)
    with pytest.raises(ValueError, match="unknown pool"):
        scene_rng(0, "val", 0)

"""Noise model: relative Gaussian levels and Poisson statistics (SCIENCE.md §1)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from simbench.physics import NoiseModel


def clean_stack(seed: int = 0) -> np.ndarray:
    """9 frames of different brightness and contrast, (9, 128, 128)."""
    rng = np.random.default_rng(seed)
    base = rng.random((9, 128, 128), dtype=np.float32)
    return base * np.linspace(0.5, 4.0, 9, dtype=np.float32)[:, None, None] + 1.0


def test_gaussian_sigma_relative_to_each_frame_std():
    frames = clean_stack()
    for seed in range(4):
        noisy, info = NoiseModel().apply(frames, np.random.default_rng(seed))
        assert noisy.dtype == np.float32 and noisy.shape == frames.shape
        assert 0.04 <= info["gaussian_rel"] <= 0.12
        measured = (noisy - frames).std(axis=(1, 2)) / frames.std(axis=(1, 2))
        np.testing.assert_allclose(measured, info["gaussian_rel"], rtol=0.03)
        np.testing.assert_allclose(info["gaussian_sigma"], info["gaussian_rel"] * frames.std(axis=(1, 2)),
                                   rtol=1e-5)
        assert abs((noisy - frames).mean()) < 0.01 * info["gaussian_rel"] * frames.std()


def test_gaussian_level_spans_range():
    levels = [NoiseModel().apply(np.ones((1, 4, 4)) + np.eye(4), np.random.default_rng(s))[1]["gaussian_rel"]
              for s in range(300)]
    assert 0.04 <= min(levels) < 0.05 and 0.11 < max(levels) <= 0.12


def test_poisson_variance_proportional_to_mean():
    levels = np.array([0.05, 0.2, 0.5, 1.0], np.float32)
    frames = np.repeat(levels, 128 * 128 // 4).reshape(1, 128, 128)
    model = NoiseModel(gaussian_rel=(0.0, 0.0), peak_photons=400.0)
    noisy, info = model.apply(frames, np.random.default_rng(3))
    photons = noisy * info["photons_per_unit"]
    assert info["photons_per_unit"] == pytest.approx(400.0)
    np.testing.assert_allclose(photons, np.round(photons), atol=1e-3)  # whole photon counts
    for level, block in zip(levels, photons.reshape(4, -1)):
        assert block.mean() == pytest.approx(400 * level, rel=0.03)
        assert block.var() / block.mean() == pytest.approx(1.0, rel=0.08)


def test_poisson_then_gaussian_both_present():
    frames = clean_stack()
    model = NoiseModel(gaussian_rel=(0.05, 0.05), peak_photons=50.0)
    noisy, info = model.apply(frames, np.random.default_rng(9))
    residual_var = (noisy - frames).var(axis=(1, 2))
    shot_var = frames.mean(axis=(1, 2)) / info["photons_per_unit"]
    gauss_var = np.asarray(info["gaussian_sigma"]) ** 2
    np.testing.assert_allclose(residual_var, shot_var + gauss_var, rtol=0.05)


def test_deterministic_and_json_able():
    frames = clean_stack()
    model = NoiseModel(peak_photons=1000.0)
    a, info_a = model.apply(frames, np.random.default_rng(5))
    b, info_b = model.apply(frames, np.random.default_rng(5))
    c, info_c = model.apply(frames, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert info_a == info_b and info_a != info_c
    assert not np.array_equal(a, c)
    assert json.loads(json.dumps(info_a)) == info_a
    np.testing.assert_array_equal(frames, clean_stack())  # input untouched


@pytest.mark.parametrize("kwargs", [dict(gaussian_rel=(0.1, 0.05)), dict(gaussian_rel=(-0.1, 0.1)),
                                    dict(peak_photons=0.0), dict(peak_photons=-5.0)])
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        NoiseModel(**kwargs)


def test_invalid_frames():
    with pytest.raises(ValueError, match="n, H, W"):
        NoiseModel().apply(np.ones((8, 8)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive"):
        NoiseModel(peak_photons=10.0).apply(np.zeros((1, 8, 8)), np.random.default_rng(0))


def test_apply_twice_gives_independent_noise_at_the_same_level():
    clean = np.random.default_rng(5).random((9, 64, 64)).astype(np.float32)
    a, b, info = NoiseModel().apply_twice(clean, np.random.default_rng(1), np.random.default_rng(2))
    first, first_info = NoiseModel().apply(clean, np.random.default_rng(1))
    assert np.array_equal(a, first) and info == first_info  # the first realisation is apply()'s
    noise_a, noise_b = (a - clean).ravel(), (b - clean).ravel()
    assert noise_b.std() == pytest.approx(noise_a.std(), rel=0.03)  # same level
    assert abs(np.corrcoef(noise_a, noise_b)[0, 1]) < 0.02  # independent

"""Stripe patterns: defaults (SCIENCE.md §1), spectral position, phases, jitter."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simbench.physics import default_optics, illumination, jitter_pattern, nominal_pattern
from simbench.types import StripePattern

SHAPE = (256, 256)


def refined_peak(image: np.ndarray, pixel_size_nm: float, pad: int = 4) -> np.ndarray:
    """(kx, ky) in cycles/µm of the strongest non-DC spectral peak: Hann window,
    ×pad zero-padding, then a parabola through log|F| along each axis."""
    h, w = image.shape
    windowed = (image - image.mean()) * np.outer(np.hanning(h), np.hanning(w))
    mag = np.abs(np.fft.fft2(windowed, s=(pad * h, pad * w)))
    iy, ix = np.unravel_index(np.argmax(mag), mag.shape)

    def offset(lo: float, mid: float, hi: float) -> float:
        lo, mid, hi = np.log([lo, mid, hi])
        return 0.5 * (lo - hi) / (lo - 2 * mid + hi)

    fy = iy + offset(mag[iy - 1, ix], mag[iy, ix], mag[(iy + 1) % mag.shape[0], ix])
    fx = ix + offset(mag[iy, ix - 1], mag[iy, ix], mag[iy, (ix + 1) % mag.shape[1]])
    fy = fy - pad * h if fy > pad * h / 2 else fy
    fx = fx - pad * w if fx > pad * w / 2 else fx
    step_um = pixel_size_nm * 1e-3
    return np.array([fx / (pad * w * step_um), fy / (pad * h * step_um)])


def test_default_optics_match_reference_simulator():
    optics = default_optics()
    assert optics.na * optics.pixel_size_nm / optics.wavelength_nm == pytest.approx(0.9 / (2 * np.pi), rel=1e-12)
    assert optics.cutoff_per_pixel == pytest.approx(0.2865, abs=1e-4)
    assert optics.pixel_size_nm == pytest.approx(62.67, abs=0.01)
    assert (optics.na, optics.wavelength_nm, optics.refractive_index) == (1.2, 525.0, 1.33)


def test_nominal_pattern_defaults():
    optics = default_optics()
    pattern = nominal_pattern(optics)
    cycles_per_px = pattern.frequency_per_um * optics.pixel_size_nm * 1e-3
    assert cycles_per_px * 512 == pytest.approx(126.0, rel=1e-9)
    assert pattern.frequency_per_um / optics.cutoff_per_um == pytest.approx(0.859, abs=5e-4)
    np.testing.assert_allclose(pattern.angles_rad, [0, np.pi / 3, 2 * np.pi / 3])
    for phases in pattern.phases_rad:
        np.testing.assert_allclose(phases, [0, 2 * np.pi / 3, 4 * np.pi / 3])
    assert pattern.modulation == 0.8 and pattern.n_patterns == 9
    assert nominal_pattern(optics, modulation=0.5).modulation == 0.5


def test_illumination_matches_formula_pointwise():
    optics = default_optics()
    pattern = jitter_pattern(nominal_pattern(optics), np.random.default_rng(3))
    frames = illumination(pattern, (40, 56), optics.pixel_size_nm, [7, 2])
    assert frames.dtype == np.float32 and frames.shape == (2, 40, 56)
    step_um = optics.pixel_size_nm * 1e-3
    for frame, index in zip(frames, [7, 2]):
        a, p = divmod(index, 3)
        theta, phi = pattern.angles_rad[a], pattern.phases_rad[a][p]
        kx, ky = pattern.frequency_per_um * math.cos(theta), pattern.frequency_per_um * math.sin(theta)
        for row, col in [(0, 0), (5, 17), (39, 55), (21, 3)]:
            expected = 0.5 * (1 + pattern.modulation * math.cos(
                2 * math.pi * (kx * col * step_um + ky * row * step_um) + phi))
            assert frame[row, col] == pytest.approx(expected, abs=2e-6)


def test_illumination_index_mapping():
    optics = default_optics()
    pattern = jitter_pattern(nominal_pattern(optics), np.random.default_rng(0))
    full = illumination(pattern, (32, 48), optics.pixel_size_nm, range(9))
    np.testing.assert_array_equal(illumination(pattern, (32, 48), optics.pixel_size_nm, [5, 0, 5]),
                                  full[[5, 0, 5]])
    with pytest.raises(ValueError, match="pattern indices"):
        illumination(pattern, (32, 48), optics.pixel_size_nm, [9])


@pytest.mark.parametrize("seed", [None, 11])
def test_spectral_peaks_at_requested_frequency_and_angle(seed):
    optics = default_optics()
    pattern = nominal_pattern(optics)
    if seed is not None:  # jittered: frequency and angles off any grid alignment
        pattern = jitter_pattern(pattern, np.random.default_rng(seed))
    frames = illumination(pattern, SHAPE, optics.pixel_size_nm, range(0, 9, 3))
    for frame, theta in zip(frames, pattern.angles_rad):
        k = refined_peak(frame.astype(np.float64), optics.pixel_size_nm)
        assert np.hypot(*k) == pytest.approx(pattern.frequency_per_um, rel=0.01)
        angle_err = (math.atan2(k[1], k[0]) - theta + np.pi / 2) % np.pi - np.pi / 2
        assert abs(np.rad2deg(angle_err)) < 0.5


def test_phases_mean_and_modulation_recovered():
    optics = default_optics()
    pattern = jitter_pattern(nominal_pattern(optics, modulation=0.7), np.random.default_rng(5))
    frames = illumination(pattern, SHAPE, optics.pixel_size_nm, range(9)).astype(np.float64)
    window = np.outer(np.hanning(SHAPE[0]), np.hanning(SHAPE[1]))
    rows, cols = np.indices(SHAPE) * optics.pixel_size_nm * 1e-3
    for index, frame in enumerate(frames):
        a, p = divmod(index, 3)
        theta = pattern.angles_rad[a]
        k = pattern.frequency_per_um * np.array([math.cos(theta), math.sin(theta)])
        mean = (window * frame).sum() / window.sum()
        # projection onto exp(−2πi k·r): (m/4)·exp(iφ) for ½(1 + m cos(2π k·r + φ))
        c = (window * (frame - mean) * np.exp(-2j * np.pi * (k[0] * cols + k[1] * rows))).sum() / window.sum()
        assert mean == pytest.approx(0.5, abs=1e-3)
        assert 4 * abs(c) == pytest.approx(pattern.modulation, rel=0.01)
        phase_err = (np.angle(c) - pattern.phases_rad[a][p] + np.pi) % (2 * np.pi) - np.pi
        assert abs(phase_err) < 0.01
        assert frame.min() == pytest.approx(0.5 * (1 - 0.7), abs=2e-3)
        assert frame.max() == pytest.approx(0.5 * (1 + 0.7), abs=2e-3)


def test_jitter_within_ranges_and_distribution():
    nominal = nominal_pattern(default_optics())
    rng = np.random.default_rng(1)
    draws = [jitter_pattern(nominal, rng) for _ in range(2000)]
    freq_factor = np.array([d.frequency_per_um for d in draws]) / nominal.frequency_per_um
    rotation = np.rad2deg(np.array([d.angles_rad for d in draws]) - nominal.angles_rad)
    phase_err = np.rad2deg(np.array([d.phases_rad for d in draws]) - np.array(nominal.phases_rad))
    assert freq_factor.min() >= 0.88 and freq_factor.max() <= 1.12
    assert freq_factor.std() == pytest.approx(0.24 / math.sqrt(12), rel=0.1)
    np.testing.assert_allclose(rotation, rotation[:, :1].repeat(3, axis=1), atol=1e-9)  # common rotation
    assert np.abs(rotation).max() <= 9.5
    assert rotation[:, 0].std() == pytest.approx(math.sqrt((9 ** 2 + 10 ** 2) / 12), rel=0.1)
    assert np.abs(phase_err).max() <= 4.5
    assert phase_err.std() == pytest.approx(9 / math.sqrt(12), rel=0.1)
    assert np.abs(np.corrcoef(phase_err.reshape(len(draws), 9).T) - np.eye(9)).max() < 0.15  # independent
    assert all(d.modulation == nominal.modulation for d in draws)


def test_jitter_deterministic_and_nominal_untouched():
    nominal = nominal_pattern(default_optics())
    reference = nominal_pattern(default_optics())
    first = jitter_pattern(nominal, np.random.default_rng(42))
    assert jitter_pattern(nominal, np.random.default_rng(42)) == first
    assert jitter_pattern(nominal, np.random.default_rng(43)) != first
    assert nominal == reference
    assert isinstance(first, StripePattern) and first.n_patterns == 9

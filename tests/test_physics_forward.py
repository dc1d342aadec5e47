"""SIM forward model D_i = (S·I_i) ⊗ PSF sampled on the raw grid (SCIENCE.md §1)."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.physics import (
    default_optics,
    illumination,
    jitter_pattern,
    nominal_pattern,
    otf2d,
    radial_freq_per_um,
    simulate_sim2d,
    simulate_widefield,
    widefield_adjoint,
)
from simbench.types import Optics, StripePattern

OPTICS = default_optics()
OBJ_PX = OPTICS.pixel_size_nm / 2
RNG_SEED = 7


def random_object(shape=(128, 160), seed=RNG_SEED) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def jittered() -> StripePattern:
    return jitter_pattern(nominal_pattern(OPTICS), np.random.default_rng(RNG_SEED))


def grid_aligned_pattern(shape: tuple[int, int], cycles: tuple[tuple[int, int], ...]) -> StripePattern:
    """Pattern whose wave vectors are whole cycles (cx, cy) across the object field."""
    h, w = shape
    k = [(cx / (w * OBJ_PX * 1e-3), cy / (h * OBJ_PX * 1e-3)) for cx, cy in cycles]
    freqs = {round(float(np.hypot(*kk)), 9) for kk in k}
    assert len(freqs) == 1, "all wave vectors need the same length"
    return StripePattern(frequency_per_um=float(np.hypot(*k[0])),
                         angles_rad=tuple(float(np.arctan2(ky, kx)) for kx, ky in k),
                         phases_rad=((0.0, 2 * np.pi / 3, 4 * np.pi / 3),) * len(k),
                         modulation=0.8)


def test_output_shape_dtype():
    frames = simulate_sim2d(random_object(), OBJ_PX, OPTICS, jittered(), [4, 5, 6, 7])
    assert frames.shape == (4, 64, 80) and frames.dtype == np.float32
    widefield = simulate_widefield(random_object(), OBJ_PX, OPTICS)
    assert widefield.shape == (64, 80) and widefield.dtype == np.float32


def test_matches_fine_grid_convolution_then_point_sampling():
    """Independent path: full complex FFT convolution with the OTF on the object
    grid in float64, then keep every 2nd pixel.  Equal because the OTF vanishes
    below the raw Nyquist frequency (crop + Nyquist handling exact)."""
    obj, pattern = random_object((96, 130)), jittered()
    frames = simulate_sim2d(obj, OBJ_PX, OPTICS, pattern, range(9))
    products = illumination(pattern, obj.shape, OBJ_PX, range(9)).astype(np.float64) * obj
    otf = otf2d(obj.shape, OBJ_PX, OPTICS).astype(np.float64)
    blurred = np.fft.ifft2(np.fft.fft2(products) * otf).real
    np.testing.assert_allclose(frames, blurred[:, ::2, ::2], atol=2e-5 * blurred.max())


def test_linearity():
    pattern, a, b = jittered(), random_object(seed=1), random_object(seed=2)
    combined = simulate_sim2d(2.5 * a - 0.75 * b, OBJ_PX, OPTICS, pattern, range(9))
    separate = 2.5 * simulate_sim2d(a, OBJ_PX, OPTICS, pattern, range(9)) \
        - 0.75 * simulate_sim2d(b, OBJ_PX, OPTICS, pattern, range(9))
    np.testing.assert_allclose(combined, separate, atol=1e-5 * np.abs(separate).max())


def test_uniform_object_preserves_intensity():
    widefield = simulate_widefield(np.full((64, 96), 3.0), OBJ_PX, OPTICS)
    np.testing.assert_allclose(widefield, 3.0, rtol=1e-5)
    obj = random_object()
    assert simulate_widefield(obj, OBJ_PX, OPTICS).mean() == pytest.approx(obj.mean(), rel=1e-5)


def test_uniform_object_gives_otf_attenuated_stripes_and_side_bands():
    """S = 1: D_i = ½(1 + m·OTF(k₀)·cos(2π k₀·r + φ)) exactly on the raw grid,
    so the raw spectrum holds DC and the side bands ±k₀ only."""
    shape = (192, 192)
    pattern = grid_aligned_pattern(shape, ((40, 0), (-24, 32), (24, 32)))  # |k| = 40 cycles/field
    frames = simulate_sim2d(np.ones(shape, np.float32), OBJ_PX, OPTICS, pattern, range(9))
    otf_k0 = otf2d(shape, OBJ_PX, OPTICS)[0, 40]
    attenuated = StripePattern(pattern.frequency_per_um, pattern.angles_rad, pattern.phases_rad,
                               modulation=pattern.modulation * float(otf_k0))
    expected = illumination(attenuated, (96, 96), OPTICS.pixel_size_nm, range(9))
    np.testing.assert_allclose(frames, expected, atol=1e-5)
    spectrum = np.abs(np.fft.fft2(frames[3])) / frames[3].size
    assert spectrum[0, 0] == pytest.approx(0.5, rel=1e-5)
    for iy, ix in [(32, -24), (-32, 24)]:  # ±k₀ of angle 1, in raw-grid bins
        assert spectrum[iy, ix] == pytest.approx(0.25 * 0.8 * otf_k0, rel=1e-4)
    spectrum[0, 0] = spectrum[32, -24] = spectrum[-32, 24] = 0
    assert spectrum.max() < 1e-6


def test_raw_spectrum_band_limited_to_cutoff():
    frames = simulate_sim2d(random_object((128, 128)), OBJ_PX, OPTICS, jittered(), range(9))
    spectrum = np.abs(np.fft.rfft2(frames))
    k = radial_freq_per_um((64, 64), OPTICS.pixel_size_nm, rfft=True) / OPTICS.cutoff_per_um
    beyond, inside = spectrum[:, k > 1.0].max(), spectrum[:, (k > 0.8) & (k < 0.95)].mean()
    assert beyond < 1e-5 * spectrum[:, 0, 0].min()
    assert inside > 1e3 * beyond  # a sharp edge at k_c, not an earlier roll-off


def test_phase_sum_equals_one_and_a_half_widefield():
    obj, pattern = random_object(), jittered()
    frames = simulate_sim2d(obj, OBJ_PX, OPTICS, nominal_pattern(OPTICS), range(9))
    widefield = simulate_widefield(obj, OBJ_PX, OPTICS)
    for a in range(3):
        np.testing.assert_allclose(frames[3 * a:3 * a + 3].sum(axis=0), 1.5 * widefield, rtol=1e-4, atol=1e-5)
    jittered_sum = simulate_sim2d(obj, OBJ_PX, OPTICS, pattern, range(3)).sum(axis=0)
    assert not np.allclose(jittered_sum, 1.5 * widefield, rtol=1e-4)  # phase errors break the identity


def test_bead_scaled_by_pattern_intensity_at_bead():
    obj = np.zeros((128, 128), np.float32)
    obj[50, 71] = 1.0
    pattern = jittered()
    frames = simulate_sim2d(obj, OBJ_PX, OPTICS, pattern, range(9))
    widefield = simulate_widefield(obj, OBJ_PX, OPTICS)
    at_bead = illumination(pattern, obj.shape, OBJ_PX, range(9))[:, 50, 71]
    assert np.ptp(at_bead) > 0.2
    np.testing.assert_allclose(frames, at_bead[:, None, None] * widefield, atol=1e-6 * widefield.max())


def test_downsample_three_and_odd_raw_grid():
    obj = random_object((99, 126))  # raw grid 33 x 42: odd rows, no Nyquist row
    obj_px = OPTICS.pixel_size_nm / 3
    frames = simulate_sim2d(obj, obj_px, OPTICS, jittered(), [0, 4], downsample=3)
    assert frames.shape == (2, 33, 42)
    products = illumination(jittered(), obj.shape, obj_px, [0, 4]) * obj
    blurred = np.fft.ifft2(np.fft.fft2(products) * otf2d(obj.shape, obj_px, OPTICS)).real
    np.testing.assert_allclose(frames, blurred[:, ::3, ::3], atol=2e-5 * blurred.max())


@pytest.mark.parametrize("obj, obj_px, optics, match", [
    (np.ones((64, 64, 2)), OBJ_PX, OPTICS, "2D"),
    (np.ones((64, 63)), OBJ_PX, OPTICS, "divisible"),
    (np.ones((64, 64)), OBJ_PX * 1.01, OPTICS, "pixel_size_nm"),
    (np.where(np.eye(64) > 0, np.nan, 1.0), OBJ_PX, OPTICS, "NaN"),
    (np.where(np.eye(64) > 0, np.inf, 1.0), OBJ_PX, OPTICS, "infinite"),
])
def test_clear_errors(obj, obj_px, optics, match):
    with pytest.raises(ValueError, match=match):
        simulate_sim2d(obj, obj_px, optics, nominal_pattern(optics), range(9))
    with pytest.raises(ValueError, match=match):
        simulate_widefield(obj, obj_px, optics)


UNDERSAMPLED = Optics(1.49, 515.0, 1.518, 86.7)  # the real beads: 0.502 cycles/raw pixel


def test_undersampled_raw_grid_is_sampled_with_aliasing_like_a_camera():
    """Cut-off beyond the raw Nyquist: the raw image is every 2nd pixel of the blurred object."""
    obj = random_object((64, 64))
    raw = simulate_widefield(obj, 86.7 / 2, UNDERSAMPLED)
    fine = np.fft.irfft2(np.fft.rfft2(obj) * otf2d(obj.shape, 86.7 / 2, UNDERSAMPLED, rfft=True), s=obj.shape)
    assert np.allclose(raw, fine[::2, ::2], atol=1e-5)
    with pytest.raises(ValueError, match="undersampled"):
        simulate_widefield(np.ones((64, 64)), 86.7, UNDERSAMPLED, downsample=1)


@pytest.mark.parametrize("optics, obj_px", [(OPTICS, OBJ_PX), (UNDERSAMPLED, 86.7 / 2)])
def test_widefield_adjoint_is_the_exact_transpose(optics, obj_px):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 96)).astype(np.float32)
    r = rng.standard_normal((32, 48)).astype(np.float32)
    lhs = float(np.vdot(simulate_widefield(x, obj_px, optics), r))
    rhs = float(np.vdot(x, widefield_adjoint(r, obj_px, optics)))
    assert lhs == pytest.approx(rhs, rel=1e-4)


def test_moving_object_frames_are_imaged_one_per_pattern():
    objects = np.stack([random_object((64, 64), seed=s) for s in range(3)])
    pattern = nominal_pattern(OPTICS)
    moving = simulate_sim2d(objects, OBJ_PX, OPTICS, pattern, [4, 0, 7])
    for i, k in enumerate([4, 0, 7]):
        assert np.allclose(moving[i], simulate_sim2d(objects[i], OBJ_PX, OPTICS, pattern, [k])[0], atol=1e-6)
    with pytest.raises(ValueError, match="one frame per pattern index"):
        simulate_sim2d(objects, OBJ_PX, OPTICS, pattern, [0, 1])

"""OTF / PSF against incoherent imaging theory (SCIENCE.md §6)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import j1

from simbench.physics import (
    airy_fwhm_nm,
    default_optics,
    fft_freqs_per_um,
    otf2d,
    psf2d,
    radial_freq_per_um,
    simulate_widefield,
)
from simbench.types import Optics

TIRF = Optics(na=1.49, wavelength_nm=515.0, refractive_index=1.518, pixel_size_nm=80.0)


def fwhm_px(profile: np.ndarray, upsample: int = 64) -> float:
    """FWHM (input pixels) of a band-limited periodic 1D profile: exact Fourier
    (sinc) interpolation, then linear interpolation of the half-max crossings."""
    n = profile.size
    spec = np.fft.fft(profile)
    padded = np.zeros(n * upsample, complex)
    half = n // 2
    padded[:half] = spec[:half]
    padded[-half:] = spec[-half:]  # Nyquist bin is ~0 for a band-limited profile
    fine = np.fft.ifft(padded).real * upsample
    peak = int(np.argmax(fine))
    fine = np.roll(fine, fine.size // 2 - peak)
    c, half_max = fine.size // 2, fine.max() / 2
    right = c + int(np.argmax(fine[c:] < half_max))
    left = c - int(np.argmax(fine[c::-1] < half_max))
    x_right = right - 1 + (fine[right - 1] - half_max) / (fine[right - 1] - fine[right])
    x_left = left + 1 - (fine[left + 1] - half_max) / (fine[left + 1] - fine[left])
    return (x_right - x_left) / upsample


def test_airy_fwhm_factor_matches_bessel_half_maximum():
    x = np.linspace(1.5, 1.7, 200001)
    x_half = x[np.argmin(np.abs((2 * j1(x) / x) ** 2 - 0.5))]
    optics = default_optics()
    expected = 2 * x_half / (2 * np.pi) * optics.wavelength_nm / optics.na
    assert airy_fwhm_nm(optics) == pytest.approx(expected, rel=2e-4)


@pytest.mark.parametrize("optics", [default_optics(), TIRF], ids=["default", "tirf"])
def test_widefield_bead_fwhm_matches_theory(optics):
    obj_px = optics.pixel_size_nm / 2
    bead = np.zeros((256, 256), np.float32)
    bead[128, 128] = 1.0
    image = simulate_widefield(bead, obj_px, optics)
    assert np.unravel_index(np.argmax(image), image.shape) == (64, 64)
    for profile in (image[64, :], image[:, 64]):
        fwhm_nm = fwhm_px(profile) * optics.pixel_size_nm
        assert fwhm_nm == pytest.approx(0.51 * optics.wavelength_nm / optics.na, rel=0.05)
        assert fwhm_nm == pytest.approx(airy_fwhm_nm(optics), rel=0.01)


def test_psf_is_centred_normalised_airy():
    optics = default_optics()
    psf = psf2d((128, 96), optics.pixel_size_nm, optics)
    assert psf.dtype == np.float32 and psf.shape == (128, 96)
    assert np.unravel_index(np.argmax(psf), psf.shape) == (64, 48)
    assert psf.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(psf[64, 48 - 5:48], psf[64, 48 + 5:48:-1], rtol=1e-4, atol=1e-9)
    assert fwhm_px(psf[64, :].astype(np.float64)) * optics.pixel_size_nm == pytest.approx(
        airy_fwhm_nm(optics), rel=0.01)
    otf_back = np.fft.fft2(np.fft.ifftshift(psf)).real
    np.testing.assert_allclose(otf_back, otf2d((128, 96), optics.pixel_size_nm, optics), atol=1e-5)


@pytest.mark.parametrize("shape", [(128, 128), (96, 75)])
@pytest.mark.parametrize("rfft", [False, True])
def test_otf_support_ends_at_cutoff(shape, rfft):
    optics = default_optics()
    otf = otf2d(shape, optics.pixel_size_nm, optics, rfft=rfft)
    k = radial_freq_per_um(shape, optics.pixel_size_nm, rfft) / optics.cutoff_per_um
    assert otf.dtype == np.float32
    assert otf.shape == (shape[0], shape[1] // 2 + 1 if rfft else shape[1])
    assert otf[0, 0] == 1.0
    assert np.all(otf[k >= 1.0] == 0.0)
    assert np.all(otf[k < 1.0] > 0.0)
    just_inside = (k > 0.97) & (k < 1.0)
    assert just_inside.any() and np.all(otf[just_inside] > 0)


def test_otf_closed_form_values():
    # (2/π)(acos v − v√(1−v²)) precomputed (math module) at v = 0.25, 0.5, 0.75.
    optics = Optics(na=1.0, wavelength_nm=500.0, refractive_index=1.33, pixel_size_nm=100.0)
    # k_c = 4 cycles/µm; a 200-px field of 100 nm gives 0.05 cycles/µm bins.
    otf = otf2d((200, 200), optics.pixel_size_nm, optics)
    freqs = fft_freqs_per_um(200, optics.pixel_size_nm)
    for v, expected in [(0.25, 0.685038), (0.5, 0.391002), (0.75, 0.144293)]:
        col = int(np.argmin(np.abs(freqs - v * 4.0)))
        assert freqs[col] == pytest.approx(v * 4.0)
        assert otf[0, col] == pytest.approx(expected, abs=1e-5)
        assert otf[col, 0] == pytest.approx(expected, abs=1e-5)


def test_otf_equals_pupil_autocorrelation():
    """Independent physics: the incoherent OTF is the normalised autocorrelation
    of the circular pupil of radius NA/λ (evaluated numerically)."""
    optics = default_optics()
    n, px = 512, optics.pixel_size_nm / 2  # fine grid: pupil radius ≈ 73 bins
    k = radial_freq_per_um((n, n), px)
    pupil = (k <= optics.na / (optics.wavelength_nm * 1e-3)).astype(float)
    autocorr = np.fft.fft2(np.abs(np.fft.ifft2(pupil)) ** 2).real
    np.testing.assert_allclose(otf2d((n, n), px, optics), autocorr / autocorr[0, 0], atol=0.01)


@pytest.mark.parametrize("shape", [(64, 64), (64, 81), (33, 50)])
def test_rfft_layout_is_left_half_of_full_layout(shape):
    optics = default_optics()
    full = otf2d(shape, optics.pixel_size_nm, optics)
    half = otf2d(shape, optics.pixel_size_nm, optics, rfft=True)
    np.testing.assert_array_equal(half, full[:, : shape[1] // 2 + 1])
    assert np.fft.rfft2(np.zeros(shape)).shape == half.shape


def test_sim_support_is_cutoff_plus_pattern_frequency():
    """2-beam SIM transmits object frequencies up to k_c + k0."""
    from simbench.physics import sim_support_per_um

    optics = default_optics()
    assert sim_support_per_um(optics, 3.9) == pytest.approx(2 * optics.na / (optics.wavelength_nm * 1e-3) + 3.9)
    assert sim_support_per_um(optics, 0.0) == pytest.approx(optics.cutoff_per_um)  # no pattern: widefield
    with pytest.raises(ValueError, match="frequency"):
        sim_support_per_um(optics, -1.0)

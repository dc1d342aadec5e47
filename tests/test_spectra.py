"""Noise and object power spectra (simbench.physics.spectra) against known spectra."""
from __future__ import annotations

import numpy as np
import pytest

from simbench import Optics
from simbench.physics import default_optics, estimate_power_spectra, otf2d, radial_freq_per_um


def power_law_image(shape: tuple[int, int], pixel_size_nm: float, optics: Optics, exponent: float,
                    amplitude: float, sigma: float, seed: int) -> np.ndarray:
    """OTF-blurred random object with E|Ô(f)|² = amplitude·|f|^−exponent (|FFT|² units), plus
    white Gaussian noise of standard deviation ``sigma``."""
    rng = np.random.default_rng(seed)
    k = radial_freq_per_um(shape, pixel_size_nm).copy()
    k[0, 0] = np.inf  # no mean
    white = np.fft.fft2(rng.standard_normal(shape)) / np.sqrt(shape[0] * shape[1])  # E|.|² = 1
    obj = white * np.sqrt(amplitude * k ** -exponent)
    image = np.fft.ifft2(obj * otf2d(shape, pixel_size_nm, optics)).real
    return image + sigma * rng.standard_normal(shape)


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0])
def test_recovers_noise_power_and_object_exponent(exponent: float) -> None:
    """Noise power σ²·N (white, unnormalised FFT) within 5 %, the object's power-law exponent
    within 0.1 and its amplitude within 25 %, on a Nyquist-sampled 256² image.  (At 10× the
    noise the fit range shrinks to where SNR > 1, ≈ 0.05–0.3 k_c, and the exponent scatters
    by ± 0.2 between noise draws.)"""
    optics = default_optics()
    shape, sigma, amplitude = (256, 256), 0.005, 1e3
    image = power_law_image(shape, optics.pixel_size_nm, optics, exponent, amplitude, sigma, seed=int(exponent))
    spectra = estimate_power_spectra(image, optics.pixel_size_nm, optics)
    assert spectra.noise_power == pytest.approx(sigma ** 2 * image.size, rel=0.05)
    assert spectra.exponent == pytest.approx(exponent, abs=0.1)
    assert spectra.amplitude == pytest.approx(amplitude, rel=0.25)
    ratio = spectra.noise_to_object(np.array([0.0, 1.0, 2.0]))
    assert ratio[0] == 0.0
    assert ratio[2] / ratio[1] == pytest.approx(2.0 ** spectra.exponent, rel=1e-4)


def test_noise_free_and_featureless_images() -> None:
    """Noise-free data give (next to) no regularisation; pure noise gives a flat object spectrum at the
    noise level (ratio 1: the Wiener filter then keeps little)."""
    optics = default_optics()
    clean = power_law_image((128, 128), optics.pixel_size_nm, optics, 2.0, 1e3, 0.0, seed=0)
    assert estimate_power_spectra(clean, optics.pixel_size_nm, optics).noise_to_object(np.ones(3)).max() < 1e-6
    noise = np.random.default_rng(1).standard_normal((128, 128))
    spectra = estimate_power_spectra(noise, optics.pixel_size_nm, optics)
    assert spectra.exponent == 0.0
    assert spectra.noise_to_object(np.array([3.0])) == pytest.approx(1.0)


def test_clear_errors() -> None:
    optics = default_optics()
    with pytest.raises(ValueError, match="2D image"):
        estimate_power_spectra(np.zeros((2, 32, 32)), optics.pixel_size_nm, optics)
    coarse = optics.pixel_size_nm * 3  # even the corners of the spectrum are below the cut-off
    with pytest.raises(ValueError, match="too little beyond the OTF cut-off"):
        estimate_power_spectra(np.zeros((64, 64)), coarse, optics)

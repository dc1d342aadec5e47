"""Incoherent 2D imaging: analytic OTF, PSF and theoretical resolution."""
from __future__ import annotations

import numpy as np

from simbench.physics.fourier import radial_freq_per_um
from simbench.types import Optics

#: FWHM of the Airy disc |2J₁(x)/x|², x = 2π·NA·r/λ: half maximum at
#: x = 1.61634, so FWHM = 2·1.61634/(2π)·λ/NA = 0.5145·λ/NA.
AIRY_FWHM_FACTOR = 0.5145


def otf_profile(v: np.ndarray) -> np.ndarray:
    """Incoherent in-focus OTF ``(2/π)(acos v − v√(1−v²))`` of v = |k|/k_c
    (SCIENCE.md §6); 1 at v = 0, exactly 0 for v ≥ 1.  float64."""
    v = np.clip(v, 0.0, 1.0)
    return (2.0 / np.pi) * (np.arccos(v) - v * np.sqrt(1.0 - v * v))


def otf2d(shape: tuple[int, int], pixel_size_nm: float, optics: Optics,
          rfft: bool = False) -> np.ndarray:
    """Analytic 2D OTF (float32) on an (H, W) grid of ``pixel_size_nm`` pixels.

    Cut-off k_c = 2·NA/λ (``optics.cutoff_per_um``); numpy's unshifted FFT
    layout (H, W), or the ``rfft2`` half-plane layout (H, W//2+1) with ``rfft``.
    Frequencies above the grid's Nyquist limit are simply absent.
    """
    k = radial_freq_per_um(shape, pixel_size_nm, rfft)
    return otf_profile(k / optics.cutoff_per_um).astype(np.float32)


def psf2d(shape: tuple[int, int], pixel_size_nm: float, optics: Optics) -> np.ndarray:
    """PSF (float32, sum 1) as the inverse FFT of :func:`otf2d`, peak at (H//2, W//2).

    Exactly the sampled (periodically wrapped) Airy pattern when the grid is
    Nyquist-sampled (``cutoff_per_um · pixel_size < 0.5 cycles/px``).
    """
    psf = np.fft.irfft2(otf2d(shape, pixel_size_nm, optics, rfft=True), s=shape)
    psf = np.fft.fftshift(psf)
    return (psf / psf.sum()).astype(np.float32)


def airy_fwhm_nm(optics: Optics) -> float:
    """Theoretical widefield FWHM 0.5145·λ/NA in nm (in-focus Airy disc)."""
    return AIRY_FWHM_FACTOR * optics.wavelength_nm / optics.na

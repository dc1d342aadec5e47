"""Incoherent 2D imaging: analytic OTF, PSF and theoretical resolution."""
from __future__ import annotations

import numpy as np

from simbench.physics.fourier import radial_freq_per_um
from simbench.types import Optics, Sample

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


def sim_support_per_um(optics: Optics, pattern_frequency_per_um: float) -> float:
    """Outer radius k_c + k₀ (cycles/µm) of the Fourier support of 2-beam SIM.

    Each illumination shifts the detection passband |k| ≤ k_c (``optics.cutoff_per_um``) by
    the stripe frequency k₀, so no acquisition with this optics and pattern carries an object
    frequency beyond k_c + k₀ (Gustafsson, J. Microsc. 198, 82 (2000)).  With several angles the
    support is a union of shifted discs inside this radius: the radius is the bound, not the shape.
    """
    if not pattern_frequency_per_um >= 0:
        raise ValueError(f"pattern frequency must be >= 0 cycles/µm; got {pattern_frequency_per_um}")
    return optics.cutoff_per_um + float(pattern_frequency_per_um)


def sample_sim_support_per_um(sample: Sample) -> float:
    """:func:`sim_support_per_um` of a sample's optics and *true* pattern frequency
    (``sample.truth["pattern"]``, else the nominal one of its raw stack)."""
    pattern = sample.truth.get("pattern") or {"frequency_per_um": sample.raw.pattern.frequency_per_um}
    return sim_support_per_um(sample.raw.optics, float(pattern["frequency_per_um"]))


def sim_limit_nm(sample: Sample) -> float:
    """The finest period (nm) a SIM acquisition of ``sample`` transmits: 1/(k_c + k₀)."""
    return 1e3 / sample_sim_support_per_um(sample)

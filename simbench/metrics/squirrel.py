"""SQUIRREL-style consistency of a reconstruction with its own raw data (no ground truth).

Culley et al., Nat. Methods 15, 263 (2018): blur the super-resolved image with a
resolution-scaling function (RSF, a 2D Gaussian of fitted σ), rescale it linearly (gain and
offset fitted by least squares) and compare it with the widefield image of the same data, the
mean of the raw frames.  Here the reconstruction is first brought onto the widefield's grid by
Fourier cropping (exact for a band-limited image), the RSF is applied in Fourier space and σ is
fitted by minimising the error.  Structure the data do not contain (a learned prior's streaks,
a grid) cannot be blurred back into the widefield image and remains as error.

``rse``: root-mean-square of ``widefield − (gain·RSF ⊗ reconstruction + offset)`` relative to the
widefield's percentile range (``MetricConfig`` percentiles, as for the fidelity metrics), so
datasets of any brightness compare; ``rsp``: their Pearson correlation (1 = consistent).
For a least-squares affine fit rse² = (1 − rsp²)·var(widefield)/range², so both are reported
but only rse is ranked.  The widefield image itself scores rse ≈ 0 by construction: consistency
says nothing about resolution, which is why the real-data track ranks it beside decorrelation
resolution (see :mod:`simbench.suites.real`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from simbench.physics.fourier import crop_rfft2, freq_grid_per_um, half_plane_weights
from simbench.physics.threads import thread_budget

#: the RSF's σ is fitted in [0, SIGMA_MAX_FACTOR × the widefield PSF's Gaussian σ]
SIGMA_MAX_FACTOR = 3.0
#: raw pixels left out along each edge of the comparison, per σ_max (the Fourier blur wraps around)
BORDER_SIGMAS = 3.0


@dataclass(frozen=True)
class SquirrelResult:
    """The fit and its scores: RSF ``sigma_nm`` (nm), ``gain`` and ``offset`` (widefield units per
    reconstruction unit, widefield units), ``rse`` (relative to the widefield's percentile range),
    ``rsp`` (Pearson), ``error_map`` (|widefield − fitted|, widefield units, on the widefield grid,
    NaN along the excluded border)."""

    sigma_nm: float
    gain: float
    offset: float
    rse: float
    rsp: float
    error_map: np.ndarray


def widefield_image(frames: np.ndarray) -> np.ndarray:
    """The widefield image of a raw SIM stack: the mean of its (n, H, W) frames, float64."""
    return np.asarray(frames, dtype=np.float64).mean(axis=0)


def _downsampled_spectrum(reconstruction: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """rfft2 of ``reconstruction`` cropped to the (coarser) grid ``shape`` of the same field of view,
    scaled so that the inverse transform keeps the mean."""
    big = np.asarray(reconstruction, dtype=np.float32)
    if big.ndim != 2 or any(b % s for b, s in zip(big.shape, shape)) or big.shape[0] // shape[0] != big.shape[1] // shape[1]:
        raise ValueError(f"reconstruction {big.shape} is not an integer multiple of the widefield grid {shape}")
    spectrum = sfft.rfft2(big, workers=thread_budget())
    scale = (shape[0] * shape[1]) / (big.shape[0] * big.shape[1])
    return crop_rfft2(spectrum, shape, np.full((shape[0], shape[1] // 2 + 1), scale))


def squirrel(reconstruction: np.ndarray, widefield: np.ndarray, widefield_pixel_nm: float,
             widefield_psf_sigma_nm: float, percentiles: tuple[float, float] = (0.1, 99.9)) -> SquirrelResult:
    """Fit the RSF σ, gain and offset mapping ``reconstruction`` (an integer multiple of the
    widefield grid, same field of view) onto ``widefield`` (pixel ``widefield_pixel_nm``, nm);
    σ is searched in [0, SIGMA_MAX_FACTOR·``widefield_psf_sigma_nm``]."""
    wf = np.asarray(widefield, dtype=np.float64)
    shape = wf.shape
    spectrum = _downsampled_spectrum(reconstruction, shape)
    fy, fx = freq_grid_per_um(shape, widefield_pixel_nm, rfft=True)
    k2_um = fy ** 2 + fx ** 2  # (cycles/µm)²
    sigma_max = SIGMA_MAX_FACTOR * widefield_psf_sigma_nm
    border = min(math.ceil(BORDER_SIGMAS * sigma_max / widefield_pixel_nm), min(shape) // 4)
    inner = (slice(border, shape[0] - border), slice(border, shape[1] - border))
    target = wf[inner].ravel()

    # σ by Parseval on the whole field (no inverse FFT per trial): with B the cropped spectrum, W the
    # widefield's and T_σ the RSF's, the best gain for σ is Re⟨B·T_σ, W⟩ / ‖B·T_σ‖² (the offset takes
    # the DC term) and the residual power ‖W‖² − Re⟨B·T_σ, W⟩² / ‖B·T_σ‖²
    weights = half_plane_weights(shape).copy()
    weights[0, 0] = 0.0
    wf_spectrum = sfft.rfft2(wf, workers=thread_budget())
    cross = weights * np.real(np.conj(spectrum) * wf_spectrum)
    power = weights * np.abs(spectrum) ** 2
    rate = -4.0 * math.pi ** 2 * 1e-6 * k2_um  # |T_σ|² = exp(rate·σ²), σ in nm

    def residual_power(sigma_nm: float) -> float:
        t2 = np.exp(rate * sigma_nm ** 2)
        den = float(np.sum(power * t2))
        return -float(np.sum(cross * np.sqrt(t2))) ** 2 / den if den > 0 else 0.0

    from scipy.optimize import minimize_scalar  # here: ~0.5 s to import, and only the real suite needs it

    best = minimize_scalar(residual_power, bounds=(0.0, sigma_max), method="bounded", options={"xatol": 0.5})
    sigma = float(best.x) if best.fun <= residual_power(0.0) else 0.0
    blurred = sfft.irfft2(spectrum * np.exp(0.5 * rate * sigma ** 2), s=shape, workers=thread_budget())
    x = blurred[inner].ravel()
    xc = x - x.mean()
    var = float(xc @ xc)
    gain = float(xc @ (target - target.mean())) / var if var > 0 else 0.0
    offset = float(target.mean() - gain * x.mean())
    model = gain * blurred + offset
    rmse = float(np.sqrt(np.mean((target - model[inner].ravel()) ** 2)))
    low, high = np.percentile(target, percentiles)
    rse = rmse / (high - low) if high > low else math.nan
    x = model[inner].ravel()
    rsp = float(np.corrcoef(x, target)[0, 1]) if np.std(x) > 0 and np.std(target) > 0 else 0.0
    error = np.full(shape, np.nan)
    error[inner] = np.abs(wf[inner] - model[inner])
    return SquirrelResult(sigma, gain, offset, float(rse), rsp, error)

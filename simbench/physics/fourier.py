"""FFT helpers: frequency grids in cycles/µm, spectrum cropping, the edge taper.

All grids follow numpy's unshifted FFT layout (``np.fft.fftfreq``); the
``rfft`` variants follow the half-plane layout of ``rfft2`` on an (H, W)
array: W//2 + 1 non-negative frequencies along the last axis.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


def read_only_cache(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """Memoise an array-valued function of a shape (a sequence of ints, its first argument, passed on
    as a tuple) and further hashable arguments; the arrays it returns are read-only (callers share them)."""
    @functools.lru_cache(maxsize=64)
    def cached(shape: tuple[int, ...], *args: Any, **kwargs: Any) -> np.ndarray:
        array = fn(shape, *args, **kwargs)
        array.flags.writeable = False
        return array

    @functools.wraps(fn)
    def call(shape: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        return cached(tuple(int(n) for n in shape), *args, **kwargs)

    return call


@functools.lru_cache(maxsize=64)
def fft_freqs_per_um(n: int, pixel_size_nm: float, rfft: bool = False) -> np.ndarray:
    """Sample frequencies (cycles/µm, float64, read-only) of an n-point FFT.

    ``rfft=True`` gives the n//2 + 1 non-negative frequencies of ``rfft``.
    """
    spacing_um = pixel_size_nm * 1e-3
    freqs = np.fft.rfftfreq(n, spacing_um) if rfft else np.fft.fftfreq(n, spacing_um)
    freqs.flags.writeable = False
    return freqs


def freq_grid_per_um(shape: tuple[int, int], pixel_size_nm: float,
                     rfft: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Broadcastable frequency grids (ky (H, 1), kx (1, W')) in cycles/µm.

    y is the row axis, x the column axis; W' = W, or W//2 + 1 with ``rfft``.
    """
    height, width = shape
    ky = fft_freqs_per_um(height, pixel_size_nm)[:, None]
    kx = fft_freqs_per_um(width, pixel_size_nm, rfft)[None, :]
    return ky, kx


@read_only_cache
def radial_freq_per_um(shape: tuple[int, int], pixel_size_nm: float,
                       rfft: bool = False) -> np.ndarray:
    """|k| in cycles/µm (float64, read-only) on the full (H, W) or rfft (H, W//2+1) grid."""
    ky, kx = freq_grid_per_um(shape, pixel_size_nm, rfft)
    return np.hypot(ky, kx)


@read_only_cache
def half_plane_weights(shape: tuple[int, int]) -> np.ndarray:
    """Weights (H, W//2+1) that turn a sum over the ``rfft2`` half plane of a real (H, W) image's
    spectrum into the sum over the full plane: 2 for columns that stand for a conjugate pair,
    1 for column 0 and (W even) the Nyquist column.  Read-only."""
    weights = np.full((shape[0], shape[1] // 2 + 1), 2.0)
    weights[:, 0] = 1.0
    if shape[1] % 2 == 0:
        weights[:, -1] = 1.0
    return weights


def crop_rfft2(spectrum: np.ndarray, shape: tuple[int, int], weight: np.ndarray) -> np.ndarray:
    """Fourier-crop a batched ``rfft2`` spectrum to a smaller grid, times ``weight``.

    ``spectrum``: (..., H, W//2+1) from ``rfft2`` of (H, W) arrays, same pixel
    frequency spacing as the (h, w) target grid (i.e. same field of view).
    ``weight``: (h, w//2+1) in the target's rfft layout.  Returns the product
    in the target's rfft layout, ready for ``irfft2(..., s=(h, w))``.

    Exact (no aliasing) when ``spectrum * weight`` vanishes at and beyond the
    target's Nyquist frequency; the target's Nyquist row (−h/2 for even h) and
    column (+w/2) then carry zeros, as they should.
    """
    height = spectrum.shape[-2]
    h, w = shape
    if h > height or w // 2 + 1 > spectrum.shape[-1]:
        raise ValueError(f"cannot crop a spectrum of grid ({height}, ·) to {shape}")
    n_pos, n_neg, n_col = (h + 1) // 2, h // 2, w // 2 + 1
    out = np.empty(spectrum.shape[:-2] + (h, n_col), dtype=np.result_type(spectrum, weight))
    np.multiply(spectrum[..., :n_pos, :n_col], weight[:n_pos], out=out[..., :n_pos, :])
    np.multiply(spectrum[..., height - n_neg:, :n_col], weight[n_pos:], out=out[..., n_pos:, :])
    return out


def pad_rfft2(spectrum: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Zero-pad a batched (..., h, w//2+1) ``rfft2`` spectrum onto a larger (H, W)
    grid's rfft layout with the same frequency spacing: the transpose of
    :func:`crop_rfft2`'s crop (for spectra that vanish at the small grid's Nyquist)."""
    h = spectrum.shape[-2]
    height, width = shape
    if h > height or spectrum.shape[-1] > width // 2 + 1:
        raise ValueError(f"cannot pad a spectrum of grid ({h}, ·) to {shape}")
    n_pos, n_neg = (h + 1) // 2, h // 2
    out = np.zeros(spectrum.shape[:-2] + (height, width // 2 + 1), dtype=spectrum.dtype)
    out[..., :n_pos, :spectrum.shape[-1]] = spectrum[..., :n_pos, :]
    out[..., height - n_neg:, :spectrum.shape[-1]] = spectrum[..., n_pos:, :]
    return out


#: Fraction of each side over which :func:`edge_taper` fades an image to 0: real frames
#: are not periodic, and their edges would add a cross of leakage to every spectrum.
EDGE_TAPER_FRACTION = 0.08


def edge_taper(shape: tuple[int, int], fraction: float = EDGE_TAPER_FRACTION) -> np.ndarray:
    """(H, W) float64 window: 1 in the middle, a cos² fade to 0 over ``fraction`` of each side."""
    def fade(n: int) -> np.ndarray:
        ramp = max(round(fraction * n), 1)
        window = np.ones(n)
        window[:ramp] = np.sin(0.5 * np.pi * (np.arange(ramp) + 0.5) / ramp) ** 2
        window[n - ramp:] = window[:ramp][::-1]
        return window
    return fade(shape[0])[:, None] * fade(shape[1])[None, :]

"""2D SIM forward model: raw frames ``D_i = (S·I_i) ⊗ PSF`` (SCIENCE.md §1).

The object S lives on a grid ``downsample`` times finer than the camera.
Products S·I_i are formed there, filtered by the OTF in Fourier space and
Fourier-cropped to the raw grid; because the OTF vanishes below the raw
Nyquist frequency the crop equals exact point sampling of the blurred image.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from simbench.physics.fourier import crop_rfft2
from simbench.physics.optics import otf2d
from simbench.physics.patterns import illumination
from simbench.types import Optics, StripePattern


def _raw_shape(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
               downsample: int) -> tuple[int, int]:
    """Validate the inputs of the forward model; return the raw (h, w) in pixels."""
    if obj.ndim != 2:
        raise ValueError(f"object must be a 2D (H, W) array; got shape {obj.shape}")
    if not isinstance(downsample, (int, np.integer)) or downsample < 1:
        raise ValueError(f"downsample must be a positive int; got {downsample!r}")
    if obj.shape[0] % downsample or obj.shape[1] % downsample:
        raise ValueError(f"object shape {obj.shape} is not divisible by downsample={downsample}")
    if not math.isclose(optics.pixel_size_nm, obj_pixel_size_nm * downsample, rel_tol=1e-6):
        raise ValueError(f"optics.pixel_size_nm={optics.pixel_size_nm} nm must equal "
                         f"obj_pixel_size_nm·downsample = {obj_pixel_size_nm}·{downsample} nm")
    if optics.cutoff_per_pixel >= 0.5:
        raise ValueError(f"raw grid undersampled: OTF cut-off {optics.cutoff_per_pixel:.4f} "
                         "cycles/px must be below the raw Nyquist limit 0.5 cycles/px")
    if not np.isfinite(obj).all():
        raise ValueError("object contains NaN or infinite values")
    return obj.shape[0] // downsample, obj.shape[1] // downsample


@lru_cache(maxsize=16)
def _raw_transfer(raw_shape: tuple[int, int], optics: Optics, downsample: int) -> np.ndarray:
    """OTF on the raw rfft grid / downsample², read-only float32.

    The 1/d² turns an unnormalised rfft2 on the object grid followed by
    irfft2 on the raw grid into intensity-preserving sampling.
    """
    transfer = otf2d(raw_shape, optics.pixel_size_nm, optics, rfft=True) / np.float32(downsample ** 2)
    transfer.flags.writeable = False
    return transfer


def _forward(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics, downsample: int,
             pattern: StripePattern | None, pattern_indices: Sequence[int]) -> np.ndarray:
    """Noise-free raw frames (n, h, w) float32; ``pattern=None`` = uniform illumination 1."""
    obj = np.asarray(obj)
    raw_shape = _raw_shape(obj, obj_pixel_size_nm, optics, downsample)
    obj = obj.astype(np.float32, copy=False)
    if pattern is None:
        products = obj[None]
    else:
        products = illumination(pattern, obj.shape, obj_pixel_size_nm, pattern_indices)
        products *= obj
    spectrum = sfft.rfft2(products, workers=-1)
    cropped = crop_rfft2(spectrum, raw_shape, _raw_transfer(raw_shape, optics, downsample))
    return sfft.irfft2(cropped, s=raw_shape, workers=-1)


def simulate_sim2d(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
                   pattern: StripePattern, pattern_indices: Sequence[int],
                   downsample: int = 2) -> np.ndarray:
    """Noise-free SIM raw frames (n, H/d, W/d) float32 of object ``obj`` (H, W).

    ``obj_pixel_size_nm``: object pixel in nm; ``optics.pixel_size_nm`` must
    equal ``obj_pixel_size_nm · downsample``.  Frame i is lit by pattern
    ``pattern_indices[i]``.  A uniform object of 1 under uniform light gives 1.
    """
    return _forward(obj, obj_pixel_size_nm, optics, downsample, pattern, pattern_indices)


def simulate_widefield(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
                       downsample: int = 2) -> np.ndarray:
    """Noise-free widefield image (H/d, W/d) float32: uniform illumination of 1."""
    return _forward(obj, obj_pixel_size_nm, optics, downsample, None, ())[0]

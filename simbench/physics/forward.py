"""2D SIM forward model: raw frames ``D_i = (S·I_i) ⊗ PSF`` (SCIENCE.md §1).

The object S lives on a grid ``downsample`` times finer than the camera;
raw pixel j sits on object pixel ``downsample·j`` (the grid convention of every
simbench method: target pixel d·j is co-located with raw pixel j).
Products S·I_i are formed there and filtered by the OTF in Fourier space.
When the OTF vanishes below the raw Nyquist frequency (all simbench suites),
the spectrum is Fourier-cropped to the raw grid: exact point sampling of the
blurred image at the cost of a small inverse FFT.  Real data sampled slightly
below Nyquist (e.g. NA 1.49 at 86.7 nm) take the general path: inverse FFT on
the object grid, then every d-th pixel (aliasing included, as on a camera).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from simbench.physics.fourier import crop_rfft2, pad_rfft2
from simbench.physics.optics import otf2d
from simbench.physics.patterns import illumination
from simbench.physics.threads import thread_budget
from simbench.types import Optics, StripePattern


def _check_grid(obj_shape: tuple[int, ...], obj_pixel_size_nm: float, optics: Optics,
                downsample: int) -> tuple[int, int]:
    """Validate the object grid against the optics; return the raw (h, w) in pixels."""
    if len(obj_shape) != 2:
        raise ValueError(f"object must be a 2D (H, W) array; got shape {tuple(obj_shape)}")
    if not isinstance(downsample, (int, np.integer)) or downsample < 1:
        raise ValueError(f"downsample must be a positive int; got {downsample!r}")
    if obj_shape[0] % downsample or obj_shape[1] % downsample:
        raise ValueError(f"object shape {tuple(obj_shape)} is not divisible by downsample={downsample}")
    if not math.isclose(optics.pixel_size_nm, obj_pixel_size_nm * downsample, rel_tol=1e-6):
        raise ValueError(f"optics.pixel_size_nm={optics.pixel_size_nm} nm must equal "
                         f"obj_pixel_size_nm·downsample = {obj_pixel_size_nm}·{downsample} nm")
    if optics.cutoff_per_pixel >= 0.5 * downsample:
        raise ValueError(f"object grid undersampled: OTF cut-off {optics.cutoff_per_pixel / downsample:.4f} "
                         "cycles/object pixel must be below its Nyquist limit 0.5")
    return obj_shape[0] // downsample, obj_shape[1] // downsample


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
    """Noise-free raw frames (n, h, w) float32; ``pattern=None`` = uniform illumination 1.
    ``obj`` is (H, W), or (n, H, W) with one object frame per raw frame (a moving object)."""
    obj = np.asarray(obj)
    grid = obj.shape[-2:]
    if obj.ndim == 3 and (pattern is None or obj.shape[0] != len(pattern_indices)):
        raise ValueError(f"object must be 2D (H, W), or (n, H, W) with one frame per pattern index; got shape "
                         f"{obj.shape} for {len(pattern_indices)} patterns")
    raw_shape = _check_grid(obj.shape if obj.ndim != 3 else grid, obj_pixel_size_nm, optics, downsample)
    if not np.isfinite(obj).all():
        raise ValueError("object contains NaN or infinite values")
    obj = obj.astype(np.float32, copy=False)
    if pattern is None:
        products = obj[None]
    else:
        products = illumination(pattern, grid, obj_pixel_size_nm, pattern_indices)
        products *= obj
    spectrum = sfft.rfft2(products, workers=thread_budget())
    if _band_limited(optics):
        cropped = crop_rfft2(spectrum, raw_shape, _raw_transfer(raw_shape, optics, downsample))
        return sfft.irfft2(cropped, s=raw_shape, workers=thread_budget())
    spectrum *= otf2d(grid, obj_pixel_size_nm, optics, rfft=True)
    blurred = sfft.irfft2(spectrum, s=grid, workers=thread_budget())
    return np.ascontiguousarray(blurred[..., ::downsample, ::downsample])


def _band_limited(optics: Optics) -> bool:
    """True when the OTF vanishes at and beyond the raw grid's Nyquist frequency."""
    return optics.cutoff_per_pixel < 0.5


def widefield_adjoint(image: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
                      downsample: int = 2) -> np.ndarray:
    """The exact transpose of :func:`simulate_widefield`: a raw-grid image (h, w)
    back onto the object grid (h·d, w·d), float32 (for iterative deconvolution)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2D (h, w); got shape {image.shape}")
    obj_shape = (image.shape[0] * downsample, image.shape[1] * downsample)
    _check_grid(obj_shape, obj_pixel_size_nm, optics, downsample)
    if _band_limited(optics):
        spectrum = sfft.rfft2(image, workers=thread_budget())
        spectrum *= otf2d(image.shape, optics.pixel_size_nm, optics, rfft=True)
        return sfft.irfft2(pad_rfft2(spectrum, obj_shape), s=obj_shape, workers=thread_budget())
    comb = np.zeros(obj_shape, np.float32)
    comb[::downsample, ::downsample] = image
    spectrum = sfft.rfft2(comb, workers=thread_budget())
    spectrum *= otf2d(obj_shape, obj_pixel_size_nm, optics, rfft=True)
    return sfft.irfft2(spectrum, s=obj_shape, workers=thread_budget())


def simulate_sim2d(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
                   pattern: StripePattern, pattern_indices: Sequence[int],
                   downsample: int = 2) -> np.ndarray:
    """Noise-free SIM raw frames (n, H/d, W/d) float32 of object ``obj`` (H, W),
    or of a moving object (n, H, W): frame i then images ``obj[i]``.

    ``obj_pixel_size_nm``: object pixel in nm; ``optics.pixel_size_nm`` must
    equal ``obj_pixel_size_nm · downsample``.  Frame i is lit by pattern
    ``pattern_indices[i]``.  A uniform object of 1 under uniform light gives 1.
    """
    return _forward(obj, obj_pixel_size_nm, optics, downsample, pattern, pattern_indices)


def simulate_widefield(obj: np.ndarray, obj_pixel_size_nm: float, optics: Optics,
                       downsample: int = 2) -> np.ndarray:
    """Noise-free widefield image (H/d, W/d) float32: uniform illumination of 1."""
    return _forward(obj, obj_pixel_size_nm, optics, downsample, None, ())[0]

"""Image resampling shared by methods and metrics."""
from __future__ import annotations

import numpy as np

from simbench.physics.threads import threaded_slabs

#: Keys cubic-convolution parameter; -0.5 reproduces quadratics exactly
#: (Keys 1981) and is what "bicubic" means in most imaging libraries.
KEYS_A = -0.5


def _keys(t: np.ndarray) -> np.ndarray:
    """Keys cubic kernel at distances ``t`` (pixels)."""
    t = np.abs(t)
    a = KEYS_A
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _axis_taps(n_in: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices (n_out, 4) and weights (n_out, 4) for one axis: output pixel
    j samples input coordinate j/factor (simbench's grid convention); edges replicated."""
    x = np.arange(n_in * factor) / factor
    base = np.floor(x).astype(np.int64)
    idx = base[:, None] + np.arange(-1, 3)[None, :]
    weights = _keys(x[:, None] - idx)
    return np.clip(idx, 0, n_in - 1), weights.astype(np.float32)


def upsample_bicubic(image: np.ndarray, factor: int = 2, z_factor: int = 1) -> np.ndarray:
    """Upsample the last two axes by an integer ``factor`` with Keys bicubic
    interpolation, on simbench's grid convention: output pixel ``factor·j`` is
    input pixel j (as for the simulator and Fourier zero-padding).  For a volume
    (z, y, x), ``z_factor`` > 1 interpolates the planes too (plane ``z_factor·p``
    is input plane p)."""
    if factor < 1 or int(factor) != factor or z_factor < 1 or int(z_factor) != z_factor:
        raise ValueError(f"factors must be positive integers, got {factor} and {z_factor}")
    image = np.asarray(image, dtype=np.float32)
    if z_factor > 1:
        if image.ndim < 3:
            raise ValueError(f"z_factor needs a volume (..., z, y, x); got shape {image.shape}")
        image = _interpolate(image, -3, z_factor)
    return _interpolate(_interpolate(image, -2, factor), -1, factor)


def _interpolate(image: np.ndarray, axis: int, factor: int) -> np.ndarray:
    """Keys bicubic upsampling of float32 ``image`` (2 or more axes) by ``factor`` along ``axis``
    (negative): the four taps summed in order, one tap at a time (no array of all taps: 4× the
    output), in slabs across another axis on :func:`threaded_slabs`' threads (the same sums)."""
    index, weights = _axis_taps(image.shape[axis], factor)
    weights = [weights[:, k].reshape((-1,) + (1,) * (-axis - 1)) for k in range(index.shape[1])]  # along the axis
    out = np.empty(image.shape[:axis] + (len(index),) + image.shape[axis:][1:], dtype=np.float32)
    across = 1 if axis == -image.ndim else 0  # the slabs' axis

    def slab(part: tuple[int, int]) -> None:
        window = (slice(None),) * across + (slice(*part),)
        source, target = image[window], out[window]
        np.multiply(np.take(source, index[:, 0], axis=axis), weights[0], out=target)
        for k in range(1, len(weights)):
            target += np.take(source, index[:, k], axis=axis) * weights[k]

    threaded_slabs(slab, image.shape[across], values=out.size)
    return out

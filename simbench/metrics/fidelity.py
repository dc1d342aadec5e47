"""Fidelity metrics (PSNR, SSIM, MSE) under two conventions.

``"normalised"`` (default, CSBDeep/CARE practice): the target is mapped by its
percentiles (``percentile_low`` → 0, ``percentile_high`` → 1, not clipped) and
the prediction is fitted to it by least squares with a scale and an offset;
the data range is max − min of the normalised target.

Sparse targets (point-like objects in an empty volume, whose high percentile is still
background; ``MetricConfig.sparse_max_fraction``): the squared errors and the SSIM map are
averaged over the *support* only: voxels where the target or the fitted prediction exceed
``support_level`` of the target's range, widened by ``support_margin_px``.  Averaged over the
whole volume, the empty background that every method reproduces put every method's PSNR
near 65 dB and SSIM above 0.99; structure a method invents away from the objects is inside
the support (its own bright voxels), so it still counts.

``"paper"`` (VSR-SIM reference evaluation): ``paper_crop_px`` pixels are
cropped from every lateral border (the last two axes), each image is min–max
scaled to 0–255 and rounded to 8 bit; the data range is 255.
"""
from __future__ import annotations

import itertools
import math
import weakref
from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from simbench.metrics.base import Metric, MetricConfig, ScoreInput
from simbench.physics.threads import threaded_map, threaded_slabs

#: Side of the Gaussian SSIM window (σ 1.5, truncated at 3.5σ) of Wang et al.
SSIM_WINDOW_PX = 11
SSIM_SIGMA_PX = 1.5
SSIM_TRUNCATE = 3.5
_SSIM_RADIUS = SSIM_WINDOW_PX // 2
#: the tiles (planes, rows, columns) a volume's SSIM map is computed in: cache-sized, each read
#: with ``_SSIM_RADIUS`` more voxels on every side
_SSIM_TILE = (24, 96, 96)


def _validate(prediction: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and finiteness; return both as arrays (not copied)."""
    pred, targ = np.asarray(prediction), np.asarray(target)
    if pred.shape != targ.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {targ.shape}")
    if pred.ndim not in (2, 3):
        raise ValueError(f"images must be 2D or 3D; got shape {pred.shape}")
    for name, image in (("prediction", pred), ("target", targ)):
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{name} contains NaN/inf")
    return pred, targ


#: values per block of the sums in :func:`affine_fit` (no volume-sized temporaries)
_SUM_CHUNK = 1 << 20


def affine_fit(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """``(scale, offset)`` of the least-squares ``scale·prediction + offset`` closest to ``target``.

    A constant prediction gets scale 0 (its best fit is the target mean); a prediction equal to
    the target gets exactly (1, 0).
    """
    pred, targ = np.ravel(prediction), np.ravel(target)
    pred_mean, targ_mean = float(pred.mean()), float(targ.mean())
    denominator = numerator = 0.0
    for start in range(0, pred.size, _SUM_CHUNK):
        pred_centred = pred[start:start + _SUM_CHUNK] - pred_mean
        denominator += float(np.einsum("i,i->", pred_centred, pred_centred))  # no BLAS: no thread-count rounding
        numerator += float(np.einsum("i,i->", pred_centred, targ[start:start + _SUM_CHUNK] - targ_mean))
    scale = numerator / denominator if denominator > 0 else 0.0
    return scale, targ_mean - scale * pred_mean


def fit_affine(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares ``scale·prediction + offset`` closest to ``target`` (:func:`affine_fit`)."""
    scale, offset = affine_fit(prediction, target)
    return scale * prediction + offset


def _percentiles(values: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """``numpy.percentile(values, q)`` (linear interpolation, float64) from a partition of the values
    as stored: no float64 copy of a float32 volume, and only the order statistics needed."""
    flat = np.ravel(values)
    position = np.asarray(q, dtype=np.float64) / 100.0 * (flat.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, flat.size - 1)
    ordered = np.partition(flat, np.unique(np.concatenate([below, above])))
    low, high = ordered[below].astype(np.float64), ordered[above].astype(np.float64)
    return low + (high - low) * (position - below)


def _prepare_normalised(pred: np.ndarray, targ: np.ndarray, config: MetricConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Percentile-normalise the target, least-squares fit the prediction to it (two float64 copies,
    made side by side on :func:`threaded_map`'s threads and worked on in place: at most two
    volume-sized arrays at a time)."""
    low, high = _percentiles(targ, (config.percentile_low, config.percentile_high))
    if high <= low:
        raise ValueError(
            f"target percentiles {config.percentile_low} and {config.percentile_high} are equal "
            f"({low:g}); cannot normalise a constant target")

    def normalised(image: np.ndarray) -> np.ndarray:
        copy = np.subtract(image, low, out=np.empty(image.shape, dtype=np.float64))  # exact cast, then − low
        copy /= high - low
        return copy

    targ, pred = threaded_map(normalised, (targ, pred), values=2 * targ.size)
    # Mapping the prediction with the target's (affine) normalisation first leaves
    # the fit unchanged but makes identical inputs come out bit-identical.
    scale, offset = affine_fit(pred, targ)
    pred *= scale
    pred += offset
    return pred, targ, float(targ.max() - targ.min())


def _to_8bit(image: np.ndarray) -> np.ndarray:
    """Min–max scale to 0–255 and round as uint8 (a constant image maps to 0)."""
    span = image.max() - image.min()
    scaled = (image - image.min()) / span * 255.0 if span > 0 else np.zeros_like(image)
    return np.rint(scaled).astype(np.uint8).astype(np.float64)


def _prepare_paper(pred: np.ndarray, targ: np.ndarray, config: MetricConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Crop the lateral borders and convert both images to 8 bit."""
    crop = config.paper_crop_px
    if min(targ.shape[-2:]) <= 2 * crop:
        raise ValueError(f"images of shape {targ.shape} are too small for a {crop}-px border crop")
    window = (Ellipsis, slice(crop, targ.shape[-2] - crop), slice(crop, targ.shape[-1] - crop))
    pred, targ = pred[window], targ[window]
    if targ.max() == targ.min():
        raise ValueError("target is constant after the border crop; cannot scale it to 8 bit")
    return _to_8bit(pred), _to_8bit(targ), 255.0


def prepare(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(prediction', target', data_range)`` per ``config.convention`` (float64)."""
    pred, targ = _validate(prediction, target)
    if config.convention == "paper":
        return _prepare_paper(pred.astype(np.float64, copy=False), targ.astype(np.float64, copy=False), config)
    return _prepare_normalised(pred, targ, config)


def support(pred: np.ndarray, targ: np.ndarray, data_range: float, config: MetricConfig) -> np.ndarray | None:
    """The voxels fidelity is averaged over for a sparse prepared target (see the module
    docstring), or None to average over all of them."""
    # the normalised target maps its percentiles to 0 and 1: sparse when 1 is a tiny share of its range
    if config.convention != "normalised" or 1.0 >= config.sparse_max_fraction * data_range:
        return None
    level = targ.min() + config.support_level * data_range
    bright = targ > level
    bright |= pred > level
    return _dilate(bright, config.support_margin_px)


def _dilate(mask: np.ndarray, margin: int) -> np.ndarray:
    """``mask`` widened by ``margin`` voxels along every axis (a box: the maximum filter of side
    2·margin + 1; voxels past the border add nothing), by shifted ORs along each axis, in slabs
    across another axis on :func:`threaded_slabs`' threads."""
    for axis in range(mask.ndim):
        widened = mask.copy()
        across = 1 if axis == 0 else 0  # the slabs' axis (a 1D mask is one slab)

        def widen(part: tuple[int, int]) -> None:
            window = (slice(None),) * across + (slice(*part),) if mask.ndim > 1 else ()
            lines, wider = np.moveaxis(mask[window], axis, 0), np.moveaxis(widened[window], axis, 0)
            for shift in range(1, min(margin, lines.shape[0] - 1) + 1):
                wider[shift:] |= lines[:-shift]
                wider[:-shift] |= lines[shift:]

        threaded_slabs(widen, mask.shape[across] if mask.ndim > 1 else 1, values=mask.size)
        mask = widened
    return mask


Prepared = tuple[np.ndarray, np.ndarray, float, np.ndarray | None]


def _prepared(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> Prepared:
    pred, targ, data_range = prepare(prediction, target, config)
    return pred, targ, data_range, support(pred, targ, data_range, config)


def _mse(prepared: Prepared) -> float:
    pred, targ, _, where = prepared
    error = (pred - targ).ravel() if where is None else pred[where] - targ[where]
    return float(np.einsum("i,i->", error, error)) / error.size


def _psnr(prepared: Prepared) -> float:
    error = _mse(prepared)
    return float("inf") if error == 0 else float(10.0 * np.log10(prepared[2] ** 2 / error))


def _window_mean(image: np.ndarray) -> np.ndarray:
    """``image`` filtered by the SSIM window (σ ``SSIM_SIGMA_PX``, mirrored borders) along every axis,
    returned with its last two axes swapped: both lateral passes run along contiguous lines."""
    def along_last(lines: np.ndarray) -> np.ndarray:
        return gaussian_filter1d(lines, SSIM_SIGMA_PX, axis=-1, mode="reflect", truncate=SSIM_TRUNCATE, output=lines)

    swapped = np.ascontiguousarray(np.swapaxes(along_last(image), -1, -2))
    along_last(swapped)
    if image.ndim == 3:
        gaussian_filter1d(swapped, SSIM_SIGMA_PX, axis=0, mode="reflect", truncate=SSIM_TRUNCATE, output=swapped)
    return swapped


def _ssim_map(pred: np.ndarray, targ: np.ndarray, data_range: float) -> np.ndarray:
    """The SSIM map of (pred, targ) with the last two axes swapped (:func:`_window_mean`)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ux, uy = _window_mean(pred.copy()), _window_mean(targ.copy())
    vx = _window_mean(pred * pred) - ux * ux
    vy = _window_mean(targ * targ) - uy * uy
    vxy = _window_mean(pred * targ) - ux * uy
    numerator = (2 * ux * uy + c1) * (2 * vxy + c2)
    return numerator / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def structural_similarity(pred: np.ndarray, targ: np.ndarray, data_range: float,
                          where: np.ndarray | None = None) -> float:
    """Mean SSIM of two 2D or 3D float64 arrays (Wang et al.: Gaussian window σ 1.5 truncated at
    3.5σ, K1 0.01, K2 0.03, population covariances, mirrored borders), over every voxel at least
    the window's radius from the border, and of those only ``where`` when given.  Equals
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, use_sample_covariance=False)``
    (to rounding) but works through a volume in cache-sized tiles (each read with the window's
    radius around it), skipping tiles with nothing to average: sparse volumes cost little.  The
    tiles run side by side on :func:`threaded_map`'s threads; their sums are added in the tiles'
    order, so the value does not depend on the threads."""
    if min(targ.shape) < SSIM_WINDOW_PX:
        raise ValueError(f"SSIM needs every axis >= {SSIM_WINDOW_PX} px; prepared shape is {targ.shape}")
    r = _SSIM_RADIUS
    counted = np.zeros(targ.shape, dtype=bool)
    counted[(slice(r, -r),) * targ.ndim] = True
    if where is not None:
        counted &= where
    tile = _SSIM_TILE if targ.ndim == 3 else targ.shape
    corners = itertools.product(*(range(0, n, t) for n, t in zip(targ.shape, tile)))
    keeps = [tuple(slice(c, min(c + t, n)) for c, t, n in zip(corner, tile, targ.shape)) for corner in corners]

    def tile_sum(keep: tuple[slice, ...]) -> tuple[float, int]:
        mask = counted[keep]
        if not mask.any():
            return 0.0, 0
        # the tile and the voxels the window reaches from it (or the mirrored border)
        block = tuple(slice(max(k.start - r, 0), min(k.stop + r, n)) for k, n in zip(keep, targ.shape))
        inner = tuple(slice(k.start - b.start, k.stop - b.start) for k, b in zip(keep, block))
        values = _ssim_map(pred[block], targ[block], data_range)[inner[:-2] + inner[:-3:-1]]
        values = values[np.swapaxes(mask, -1, -2)]
        return float(values.sum(dtype=np.float64)), values.size

    total, count = 0.0, 0
    for part, size in threaded_map(tile_sum, keeps, values=targ.size):
        total += part
        count += size
    return total / count if count else math.nan


def _ssim(prepared: Prepared) -> float:
    pred, targ, data_range, where = prepared
    return structural_similarity(pred, targ, data_range, where)


def mse(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> float:
    """Mean squared error of the prepared images (over the support of a sparse target)."""
    return _mse(_prepared(prediction, target, config))


def psnr(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> float:
    """``10·log10(data_range² / MSE)`` of the prepared images; inf when they are equal."""
    return _psnr(_prepared(prediction, target, config))


def ssim(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> float:
    """Mean SSIM (11-px Gaussian window, σ 1.5, K1 0.01, K2 0.03) of the prepared images (the
    SSIM map averaged over the support of a sparse target)."""
    return _ssim(_prepared(prediction, target, config))


_NORMALISATION = ("after percentile-normalising the target and least-squares fitting the prediction, over the "
                  "objects' support for sparse targets (convention 'paper': 8-bit min-max after a border crop)")


#: the last (ScoreInput, prepared images): the harness scores psnr, ssim and mse of one sample
#: from one ScoreInput, which is immutable, so they share one preparation.  Held through a weak
#: reference and dropped with that ScoreInput: two float64 copies of a volume are 0.5 GB
_last_prepared: list[tuple[weakref.ref, Prepared]] = []


def _forget(inputs_ref: weakref.ref) -> None:
    if _last_prepared and _last_prepared[0][0] is inputs_ref:
        _last_prepared.clear()


def _against_target(fn: Callable[[Prepared], float]) -> Callable[[ScoreInput], float]:
    def metric(inputs: ScoreInput) -> float:
        if not (_last_prepared and _last_prepared[0][0]() is inputs):
            _last_prepared.clear()  # before preparing: never two preparations at once
            inputs_ref = weakref.ref(inputs)
            _last_prepared.append((inputs_ref, _prepared(inputs.prediction, inputs.target, inputs.config)))
            weakref.finalize(inputs, _forget, inputs_ref)
        return fn(_last_prepared[0][1])

    return metric


FIDELITY_METRICS: tuple[Metric, ...] = (
    Metric("psnr", "higher", _against_target(_psnr), unit="dB", description=f"PSNR {_NORMALISATION}"),
    Metric("ssim", "higher", _against_target(_ssim), description=f"Gaussian-window SSIM {_NORMALISATION}"),
    Metric("mse", "lower", _against_target(_mse), description=f"MSE {_NORMALISATION}"),
)

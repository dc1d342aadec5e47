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

from typing import Callable

import numpy as np
from skimage.metrics import structural_similarity

from simbench.metrics.base import Metric, MetricConfig, ScoreInput

#: Side of the Gaussian SSIM window (σ 1.5, truncated at 3.5σ) of Wang et al.
SSIM_WINDOW_PX = 11
SSIM_SIGMA_PX = 1.5


def _validate(prediction: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and finiteness; return both as float64 arrays."""
    pred = np.asarray(prediction, dtype=np.float64)
    targ = np.asarray(target, dtype=np.float64)
    if pred.shape != targ.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {targ.shape}")
    if pred.ndim not in (2, 3):
        raise ValueError(f"images must be 2D or 3D; got shape {pred.shape}")
    for name, image in (("prediction", pred), ("target", targ)):
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{name} contains NaN/inf")
    return pred, targ


def fit_affine(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares ``scale·prediction + offset`` closest to ``target``.

    A constant prediction gets scale 0 (its best fit is the target mean).
    """
    pred_centred = prediction - prediction.mean()
    denominator = float(np.sum(pred_centred * pred_centred))
    scale = float(np.sum(pred_centred * (target - target.mean()))) / denominator if denominator > 0 else 0.0
    offset = target.mean() - scale * prediction.mean()
    return scale * prediction + offset


def _prepare_normalised(pred: np.ndarray, targ: np.ndarray, config: MetricConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Percentile-normalise the target, least-squares fit the prediction to it."""
    low, high = np.percentile(targ, [config.percentile_low, config.percentile_high])
    if high <= low:
        raise ValueError(
            f"target percentiles {config.percentile_low} and {config.percentile_high} are equal "
            f"({low:g}); cannot normalise a constant target")

    def normalise(image: np.ndarray) -> np.ndarray:
        return (image - low) / (high - low)

    target_n = normalise(targ)
    # Mapping the prediction with the target's (affine) normalisation first leaves
    # the fit unchanged but makes identical inputs come out bit-identical.
    prediction_n = fit_affine(normalise(pred), target_n)
    return prediction_n, target_n, float(target_n.max() - target_n.min())


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
        return _prepare_paper(pred, targ, config)
    return _prepare_normalised(pred, targ, config)


def support(pred: np.ndarray, targ: np.ndarray, data_range: float, config: MetricConfig) -> np.ndarray | None:
    """The voxels fidelity is averaged over for a sparse prepared target (see the module
    docstring), or None to average over all of them."""
    # the normalised target maps its percentiles to 0 and 1: sparse when 1 is a tiny share of its range
    if config.convention != "normalised" or 1.0 >= config.sparse_max_fraction * data_range:
        return None
    from scipy.ndimage import maximum_filter

    level = targ.min() + config.support_level * data_range
    bright = (targ > level) | (pred > level)
    return maximum_filter(bright, size=2 * config.support_margin_px + 1)


Prepared = tuple[np.ndarray, np.ndarray, float, np.ndarray | None]


def _prepared(prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> Prepared:
    pred, targ, data_range = prepare(prediction, target, config)
    return pred, targ, data_range, support(pred, targ, data_range, config)


def _mean(values: np.ndarray, where: np.ndarray | None) -> float:
    return float(np.mean(values if where is None else values[where]))


def _mse(prepared: Prepared) -> float:
    pred, targ, _, where = prepared
    return _mean((pred - targ) ** 2, where)


def _psnr(prepared: Prepared) -> float:
    error = _mse(prepared)
    return float("inf") if error == 0 else float(10.0 * np.log10(prepared[2] ** 2 / error))


def _ssim(prepared: Prepared) -> float:
    pred, targ, data_range, where = prepared
    if min(targ.shape) < SSIM_WINDOW_PX:
        raise ValueError(f"SSIM needs every axis >= {SSIM_WINDOW_PX} px; prepared shape is {targ.shape}")
    mean_ssim, ssim_map = structural_similarity(
        pred, targ, data_range=data_range, gaussian_weights=True, sigma=SSIM_SIGMA_PX,
        use_sample_covariance=False, K1=0.01, K2=0.03, full=True)
    if where is None:
        return float(mean_ssim)
    inner = (slice(SSIM_WINDOW_PX // 2, -(SSIM_WINDOW_PX // 2)),) * targ.ndim  # as skimage's mean: no border
    return _mean(ssim_map[inner], where[inner])


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
#: from one ScoreInput, which is immutable, so they share one preparation
_last_prepared: list[tuple[ScoreInput, Prepared]] = []


def _against_target(fn: Callable[[Prepared], float]) -> Callable[[ScoreInput], float]:
    def metric(inputs: ScoreInput) -> float:
        if not (_last_prepared and _last_prepared[0][0] is inputs):
            _last_prepared[:] = [(inputs, _prepared(inputs.prediction, inputs.target, inputs.config))]
        return fn(_last_prepared[0][1])

    return metric


FIDELITY_METRICS: tuple[Metric, ...] = (
    Metric("psnr", "higher", _against_target(_psnr), unit="dB", description=f"PSNR {_NORMALISATION}"),
    Metric("ssim", "higher", _against_target(_ssim), description=f"Gaussian-window SSIM {_NORMALISATION}"),
    Metric("mse", "lower", _against_target(_mse), description=f"MSE {_NORMALISATION}"),
)

"""Reference-free metrics of the real-data track: scores that need only the raw data.

Each one reads the sample's raw frames (``ScoreInput.sample``); none reads a target.
``squirrel_rse`` / ``squirrel_rsp``: consistency with the widefield image of the data
(:mod:`simbench.metrics.squirrel`); ``negatives``: the share of the reconstruction darker than the
data's background by more than :data:`NEGATIVE_DEPTH` of its range, once brought into the
widefield's intensity units by the SQUIRREL fit (strong negative lobes are ringing, SIMcheck's
intensity-histogram check, Ball et al., Sci. Rep. 5, 15915 (2015)); ``bead_fwhm_ratio``:
:mod:`simbench.metrics.beads` on samples of ``kind: beads`` (NaN on others).  Decorrelation
resolution (``decorr``) and the out-of-band power (``oob``) are the shared metrics of
:mod:`simbench.metrics.resolution` and :mod:`simbench.metrics.artefacts`.
"""
from __future__ import annotations

import math

import numpy as np

from simbench.metrics.acf import FWHM_PER_SIGMA
from simbench.metrics.base import Measurement, Metric, ScoreInput
from simbench.metrics.beads import bead_fwhm_ratio
from simbench.metrics.squirrel import SquirrelResult, squirrel, widefield_image
from simbench.physics.optics import airy_fwhm_nm
from simbench.types import Sample

#: the data's background level: this percentile of the widefield image
BACKGROUND_PERCENTILE = 1.0
#: a pixel counts as negative when darker than the background by this fraction of the widefield's
#: range (background to its ``MetricConfig.percentile_high`` percentile): noise stays above it
NEGATIVE_DEPTH = 0.05

_last: tuple[ScoreInput, SquirrelResult] | None = None


def _sample(inputs: ScoreInput, metric: str) -> Sample:
    if inputs.sample is None:
        raise ValueError(f"metric {metric!r} needs the sample's raw frames (ScoreInput.sample)")
    return inputs.sample


def squirrel_fit(inputs: ScoreInput) -> SquirrelResult:
    """:func:`~simbench.metrics.squirrel.squirrel` of the prediction against the sample's widefield
    image, computed once per ``inputs`` (the metrics of one sample share it)."""
    global _last
    if _last is not None and _last[0] is inputs:
        return _last[1]
    raw = _sample(inputs, "squirrel").raw
    result = squirrel(inputs.prediction, widefield_image(raw.frames), raw.optics.pixel_size_nm,
                      airy_fwhm_nm(raw.optics) / FWHM_PER_SIGMA,
                      (inputs.config.percentile_low, inputs.config.percentile_high))
    _last = (inputs, result)
    return result


def negative_share(prediction: np.ndarray, widefield: np.ndarray, fit: SquirrelResult, percentile_high: float) -> float:
    """Share of ``prediction``'s pixels that, in widefield units (``fit``'s gain and offset), lie below
    the widefield's background by more than :data:`NEGATIVE_DEPTH` of its range."""
    background, high = np.percentile(widefield, (BACKGROUND_PERCENTILE, percentile_high))
    level = background - NEGATIVE_DEPTH * (high - background)
    mapped = fit.gain * np.asarray(prediction, dtype=np.float64) + fit.offset
    return float(np.count_nonzero(mapped < level)) / mapped.size


def _rse(inputs: ScoreInput) -> float:
    return squirrel_fit(inputs).rse


def _rsp(inputs: ScoreInput) -> float:
    return squirrel_fit(inputs).rsp


def _negatives(inputs: ScoreInput) -> float:
    frames = _sample(inputs, "negatives").raw.frames
    return negative_share(inputs.prediction, widefield_image(frames), squirrel_fit(inputs), inputs.config.percentile_high)


def _bead_ratio(inputs: ScoreInput) -> Measurement:
    sample = _sample(inputs, "bead_fwhm_ratio")
    if sample.meta.get("kind") != "beads":
        return Measurement(math.nan)
    result = bead_fwhm_ratio(inputs.prediction, widefield_image(sample.raw.frames), inputs.pixel_size_nm,
                             airy_fwhm_nm(sample.raw.optics))
    flags = ("unreliable",) if result.n_matched < 3 else ()
    return Measurement(result.ratio, flags, result.uncertainty)


REFERENCE_FREE_METRICS: tuple[Metric, ...] = (
    Metric("squirrel_rse", "lower", _rse,
           description="SQUIRREL error: RMS of widefield − (reconstruction ⊗ fitted Gaussian, fitted gain and "
                       "offset), relative to the widefield's percentile range; invented structure raises it, and "
                       "the widefield image itself scores ≈ 0 (read it beside the resolution)"),
    Metric("squirrel_rsp", "higher", _rsp,
           description="SQUIRREL RSP: Pearson correlation of the widefield image and the blurred, fitted "
                       "reconstruction (1 = consistent with the data)"),
    Metric("negatives", "lower", _negatives,
           description="share of pixels darker than the data's background by more than 5 % of its range, in "
                       "widefield units via the SQUIRREL fit: negative lobes (ringing)"),
    Metric("bead_fwhm_ratio", "lower", _bead_ratio,
           description="median FWHM ratio reconstruction / widefield of isolated beads matched in both (bead "
                       "samples only); flagged unreliable under 3 beads; sharpening below ≈ k_c/(k_c + k0) needs "
                       "the consistency beside it"),
)

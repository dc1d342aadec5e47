"""Axial resolution of known test objects: two points, planar gratings.

Both work on an axial intensity profile (``profile`` sampled at ``z_nm``, e.g. a volume's
mean over a small lateral window around the objects) and the objects' true axial
positions in nm, which suites know from the sample's ground truth.  Peaks are the
maxima within a quarter of the spacing of each true position (reconstructions may
shift them slightly); valleys are the minima between neighbouring positions.

As metrics, both measure the prediction *after the affine fit to the target* that the fidelity
metrics use (:func:`simbench.metrics.fidelity.fit_affine`): the fitted offset is the background
model, so adding a constant to an output or scaling it changes nothing.  The values are then
clipped to their physical range (dip 0 – 100 %, contrast 0 – 1) with the ``clipped`` flag, and
scored as closeness to the target's own value (direction ``target``).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from simbench.metrics.base import Measurement, Metric, ScoreInput
from simbench.metrics.fidelity import fit_affine


def _check(profile: np.ndarray, z_nm: np.ndarray, positions_nm: np.ndarray) -> tuple[np.ndarray, ...]:
    values, z, positions = (np.asarray(a, dtype=np.float64).ravel() for a in (profile, z_nm, positions_nm))
    if values.size != z.size or values.size < 3:
        raise ValueError(f"profile and z_nm need the same length (≥ 3); got {values.size} and {z.size}")
    if not (np.all(np.isfinite(values)) and np.all(np.diff(z) > 0)):
        raise ValueError("the profile must be finite and z_nm strictly increasing")
    positions = np.sort(positions)
    if positions.size < 2 or positions[0] < z[0] or positions[-1] > z[-1]:
        raise ValueError(f"need ≥ 2 positions inside the profile's z range [{z[0]:g}, {z[-1]:g}] nm")
    return values, z, positions


def _peaks_and_valleys(values: np.ndarray, z: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    quarter = np.diff(positions).min() / 4.0
    peaks = np.array([values[np.abs(z - p) <= quarter].max(initial=np.interp(p, z, values)) for p in positions])
    valleys = np.array([values[(z > a + quarter) & (z < b - quarter)].min(initial=np.interp((a + b) / 2, z, values))
                        for a, b in itertools.pairwise(positions)])
    return peaks, valleys


def two_point_dip(profile: np.ndarray, z_nm: np.ndarray, positions_nm: tuple[float, float]) -> float:
    """Dip between two axially separated points, % of the mean peak: 100·(1 − valley/peak).
    Not clipped: negative when the profile rises between the points (unresolved), above 100
    when the valley is negative (an offset the profile should not have)."""
    values, z, positions = _check(profile, z_nm, np.asarray(positions_nm))
    peaks, valleys = _peaks_and_valleys(values, z, positions)
    peak = peaks.mean()
    if not peak > 0:
        raise ValueError("the profile has no positive peak at the points")
    return float(100.0 * (1.0 - valleys[0] / peak))


def grating_contrast(profile: np.ndarray, z_nm: np.ndarray, plane_positions_nm: np.ndarray) -> float:
    """Contrast ``(I_max − I_min)/(I_max + I_min)`` of an axial grating: mean plane peak against
    mean valley between neighbouring planes.  Not clipped: ≤ 0 when unresolved, above 1 when
    the valleys are negative."""
    values, z, positions = _check(profile, z_nm, plane_positions_nm)
    peaks, valleys = _peaks_and_valleys(values, z, positions)
    high, low = peaks.mean(), valleys.mean()
    if not high + low > 0:
        raise ValueError("the grating profile has no positive intensity")
    return float((high - low) / (high + low))


def central_axial_profile(volume: np.ndarray, pixel_size_nm: float, z_step_nm: float,
                          half_width_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Axial profile of a (z, y, x) volume on its optical axis: the mean over the lateral window
    of ``half_width_nm`` around the field centre (pixel (H/2, W/2), simbench's grid convention),
    with plane p at z = (p − P/2)·``z_step_nm``; returns (profile, z_nm), float64."""
    data = np.asarray(volume, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 3:
        raise ValueError(f"an axial profile needs a volume (z, y, x) of ≥ 3 planes; got shape {data.shape}")
    if not (pixel_size_nm > 0 and z_step_nm > 0 and half_width_nm >= 0):
        raise ValueError(f"voxel sizes must be positive; got {pixel_size_nm} nm lateral, {z_step_nm} nm axial")
    n_z, height, width = data.shape
    r = int(half_width_nm // pixel_size_nm)
    window = data[:, height // 2 - r:height // 2 + r + 1, width // 2 - r:width // 2 + r + 1]
    return window.mean(axis=(1, 2)), (np.arange(n_z) - n_z / 2) * z_step_nm


def _profile_metric(measure: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
                    upper: float) -> Callable[[ScoreInput], Measurement]:
    """``measure(profile, z_nm, positions_nm)`` of the central axial profile of the prediction
    after its affine fit to the target, clipped to [0, ``upper``] (flag ``clipped``); the
    positions and window come from ``sample.meta["axial_profile"]``, the z step from the sample."""

    def metric(inputs: ScoreInput) -> Measurement:
        sample = inputs.sample
        spec = None if sample is None else sample.meta.get("axial_profile")
        if spec is None or sample.target_z_step_nm is None:
            raise ValueError("this metric needs a 3D sample with meta['axial_profile'] (true axial positions)")
        prediction = np.asarray(inputs.prediction, dtype=np.float64)
        target = np.asarray(inputs.target, dtype=np.float64)
        if prediction.shape != target.shape:
            raise ValueError(f"prediction shape {prediction.shape} differs from target shape {target.shape}")
        profile, z_nm = central_axial_profile(fit_affine(prediction, target), inputs.pixel_size_nm,
                                              sample.target_z_step_nm, spec["half_width_nm"])
        value = measure(profile, z_nm, np.asarray(spec["positions_nm"]))
        clipped = min(max(value, 0.0), upper)
        return Measurement(clipped, ("clipped",) if clipped != value else ())

    return metric


AXIAL_METRICS: tuple[Metric, ...] = (
    Metric("two_point_dip", "target", _profile_metric(two_point_dip, 100.0), unit="%", on_target=True,
           description="dip between two axially separated points, % of the mean peak, after the affine fit to "
                       "the target, clipped to 0-100 %; closeness to the target's dip"),
    Metric("grating_contrast", "target", _profile_metric(grating_contrast, 1.0), on_target=True,
           description="axial grating contrast (I_max - I_min)/(I_max + I_min) on the optical axis after the "
                       "affine fit to the target, clipped to 0-1; closeness to the target's contrast"),
)

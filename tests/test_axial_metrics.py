"""Two-point dip and grating contrast as metrics: measured after the affine fit to the target, so
offset- and scale-invariant, clipped to their physical range, scored against the target's value."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simbench.metrics.axial import AXIAL_METRICS, central_axial_profile, grating_contrast, two_point_dip
from simbench.metrics.base import ScoreInput
from simbench.suites.axial import axial_profile_meta
from simbench.testing import mock_sample

METRICS = {m.name: m for m in AXIAL_METRICS}
SHAPE, PIXEL_NM, Z_STEP_NM = (48, 24, 24), 50.0, 100.0


def _volume(z_positions_nm: list[float], sigma_z_nm: float, sigma_px: float = 2.0) -> np.ndarray:
    """Blobs on the optical axis (pixel (H/2, W/2)) at the given z (plane p at (p − P/2)·step)."""
    z = (np.arange(SHAPE[0]) - SHAPE[0] / 2) * Z_STEP_NM
    y, x = np.ogrid[:SHAPE[1], :SHAPE[2]]
    lateral = np.exp(-0.5 * ((y - SHAPE[1] // 2) ** 2 + (x - SHAPE[2] // 2) ** 2) / sigma_px**2)
    axial = sum(np.exp(-0.5 * ((z - p) / sigma_z_nm) ** 2) for p in z_positions_nm)
    return axial[:, None, None] * lateral[None]


def _sample(positions_nm: list[float], target: np.ndarray):
    return dataclasses.replace(mock_sample((16, 16)), target=target, target_z_step_nm=Z_STEP_NM,
                               meta={"axial_profile": axial_profile_meta(np.array(positions_nm), 50.0)})


def _measure(name: str, prediction: np.ndarray, sample):
    return METRICS[name].measure(ScoreInput(prediction, sample.target, PIXEL_NM, sample=sample))


CASES = {"two_point_dip": ([-450.0, 450.0], 100.0), "grating_contrast": ([-900.0, 0.0, 900.0], 1.0)}


@pytest.mark.parametrize("name", list(CASES))
def test_offset_and_scale_invariant_and_the_target_reads_its_own_profile(name: str) -> None:
    positions, _ = CASES[name]
    sample = _sample(positions, _volume(positions, 250.0))
    function = two_point_dip if name == "two_point_dip" else grating_contrast
    profile, z = central_axial_profile(sample.target, PIXEL_NM, Z_STEP_NM, 50.0)
    itself = _measure(name, sample.target, sample)
    assert itself.flags == () and itself.value == pytest.approx(function(profile, z, np.array(positions)), rel=1e-9)
    blurred = _volume(positions, 380.0)
    base = _measure(name, blurred, sample)
    assert base.flags == () and 0 < base.value < itself.value
    for changed in (blurred + 5.0, blurred - 0.3 * blurred.max(), 7.5 * blurred, 0.01 * blurred - 2.0):
        assert _measure(name, changed, sample).value == pytest.approx(base.value, rel=1e-6)
    assert METRICS[name].direction == "target" and METRICS[name].on_target


@pytest.mark.parametrize("name", list(CASES))
def test_bounded_and_flagged_when_clipped(name: str) -> None:
    """A valley pushed below the fitted background would read above 100 % / 1, an unresolved
    profile below 0: both are clipped to the physical range and flagged."""
    positions, upper = CASES[name]
    sample = _sample(positions, _volume(positions, 250.0))
    middles = [(a + b) / 2 for a, b in zip(positions, positions[1:])]
    hole = sample.target - 1.5 * _volume(middles, 150.0)
    deep = _measure(name, hole, sample)
    assert deep.value == upper and deep.flags == ("clipped",)
    unresolved = _measure(name, _volume(positions, 250.0) + 3.0 * _volume(middles, 200.0), sample)
    assert unresolved.value == 0.0 and unresolved.flags == ("clipped",)


def test_metrics_need_matching_shapes_and_the_axial_profile() -> None:
    positions, _ = CASES["two_point_dip"]
    sample = _sample(positions, _volume(positions, 250.0))
    with pytest.raises(ValueError, match="shape"):
        _measure("two_point_dip", sample.target[:-1], sample)
    with pytest.raises(ValueError, match="axial_profile"):
        _measure("two_point_dip", sample.target, dataclasses.replace(sample, meta={}))

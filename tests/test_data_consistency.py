"""Data consistency of learned 2D reconstructions (simbench.learn.data_consistency): inside the passband a still
scene's output takes the frames' widefield image deconvolved, outside it keeps the network's; moving frames are
trusted far less; the output keeps its units."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from simbench.learn.data_consistency import KAPPA, MIN_EPSILON, make_consistent
from simbench.physics import nominal_pattern, simulate_sim2d
from simbench.physics.optics import otf2d
from simbench.plugin.manager import PluginManager
from simbench.suites.static import StaticSuite


@pytest.fixture(scope="module")
def sample():
    return StaticSuite().make_sample(1, "quick", 0)


@pytest.fixture(scope="module")
def clean_frames(sample):
    """Noise-free frames under the nominal phases (0, 2π/3, 4π/3): every angle's mean is the same widefield image."""
    raw = sample.raw
    return simulate_sim2d(sample.target, sample.target_pixel_size_nm, raw.optics, nominal_pattern(raw.optics),
                          raw.frame_patterns)


def _wrong(target: np.ndarray) -> np.ndarray:
    """A network's kind of error: the target rescaled, offset and lifted by a broad halo of 30 % of its range."""
    return 2.0 * target + 0.3 * np.ptp(target) * ndimage.gaussian_filter(target, 20) / target.max() + 5.0


def test_a_still_scene_takes_its_passband_from_the_frames_and_keeps_the_rest(sample, clean_frames):
    raw = sample.raw
    output = _wrong(sample.target)
    result, facts = make_consistent(output, dataclasses.replace(raw, frames=clean_frames))
    assert facts["epsilon"] == MIN_EPSILON and facts["disagreement"] < 1e-10
    otf = otf2d(output.shape, sample.target_pixel_size_nm, raw.optics)
    spectrum, truth, before = (np.fft.fft2(x.astype(np.float64)) for x in (result, sample.target, output))
    band = otf > 0.05
    band[0, 0] = False
    scale = np.vdot(truth[band], spectrum[band]).real / np.vdot(truth[band], truth[band]).real
    # the passband is the target's (one scale): the halo is gone ...
    assert np.linalg.norm(spectrum[band] - scale * truth[band]) < 1e-3 * np.linalg.norm(scale * truth[band])
    assert np.linalg.norm(before[band] - 2.0 * truth[band]) > 0.05 * np.linalg.norm(2.0 * truth[band])
    # ... and beyond the detection cut-off (OTF = 0) the network's output is untouched
    outside = otf == 0
    assert np.allclose(spectrum[outside], before[outside], rtol=0, atol=1e-4 * np.abs(before[outside]).max())


def test_the_step_keeps_the_outputs_units(sample):
    raw = sample.raw
    output = _wrong(sample.target)
    result = make_consistent(output, raw)[0]
    rescaled = make_consistent(3.0 * output - 7.0, raw)[0]
    assert np.allclose(rescaled, 3.0 * result - 7.0, rtol=0, atol=1e-4 * np.ptp(result) * 3.0)
    assert result.mean() == pytest.approx(output.mean(), rel=1e-5)


def test_noise_and_motion_set_how_far_the_frames_are_trusted(sample):
    """Noisy still frames: r of order 1e-4, the data rule the passband.  Moving frames (motion/fast): the per-angle
    means disagree (r > 1e-2), ε = κ·r > 1, and the output is kept almost unchanged."""
    raw = sample.raw
    still = make_consistent(_wrong(sample.target), raw)[1]
    assert 1e-5 < still["disagreement"] < 1e-3 and still["epsilon"] == pytest.approx(KAPPA * still["disagreement"])
    moving = PluginManager(strict=False).load().suite("motion/fast").make_sample(0, "quick", 0)
    output = _wrong(moving.target)
    result, facts = make_consistent(output, moving.raw)
    assert facts["disagreement"] > 1e-2 and facts["epsilon"] > 1.0
    assert np.std(result - output) < 0.1 * np.std(output)


def test_an_output_that_anticorrelates_with_the_frames_is_left_alone(sample):
    raw = sample.raw
    output = -sample.target
    result, facts = make_consistent(output, raw)
    assert result is output and facts["epsilon"] is None


def test_frames_without_structure_leave_the_output_alone_and_record_no_numbers(sample):
    """Uniform frames have no passband signal to compare the angles by (r undefined): nothing to trust."""
    raw = sample.raw
    output = _wrong(sample.target)
    result, facts = make_consistent(output, dataclasses.replace(raw, frames=np.ones_like(raw.frames)))
    assert result is output and facts == {"disagreement": None, "epsilon": None}


def test_an_output_off_the_frames_grid_is_refused(sample):
    raw = sample.raw
    with pytest.raises(ValueError, match="multiple of the frames' grid"):
        make_consistent(np.zeros((100, 90), np.float32), raw)

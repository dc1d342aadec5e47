"""Out-of-band power (``oob``): content beyond the SIM support k_c + k0 is measured, not rewarded."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.metrics.artefacts import ARTEFACT_METRICS, OOB_FLOOR_DB, out_of_band_share
from simbench.metrics.base import ScoreInput
from simbench.physics import otf_profile, radial_freq_per_um, sample_sim_support_per_um
from simbench.testing import mock_sample

OOB = {m.name: m for m in ARTEFACT_METRICS}["oob"]


@pytest.fixture(scope="module")
def sample():
    return mock_sample()


def _within_support(sample) -> np.ndarray:
    """The sample's target apodised to zero at k_c + k0 (the OTF profile of that radius, as SIM
    reconstructions apodise): what an honest reconstruction could show at best."""
    k = radial_freq_per_um(sample.target.shape, sample.target_pixel_size_nm)
    apodisation = otf_profile(k / sample_sim_support_per_um(sample))
    return np.real(np.fft.ifft2(np.fft.fft2(sample.target) * apodisation)).astype(np.float32)


def _oob(sample, image: np.ndarray) -> float:
    return OOB(ScoreInput(image, sample.target, sample.target_pixel_size_nm, sample=sample))


def test_honest_output_sits_at_the_rounding_floor_and_texture_is_visible(sample) -> None:
    """An in-support image reads below −90 dB (float32 rounding and taper leakage); 1 % of fixed
    white texture or a faint 4-px grid added to it raise oob by more than 30 dB, and an offset or
    a scale leaves it unchanged."""
    honest = _within_support(sample)
    base = _oob(sample, honest)
    assert OOB_FLOOR_DB <= base < -90.0
    rng = np.random.default_rng(0)
    texture = 0.01 * honest.std() * rng.standard_normal(honest.shape)
    assert _oob(sample, honest + texture) > base + 30.0
    grid = np.zeros(honest.shape)
    grid[::4, :] = grid[:, ::4] = 1.0
    assert _oob(sample, honest + 0.01 * honest.std() * grid) > base + 30.0
    assert _oob(sample, 3.0 * honest + 7.0) == pytest.approx(base, abs=1.0)


def test_target_has_out_of_band_content_and_white_noise_is_mostly_outside(sample) -> None:
    """The ground truth has content beyond the support (recorded as the reference, not a goal);
    white noise puts the area share of the band outside: 1 − π(1.05·k)²/(2·Nyquist)² of the power."""
    assert _oob(sample, sample.target) > -40.0
    noise = np.random.default_rng(1).standard_normal(sample.target.shape)
    nyquist = 1e3 / (2 * sample.target_pixel_size_nm)
    edge = 1.05 * sample_sim_support_per_um(sample) / nyquist  # fraction of Nyquist, < 1 here
    expected = 1.0 - np.pi * edge**2 / 4.0
    assert out_of_band_share(noise, sample.target_pixel_size_nm, sample_sim_support_per_um(sample)) == pytest.approx(
        expected, rel=0.05)


def test_oob_contract(sample) -> None:
    assert OOB.direction == "lower" and OOB.unit == "dB" and OOB.on_target and not OOB.needs_repeat
    assert _oob(sample, np.ones_like(sample.target)) == OOB_FLOOR_DB  # no power at all
    with pytest.raises(ValueError, match="sample"):
        OOB(ScoreInput(sample.target, sample.target, sample.target_pixel_size_nm))
    with pytest.raises(ValueError, match="2D"):
        out_of_band_share(np.zeros((2, 8, 8)), 30.0, 8.0)


def test_reproducible_out_of_band_power(sample) -> None:
    """Between two reconstructions of independent noise: white noise beyond the support does not
    reproduce (cross power near zero there), a fixed texture does."""
    metric = {m.name: m for m in ARTEFACT_METRICS}["oob_repeat"]
    assert metric.needs_repeat and metric.direction == "lower"
    honest = _within_support(sample)
    rng = np.random.default_rng(2)
    noise = [0.05 * honest.std() * rng.standard_normal(honest.shape) for _ in range(2)]
    texture = 0.01 * honest.std() * rng.standard_normal(honest.shape)

    def measure(a: np.ndarray, b: np.ndarray) -> float:
        return metric(ScoreInput(a, sample.target, sample.target_pixel_size_nm, repeat=b, sample=sample))

    independent = measure(honest + noise[0], honest + noise[1])
    fixed = measure(honest + noise[0] + texture, honest + noise[1] + texture)
    assert _oob(sample, honest + noise[0]) > independent + 10.0  # the noise is there, but not reproducible
    assert fixed > independent + 10.0

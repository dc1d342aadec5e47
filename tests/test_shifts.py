"""Shift averaging (simbench.learn.shifts): half-pixel Fourier shifts are exact for band-limited frames, and
the mean over every half-pixel shift below a period cancels any pattern locked to the output grid with that
period (a token grid's texture, a ×2 pixel-phase checkerboard) while keeping the scene."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft

from simbench.learn.shifts import fourier_shift, shift_average
from simbench.physics.fourier import pad_rfft2

from conftest import run_cli


def _band_limited(shape: tuple[int, ...], cutoff: float, seed: int = 0) -> np.ndarray:
    """Random frames with no power at or above ``cutoff`` cycles per pixel."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.fft2(rng.standard_normal(shape))
    fy, fx = np.fft.fftfreq(shape[-2])[:, None], np.fft.fftfreq(shape[-1])[None, :]
    return np.real(np.fft.ifft2(spectrum * (np.hypot(fy, fx) < cutoff)))


def _upsample(frames: np.ndarray) -> np.ndarray:
    """Band-limited ×2 of a (h, w) image, raw pixel j on output pixel 2j (spectrum zero-padded)."""
    shape = (2 * frames.shape[0], 2 * frames.shape[1])
    return 4 * sfft.irfft2(pad_rfft2(sfft.rfft2(frames), shape), s=shape)


def test_a_half_pixel_fourier_shift_is_exact_for_band_limited_frames():
    y, x = np.mgrid[:64, :64]
    frames = np.cos(2 * np.pi * (5 * x + 3 * y) / 64 + 0.4)[None]
    moved = fourier_shift(frames, 0.5, -1.5)
    assert np.abs(moved[0] - np.cos(2 * np.pi * (5 * (x + 1.5) + 3 * (y - 0.5)) / 64 + 0.4)).max() < 1e-5
    noise = np.random.default_rng(1).standard_normal((1, 64, 64))
    assert np.std(fourier_shift(noise, 0.5, 0.5)) == pytest.approx(np.std(noise), rel=0.02)  # white stays white


def test_the_mean_over_half_pixel_shifts_cancels_a_grid_locked_texture_and_keeps_the_scene():
    """A stand-in network: the band-limited ×2 of its input plus a fixed pattern of period 8 output
    pixels (a 4-raw-pixel token grid) that also differs between the two output pixels of a raw pixel."""
    period = 4
    rng = np.random.default_rng(2)
    texture = np.tile(rng.standard_normal((2 * period, 2 * period)), (40, 40))
    frames = _band_limited((3, 64, 64), 0.3)

    def run(inputs: np.ndarray) -> np.ndarray:
        clean = _upsample(inputs[0])
        return clean + texture[:clean.shape[0], :clean.shape[1]]

    one = run(frames)
    mean = shift_average(run, frames, period)
    expected = _upsample(frames[0]) + texture[:16, :16].mean()
    inner = (slice(16, -16), slice(16, -16))  # the mirrored border is not band-limited
    assert np.abs(one - expected)[inner].max() > 1.0
    assert np.abs(mean - expected)[inner].max() < 0.05 * np.abs(one - expected)[inner].max()


def test_bad_periods_and_scales_are_refused():
    with pytest.raises(ValueError, match="period_px"):
        shift_average(lambda x: x, np.zeros((1, 8, 8), np.float32), 0)
    with pytest.raises(ValueError, match="even scale"):
        shift_average(lambda x: x, np.zeros((1, 8, 8), np.float32), 2, scale=3)


@pytest.mark.parametrize("command", ["train", "card"])
def test_a_variant_sends_training_and_model_cards_to_the_method_whose_weights_it_runs(command):
    args = ["--suite", "motion", "--steps", "1", "--out", "unused"] if command == "train" else []
    refused = run_cli(command, "--method", "vsrsim-avg", *args)
    assert refused.returncode == 2 and "runs the weights of 'vsrsim'" in refused.stderr

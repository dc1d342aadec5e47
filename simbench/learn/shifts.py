"""Shift averaging: a learned ×``scale`` reconstruction made equivariant to translations of the scene.

A network that cuts its input into patch tokens (VSR-SIM: one token per 4×4 raw
pixels) paints the same pattern into every token, locked to the token grid, and
any ×2 network on camera pixels treats the two output pixels of a raw pixel
differently (raw pixel j sits on target pixel 2j: one is measured, the other
interpolated), which leaves power at the Nyquist frequency.  Both textures are
fixed to the grid, not to the scene.  Averaging the outputs for the input
shifted by every multiple of half a raw pixel below the token period, each
output shifted back (``(2·period)²`` passes), cancels every harmonic of the
grid: the mean of a pattern over all its phases is a constant.

Whole-pixel shifts are crops of the mirrored input; half-pixel shifts are a
Fourier phase ramp, exact for frames band-limited below the camera's Nyquist
frequency (every simulated simbench suite) and unitary, so white noise stays
white noise of the same level.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft as sfft

from simbench.physics.threads import thread_budget


def fourier_shift(frames: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``frames`` (…, H, W) with their content moved by (``dy``, ``dx``) pixels (circularly), by a
    phase ramp of their 2D spectra; float32."""
    shape = frames.shape[-2:]
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    ramp = np.exp(-2j * np.pi * (fy * dy + fx * dx))
    spectrum = sfft.rfft2(frames, workers=thread_budget()) * ramp
    return sfft.irfft2(spectrum, s=shape, workers=thread_budget()).astype(np.float32)


def shift_average(run: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, period_px: int,
                  scale: int = 2) -> np.ndarray:
    """Mean of ``run`` (C, h, w) → (scale·h, scale·w) over the input moved by every (sy, sx) in
    {0, ½, 1, …, period_px − ½}² raw pixels, each output moved back by scale·(sy, sx) output pixels;
    float32.  The input is mirrored by ``period_px`` pixels on every side, so that a moved input still
    covers the field."""
    if period_px < 1:
        raise ValueError(f"period_px must be a positive number of raw pixels; got {period_px}")
    if scale % 2:
        raise ValueError(f"half-pixel shifts need an even scale; got {scale}")
    _, height, width = inputs.shape
    pad = period_px
    padded = np.pad(inputs, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    total = np.zeros((scale * height, scale * width), np.float64)
    halves = [(hy, hx) for hy in (0.0, 0.5) for hx in (0.0, 0.5)]
    for hy, hx in halves:
        moved = fourier_shift(padded, hy, hx) if hy or hx else padded
        for dy in range(period_px):
            for dx in range(period_px):
                # the field moved by (dy + hy, dx + hx) raw pixels, and `pad` more pixels after it
                crop = moved[:, pad - dy:pad - dy + height + pad, pad - dx:pad - dx + width + pad]
                oy, ox = round(scale * (dy + hy)), round(scale * (dx + hx))
                total += run(np.ascontiguousarray(crop))[oy:oy + scale * height, ox:ox + scale * width]
    return (total / (len(halves) * period_px ** 2)).astype(np.float32)

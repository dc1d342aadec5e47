"""Optical flow of frame sequences, measured independently of the motion generator.

The flow between consecutive frames is estimated with scikit-image's TV-L1
(:func:`skimage.registration.optical_flow_tvl1`); nothing here knows how the
frames were made.  Magnitudes are in pixels of the frames passed in.
"""
from __future__ import annotations

import numpy as np
from skimage.registration import optical_flow_tvl1, phase_cross_correlation
from skimage.transform import downscale_local_mean

__all__ = ["flow_statistics", "measure_flow"]


def _prealign_shift(reference: np.ndarray, moving: np.ndarray) -> tuple[int, int]:
    """Integer global shift (dy, dx) such that moving[p + shift] ~ reference[p] (phase correlation)."""
    shift, _, _ = phase_cross_correlation(reference, moving, normalization=None)
    return -int(round(shift[0])), -int(round(shift[1]))


def measure_flow(reference: np.ndarray, moving: np.ndarray, *, downsample: int = 1, prealign: bool = True,
                 **tvl1) -> tuple[np.ndarray, np.ndarray]:
    """TV-L1 flow (2, H, W) from ``reference`` to ``moving`` and a validity mask (H, W).

    moving[p + flow(p)] ~ reference[p].  ``downsample`` d > 1 measures on d x d
    block means and returns the flow upsampled (nearest) and multiplied by d.
    ``prealign``: first find the integer global translation by phase correlation,
    run TV-L1 on the overlapping parts only, and add the translation back.
    The mask marks pixels whose estimated correspondence lies inside the frame.
    """
    reference = np.asarray(reference, dtype=np.float32)
    moving = np.asarray(moving, dtype=np.float32)
    height, width = reference.shape
    if downsample > 1:
        d = downsample
        ref = downscale_local_mean(reference[:height // d * d, :width // d * d], (d, d)).astype(np.float32)
        mov = downscale_local_mean(moving[:height // d * d, :width // d * d], (d, d)).astype(np.float32)
        flow_small, _ = measure_flow(ref, mov, downsample=1, prealign=prealign, **tvl1)
        flow = np.repeat(np.repeat(flow_small, d, axis=1), d, axis=2) * d
        flow = np.pad(flow, ((0, 0), (0, height - flow.shape[1]), (0, width - flow.shape[2])), mode="edge")
    else:
        flow = np.zeros((2, height, width), dtype=np.float32)
        dy, dx = _prealign_shift(reference, moving) if prealign else (0, 0)
        # overlap: reference rows [ry0, ry1) correspond to moving rows shifted by dy
        ry0, ry1 = max(0, -dy), min(height, height - dy)
        rx0, rx1 = max(0, -dx), min(width, width - dx)
        if ry1 - ry0 < 16 or rx1 - rx0 < 16:
            ry0, ry1, rx0, rx1, dy, dx = 0, height, 0, width, 0, 0
        ref = reference[ry0:ry1, rx0:rx1]
        mov = moving[ry0 + dy:ry1 + dy, rx0 + dx:rx1 + dx]
        local = optical_flow_tvl1(ref, mov, **tvl1)
        flow[:] = np.array([dy, dx], dtype=np.float32)[:, None, None]
        flow[:, ry0:ry1, rx0:rx1] += local
    rows, cols = np.mgrid[0:height, 0:width]
    target_y, target_x = rows + flow[0], cols + flow[1]
    mask = (target_y >= 0) & (target_y <= height - 1) & (target_x >= 0) & (target_x <= width - 1)
    return flow, mask


def flow_statistics(frames: np.ndarray, *, downsample: int = 1, prealign: bool = True, border_px: int = 8,
                    **tvl1) -> dict:
    """Flow statistics of a sequence (n, H, W); magnitudes in pixels of ``frames``.

    Per consecutive pair (i, i + 1): the TV-L1 flow magnitude over valid pixels
    (correspondence inside the frame, ``border_px`` away from the edges).
    """
    frames = np.asarray(frames, dtype=np.float32)
    pairs = []
    all_mags = []
    for i in range(frames.shape[0] - 1):
        flow, mask = measure_flow(frames[i], frames[i + 1], downsample=downsample, prealign=prealign, **tvl1)
        if border_px:
            mask[:border_px] = mask[-border_px:] = False
            mask[:, :border_px] = mask[:, -border_px:] = False
        mags = np.hypot(flow[0], flow[1])[mask]
        all_mags.append(mags)
        pairs.append({"median": float(np.median(mags)), "max": float(mags.max()),
                      "p99_9": float(np.percentile(mags, 99.9)), "p99": float(np.percentile(mags, 99)),
                      "valid_fraction": float(mask.mean())})
    mags = np.concatenate(all_mags)
    return {"median": float(np.median(mags)), "max": float(mags.max()),
            "p99_9": float(np.percentile(mags, 99.9)), "p99": float(np.percentile(mags, 99)), "pairs": pairs}

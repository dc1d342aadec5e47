"""Optical flow of frame sequences, measured independently of the motion generator.

The flow between consecutive frames is estimated with scikit-image's TV-L1
(:func:`skimage.registration.optical_flow_tvl1`, default parameters) after a
global integer pre-alignment by phase correlation
(:func:`skimage.registration.phase_cross_correlation`).  Nothing here knows how
the frames were made.  Magnitudes are in pixels of the frames passed in.

Definitions (used by the calibration of the motion regimes, reported per sample):

* **valid pixels** of a pair: at least ``border_px`` from the frame edges, and
  whose estimated correspondence ``p + flow(p)`` lies inside the frame (pixels
  that leave the field have no data term; TV-L1 only extrapolates there);
* **sample median** = median of the flow magnitude over the valid pixels of all
  consecutive pairs pooled;
* **sample max** = the 99.99th percentile of the same pooled magnitudes, a
  lightly robust maximum (about 200 of ~2 million pixels of a 9-frame 512²
  sequence lie above it).  Measured: the raw maximum is set by a handful of
  pixels around small fast objects that TV-L1 tracks erratically; it changed
  by up to 30 % between resolutions and by up to 25 % between TV-L1 iteration
  settings on the same sequences, while the 99.99th percentile changed by
  <= 3 % (records in ``datasets/motion-calibration.json``);
* **regime median / max** (:func:`regime_statistics`) = median over samples of
  the sample medians / sample maxima: a typical sequence's values, independent
  of the number of samples (the paper reports one median and one max per test
  set of 10-50 sequences).

Speed: TV-L1 on a 512² pair takes 3-4 s on one CPU core; ``downsample=2``
(2x2 block means, 256², flow x 2) takes 0.7-1 s but its maxima differ from
full resolution's (calibration record), so measurements are at full resolution.
Suites therefore measure flow once, when their manifest is written, and store it
there (see :meth:`simbench.suites.base.Suite.measure`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import window
from skimage.registration import optical_flow_tvl1, phase_cross_correlation
from skimage.transform import downscale_local_mean

__all__ = ["MAX_PERCENTILE", "PairFlow", "flow_statistics", "measure_flow", "measure_pairs", "regime_statistics",
           "summarize_pairs"]

#: Percentile of the pooled magnitudes reported as a sample's (robust) maximum.
MAX_PERCENTILE = 99.99
#: Default measurement: at the frames' own resolution (see the module docstring for why not 2).
DEFAULT_DOWNSAMPLE = 1
#: Default width (pixels of the frames) of the excluded frame border.
DEFAULT_BORDER_PX = 8
#: The global rotation between two frames is searched within +- this many degrees.
ROTATION_SEARCH_DEG = 15.0


def _rotate(image: np.ndarray, angle: float, order: int = 1) -> np.ndarray:
    """``image`` sampled at its coordinates turned by ``angle`` (radians) about its centre."""
    height, width = image.shape
    center = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    ry, rx = rows - center[0], cols - center[1]
    coords = [np.cos(angle) * ry - np.sin(angle) * rx + center[0], np.sin(angle) * ry + np.cos(angle) * rx + center[1]]
    return ndi.map_coordinates(image, coords, order=order, mode="nearest")


def _alignment(reference: np.ndarray, moving: np.ndarray, angle: float) -> tuple[float, np.ndarray]:
    """(phase-correlation error, shift) of ``moving`` turned by ``angle`` against ``reference``;
    both Hann-windowed, so that the borders (and what the turn brings in) do not count."""
    hann = window("hann", reference.shape)
    turned = moving if angle == 0 else _rotate(moving, angle)
    shift, error, _ = phase_cross_correlation(reference * hann, turned * hann, normalization=None)
    return float(error), -np.asarray(shift, dtype=np.float64)


def _global_rotation(reference: np.ndarray, moving: np.ndarray) -> float:
    """Global rotation (radians) that best aligns ``moving`` to ``reference``: the angle whose
    de-rotated frame has the best phase correlation, searched over +-ROTATION_SEARCH_DEG in
    1.5 degree steps on 4x block means, then +-1.5 degrees in 0.25 degree steps on 2x."""
    def best(scale: int, angles_deg: np.ndarray) -> float:
        if scale > 1:
            h, w = reference.shape[0] // scale * scale, reference.shape[1] // scale * scale
            ref = downscale_local_mean(reference[:h, :w], (scale, scale))
            mov = downscale_local_mean(moving[:h, :w], (scale, scale))
        else:
            ref, mov = reference, moving
        errors = [_alignment(ref, mov, np.deg2rad(a))[0] for a in angles_deg]
        return float(angles_deg[int(np.argmin(errors))])

    coarse = best(4, np.arange(-ROTATION_SEARCH_DEG, ROTATION_SEARCH_DEG + 1e-9, 1.5))
    fine = best(2, coarse + np.arange(-1.5, 1.5 + 1e-9, 0.25))
    return np.deg2rad(fine)


def _global_similarity(reference: np.ndarray, moving: np.ndarray):
    """The rigid map G (rotation about the centre, then translation) that best aligns
    ``moving`` to ``reference`` (moving(G(p)) ~ reference(p)), as a function of (rows, cols)."""
    height, width = reference.shape
    center = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    angle = _global_rotation(reference, moving)
    _, shift = _alignment(reference, moving, angle)
    cos, sin = np.cos(angle), np.sin(angle)

    def apply(py: np.ndarray, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ry, rx = py - center[0], px - center[1]
        return cos * ry - sin * rx + center[0] + shift[0], sin * ry + cos * rx + center[1] + shift[1]
    return apply


def _tvl1_registered(reference: np.ndarray, moving: np.ndarray, register: bool, **tvl1) -> np.ndarray:
    """TV-L1 flow (2, H, W) after a global rigid registration; flow(p) = G(p + r(p)) - p."""
    height, width = reference.shape
    if not register:
        return optical_flow_tvl1(reference, moving, **tvl1)
    rigid = _global_similarity(reference, moving)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    aligned = ndi.map_coordinates(moving, rigid(rows, cols), order=3, mode="nearest").astype(np.float32)
    residual = optical_flow_tvl1(reference, aligned, **tvl1)
    target_y, target_x = rigid(rows + residual[0], cols + residual[1])
    return np.stack([target_y - rows, target_x - cols]).astype(np.float32)


def measure_flow(reference: np.ndarray, moving: np.ndarray, *, downsample: int = DEFAULT_DOWNSAMPLE,
                 register: bool = True, **tvl1) -> tuple[np.ndarray, np.ndarray]:
    """Flow (2, H, W) from ``reference`` to ``moving`` (moving[p + flow(p)] ~ reference[p])
    in pixels of the inputs, and the mask (H, W) of pixels whose correspondence lies inside.

    ``downsample`` d > 1: measured on d x d block means, the flow is repeated to the
    full grid and multiplied by d.  ``register``: first a global rigid registration
    (rotation from the Fourier magnitudes in polar coordinates, translation by phase
    correlation; the sign of the rotation and "no rotation" are tried and the best
    correlation kept); TV-L1 then measures the residual flow between the reference
    and the registered moving frame, and the two are composed.  ``tvl1``: keyword
    arguments of :func:`skimage.registration.optical_flow_tvl1` (defaults used).
    """
    reference = np.asarray(reference, dtype=np.float32)
    moving = np.asarray(moving, dtype=np.float32)
    if reference.shape != moving.shape or reference.ndim != 2:
        raise ValueError(f"need two 2D frames of one shape; got {reference.shape} and {moving.shape}")
    height, width = reference.shape
    d = int(downsample)
    if d > 1:
        small = [downscale_local_mean(f[:height // d * d, :width // d * d], (d, d)).astype(np.float32)
                 for f in (reference, moving)]
        flow = d * np.repeat(np.repeat(_tvl1_registered(*small, register, **tvl1), d, axis=1), d, axis=2)
        flow = np.pad(flow, ((0, 0), (0, height - flow.shape[1]), (0, width - flow.shape[2])), mode="edge")
    else:
        flow = _tvl1_registered(reference, moving, register, **tvl1)
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    mask = ((rows + flow[0] >= 0) & (rows + flow[0] <= height - 1)
            & (cols + flow[1] >= 0) & (cols + flow[1] <= width - 1))
    return flow, mask


def _pooled(magnitudes: list[np.ndarray]) -> dict[str, float]:
    pooled = np.concatenate(magnitudes)
    return {"median": float(np.median(pooled)), "max": float(np.percentile(pooled, MAX_PERCENTILE))}


@dataclass(frozen=True)
class PairFlow:
    """The measured flow of one consecutive pair (index, index + 1)."""

    index: int
    #: flow magnitudes (pixels of the frames) at the pair's valid pixels
    magnitude: np.ndarray
    valid_fraction: float


def measure_pairs(frames: np.ndarray, pairs: list[int] | None = None, *, downsample: int = DEFAULT_DOWNSAMPLE,
                  register: bool = True, border_px: int = DEFAULT_BORDER_PX, **tvl1) -> list[PairFlow]:
    """Flow magnitudes of the consecutive pairs (i, i + 1), i in ``pairs`` (default: all n - 1),
    of a sequence (n, H, W); arguments as :func:`flow_statistics`."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 3 or frames.shape[0] < 2:
        raise ValueError(f"need (n >= 2, H, W) frames; got shape {frames.shape}")
    indices = list(range(frames.shape[0] - 1)) if pairs is None else [int(i) for i in pairs]
    if not indices or min(indices) < 0 or max(indices) >= frames.shape[0] - 1:
        raise ValueError(f"pairs must index 0 .. {frames.shape[0] - 2}; got {pairs}")
    measured = []
    for i in indices:
        flow, mask = measure_flow(frames[i], frames[i + 1], downsample=downsample, register=register, **tvl1)
        if border_px:
            mask[:border_px] = mask[-border_px:] = False
            mask[:, :border_px] = mask[:, -border_px:] = False
        magnitude = np.hypot(flow[0], flow[1])[mask]
        if magnitude.size == 0:
            raise ValueError(f"no valid pixel in pair {i}: the frames share no content")
        measured.append(PairFlow(i, magnitude, float(mask.mean())))
    return measured


def summarize_pairs(measured: list[PairFlow], subsets: dict[str, list[int]] | None = None) -> dict:
    """Pooled statistics of measured pairs (the keys of :func:`flow_statistics` but the
    settings and the wall time)."""
    magnitudes = [p.magnitude for p in measured]
    pooled = np.concatenate(magnitudes)
    by_index = {p.index: p.magnitude for p in measured}
    subset_stats = {}
    for name, subset in (subsets or {}).items():
        missing = set(subset) - set(by_index)
        if missing:
            raise ValueError(f"subset {name!r} has unmeasured pairs {sorted(missing)}")
        subset_stats[name] = _pooled([by_index[i] for i in subset])
    per_pair = [{"index": p.index, **_pooled([p.magnitude]), "raw_max": float(p.magnitude.max()),
                 "valid_fraction": p.valid_fraction} for p in measured]
    return {**_pooled(magnitudes), "raw_max": float(pooled.max()), "p99_9": float(np.percentile(pooled, 99.9)),
            "valid_fraction": float(np.mean([p.valid_fraction for p in measured])),
            "subsets": subset_stats, "pairs": per_pair, "max_percentile": MAX_PERCENTILE}


def flow_statistics(frames: np.ndarray, *, pairs: list[int] | None = None,
                    subsets: dict[str, list[int]] | None = None, downsample: int = DEFAULT_DOWNSAMPLE,
                    register: bool = True, border_px: int = DEFAULT_BORDER_PX, **tvl1) -> dict:
    """Flow statistics of a sequence (n, H, W) between consecutive frames; pixels of ``frames``.

    ``pairs``: indices i of the pairs (i, i + 1) to measure (default: all n - 1).
    ``subsets``: named lists of measured pairs whose pooled median and max are also
    reported (no extra measurement).  Returns ``median`` (sample median), ``max``
    (sample max: the :data:`MAX_PERCENTILE` percentile), ``raw_max``, ``p99_9``,
    ``valid_fraction``, ``subsets``, ``pairs`` (per pair: index, median, max, raw_max,
    valid_fraction), the settings and ``seconds`` (wall time).  Definitions in the
    module docstring.
    """
    start = time.perf_counter()
    measured = measure_pairs(frames, pairs, downsample=downsample, register=register, border_px=border_px, **tvl1)
    return {**summarize_pairs(measured, subsets), "downsample": int(downsample), "register": bool(register),
            "border_px": int(border_px), "seconds": time.perf_counter() - start}


def regime_statistics(samples: list[dict]) -> dict:
    """Aggregate :func:`flow_statistics` of several sequences.

    ``median`` / ``max``: the median over samples of the sample medians / maxima (the
    calibrated statistics); also their means, extremes and the sample count.
    """
    if not samples:
        raise ValueError("no samples")
    medians = np.array([s["median"] for s in samples])
    maxima = np.array([s["max"] for s in samples])
    return {"median": float(np.median(medians)), "max": float(np.median(maxima)),
            "mean_median": float(medians.mean()), "mean_max": float(maxima.mean()),
            "min_median": float(medians.min()), "max_median": float(medians.max()),
            "min_max": float(maxima.min()), "max_max": float(maxima.max()), "n_samples": len(samples)}

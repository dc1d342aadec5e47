"""Data consistency: a learned 2D SIM reconstruction made to agree with what its raw frames measure.

A network trained on simulated scenes can be wrong inside the detection
passband |k| < k_c, where the data measure the scene directly: on a scene unlike
its training data (a large smooth cell on a dark background) it lifts a halo of
several % of the range that the widefield image does not have.  For a still
scene, the mean of the 9 raw frames is the widefield image ``W = OTF·S`` (the
three phases of each angle sum to uniform illumination), point-sampled on the
camera grid, so its zero-padded spectrum holds the scene's passband on the
reconstruction's ×2 grid.  The reconstruction ``O`` is replaced by the
Tikhonov-regularised solution closest to both::

    X = argmin ‖OTF·X − W‖² + ε‖X − O‖²   →   X = (OTF·W + ε·O) / (OTF² + ε)

Outside the passband (OTF = 0) X is O: the network's super-resolution is kept.
The data are trusted in proportion to how well they measure the reconstructed
instant: ``ε = KAPPA · r``, where r is the disagreement of the three per-angle
means (3 frames each, so each is a widefield image too) below 0.8 k_c, relative
to the power of their mean there.  Noise and motion both make them disagree: on
a still scene r is 1e-4–5e-4 (ε ≈ 0.01–0.05: the data rule where OTF > 0.2); on
a moving one it is 0.007–1.5 (ε ≥ 0.7; from r ≈ 0.1, typical of the medium
regime, the network's output is kept almost unchanged, since the mean of 9
moving frames is not the centre frame).  ``KAPPA``
takes the network's passband error as 1 % of the signal power; it was chosen on
held-out train-pool samples of the motion regimes (vsrsim, 10 each; PSNR gain
with κ = 10 / 30 / 100: static +2.0 / +2.0 / +1.8 dB, medium +0.09 / +0.11 /
+0.06, fast −0.24 / −0.06 / −0.01): the largest gain on still scenes that costs
nothing on fast ones.

The network's output is in its own normalised units: W is first mapped onto
them (least-squares scale where OTF > 0.3, the output's own mean), so the step
changes no intensity scale.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft as sfft

from simbench.learn.data import canonical_order
from simbench.physics.fourier import pad_rfft2, radial_freq_per_um
from simbench.physics.optics import otf2d
from simbench.physics.threads import thread_budget
from simbench.types import Optics, RawStack

#: ε per unit of the per-angle disagreement r (the network's passband error taken as 1 % of the signal)
KAPPA = 100.0
#: r is measured below this fraction of k_c (where the OTF is above ≈ 0.1)
DISAGREEMENT_BAND = 0.8
#: the smallest ε used (r = 0 for noise-free, still frames)
MIN_EPSILON = 1e-6
#: the scale between the widefield image and the output is fitted where the OTF exceeds this
SCALE_FIT_OTF = 0.3


def angle_means(frames: np.ndarray, frame_patterns: tuple[int, ...], n_angles: int) -> np.ndarray:
    """(n_angles, h, w) float64: the mean of each angle's frames (patterns angle-major: pattern k has
    angle k // (9 / n_angles)); each is a widefield image of a still scene."""
    ordered = canonical_order(np.asarray(frames, np.float64), frame_patterns)
    return ordered.reshape(n_angles, -1, *ordered.shape[1:]).mean(axis=1)


def disagreement(spectra: np.ndarray, shape: tuple[int, int], optics: Optics) -> float:
    """r: the mean power of the per-angle spectra's deviations from their mean, over the power of the mean,
    both summed over 0 < |k| < 0.8 k_c.  ``spectra``: (n_angles, h, w//2+1) ``rfft2`` of the per-angle
    means of camera frames of ``shape`` (h, w)."""
    k = radial_freq_per_um(shape, optics.pixel_size_nm, rfft=True)
    band = (k > 0) & (k < DISAGREEMENT_BAND * optics.cutoff_per_um)
    mean = spectra.mean(axis=0)
    signal = float(np.sum(np.abs(mean[band]) ** 2))
    deviation = float(np.sum(np.abs(spectra[:, band] - mean[band]) ** 2)) / len(spectra)
    return deviation / signal if signal > 0 else float("inf")


def make_consistent(output: np.ndarray, raw: RawStack, kappa: float = KAPPA) -> tuple[np.ndarray, dict[str, Any]]:
    """``output`` (s·h, s·w) for the 2D SIM stack ``raw`` (frames (9, h, w)) made consistent with its
    widefield image (module docstring); returns it (float32) and facts for the record: ``disagreement`` r
    and ``epsilon``.
    The output is returned unchanged (``epsilon`` None) when the frames carry no structure in the passband
    (r undefined, then None too) or when the output does not correlate positively with the widefield image
    there, where no scale maps one onto the other."""
    optics = raw.optics
    height, width = raw.frames.shape[-2:]
    scale = output.shape[0] // height
    if output.shape != (scale * height, scale * width):
        raise ValueError(f"output {output.shape} is not a multiple of the frames' grid {(height, width)}")
    workers = thread_budget()
    spectra = sfft.rfft2(angle_means(raw.frames, raw.frame_patterns, len(raw.pattern.angles_rad)), workers=workers)
    r = disagreement(spectra, (height, width), optics)
    if not np.isfinite(r):
        return output, {"disagreement": None, "epsilon": None}
    # floored so that a noise-free still scene (r = 0) keeps the output where the OTF vanishes
    epsilon = max(kappa * r, MIN_EPSILON)
    facts: dict[str, Any] = {"disagreement": r, "epsilon": epsilon}
    otf = otf2d(output.shape, optics.pixel_size_nm / scale, optics, rfft=True).astype(np.float64)
    # the zero-padded spectrum of the camera-grid mean is the widefield image on the output grid (× s²)
    measured = pad_rfft2(spectra.mean(axis=0), output.shape) * scale ** 2
    estimate = sfft.rfft2(output.astype(np.float64), workers=workers)
    fit = otf > SCALE_FIT_OTF
    fit[0, 0] = False
    predicted = otf[fit] * estimate[fit]
    gain = float(np.real(np.vdot(predicted, measured[fit]))) / max(float(np.vdot(predicted, predicted).real), 1e-300)
    if not np.isfinite(gain) or gain <= 0:
        return output, {**facts, "epsilon": None}
    measured /= gain
    measured[0, 0] = estimate[0, 0]
    consistent = (otf * measured + epsilon * estimate) / (otf ** 2 + epsilon)
    return sfft.irfft2(consistent, s=output.shape, workers=workers).astype(np.float32), facts

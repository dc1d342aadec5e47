"""Matched-bead FWHM ratio: how much narrower a reconstruction draws the beads of a bead sample
than the widefield image of the same data shows them.

Isolated beads are found in the widefield image (mean of the raw frames, Fourier-interpolated onto
the reconstruction's grid); each is fitted with an isotropic 2D Gaussian plus offset in both
images, in the same window, and the ratio of the two FWHMs is taken per bead.  The value is the
median over the matched beads (those whose fit converged in both images to a bead near the same
place).  A ratio of 1 is widefield; 2-beam SIM transmits frequencies up to k_c + k₀, so a linear
reconstruction of a point reaches about k_c/(k_c + k₀) (≈ 0.5 for carriers near the cut-off);
lower values come from sharpening (ringing, a learned prior) and need the consistency check
beside them.  Fewer than :data:`MIN_BEADS` matched beads: flagged ``unreliable``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from simbench.metrics.acf import FWHM_PER_SIGMA
from simbench.physics.fourier import pad_rfft2
from simbench.physics.threads import thread_budget

#: fit window half-width per widefield FWHM
WINDOW_FWHMS = 1.2
#: the background: this percentile of the widefield image (beads cover little of the field)
BACKGROUND_PERCENTILE = 10.0
#: a bead is a local maximum above background + this fraction of the widefield's peak over background
DETECTION_LEVEL = 0.1
#: with no other maximum above background + this fraction within two window half-widths (isolated)
NEIGHBOUR_LEVEL = 0.03
#: the brightest isolated beads fitted, at most
MAX_BEADS = 25
#: fewer matched beads than this: the ratio is flagged unreliable
MIN_BEADS = 3
#: damped Gauss–Newton iterations of the Gaussian fits
FIT_ITERATIONS = 30
#: a fitted centre further than this (pixels) from the widefield bead's is not the same bead
MAX_SHIFT_PX = 2.0


@dataclass(frozen=True)
class BeadRatio:
    """Median FWHM ratio (reconstruction / widefield) over ``n_matched`` of ``n_found`` beads, the
    spread of the ratios (the standard error of their mean, a rough uncertainty) and the
    median widefield FWHM (nm)."""

    ratio: float
    n_found: int
    n_matched: int
    uncertainty: float
    widefield_fwhm_nm: float


def upsample_fourier(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` Fourier-interpolated ``factor`` × finer (same field of view, same mean), float64."""
    shape = (image.shape[0] * factor, image.shape[1] * factor)
    spectrum = pad_rfft2(sfft.rfft2(np.asarray(image, dtype=np.float64), workers=thread_budget()), shape)
    return sfft.irfft2(spectrum, s=shape, workers=thread_budget()) * factor ** 2


def find_beads(widefield: np.ndarray, half_px: int) -> list[tuple[int, int]]:
    """Isolated local maxima of ``widefield`` (row, column), at least one fit window (``half_px``)
    from the edges and from any other maximum: the dimmer half of them (the brighter ones are more
    often two beads closer than the widefield resolves), brightest first."""
    from scipy.spatial import cKDTree

    background = float(np.percentile(widefield, BACKGROUND_PERCENTILE))
    span = float(widefield.max()) - background
    if span <= 0:
        return []
    maxima = widefield == ndimage.maximum_filter(widefield, size=2 * half_px + 1)
    candidates = np.argwhere(maxima & (widefield > background + NEIGHBOUR_LEVEL * span))
    if len(candidates) < 2:
        return []
    heights = widefield[tuple(candidates.T)] - background
    nearest = cKDTree(candidates).query(candidates, k=2)[0][:, 1]
    inside = np.all((candidates >= half_px) & (candidates < np.array(widefield.shape) - half_px), axis=1)
    beads = (heights > DETECTION_LEVEL * span) & inside & (nearest > 2 * half_px)
    if beads.any():  # two beads closer than the widefield resolves look like one brighter bead
        beads &= heights <= np.median(heights[beads])
    chosen = np.flatnonzero(beads)
    chosen = chosen[np.argsort(-heights[chosen], kind="stable")][:MAX_BEADS]
    return [(int(r), int(c)) for r, c in candidates[chosen]]


def fit_gaussians(windows: np.ndarray, sigma_px: float) -> np.ndarray:
    """Isotropic Gaussians plus offset fitted to a batch of (n, m, m) ``windows`` by damped
    Gauss–Newton (Levenberg–Marquardt, all windows at once): (n, 3) rows of (row, column, σ) in
    pixels, NaN where the fit is implausible (amplitude ≤ 0, σ outside [0.3, m] px, or a centre
    more than :data:`MAX_SHIFT_PX` from the window's)."""
    n, m = windows.shape[0], windows.shape[1]
    yy, xx = (g.ravel() for g in np.mgrid[:m, :m].astype(np.float64))
    data = windows.reshape(n, -1).astype(np.float64)
    centre = (m - 1) / 2
    low = data.min(axis=1)
    p = np.stack([data.max(axis=1) - low, np.full(n, centre), np.full(n, centre), np.full(n, sigma_px), low], axis=1)
    damping = np.full(n, 1e-3)

    def model(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dy, dx = yy - q[:, 1:2], xx - q[:, 2:3]
        s2 = q[:, 3:4] ** 2
        g = np.exp(-(dy ** 2 + dx ** 2) / (2 * s2))
        amp = q[:, 0:1]
        jac = np.stack([g, amp * g * dy / s2, amp * g * dx / s2, amp * g * (dy ** 2 + dx ** 2) / s2 / q[:, 3:4],
                        np.ones_like(g)], axis=2)
        return amp * g + q[:, 4:5] - data, jac

    residual, jac = model(p)
    cost = np.sum(residual ** 2, axis=1)
    for _ in range(FIT_ITERATIONS):
        jac_t = jac.transpose(0, 2, 1)
        normal = jac_t @ jac
        grad = (jac_t @ residual[:, :, None])[:, :, 0]
        diag = np.einsum("nii->ni", normal)
        step = np.linalg.solve(normal + damping[:, None, None] * np.eye(5) * diag[:, :, None] + 1e-12 * np.eye(5),
                               -grad[:, :, None])[:, :, 0]
        trial = p + step
        trial[:, 3] = np.abs(trial[:, 3]) + 1e-6
        new_residual, new_jac = model(trial)
        new_cost = np.sum(new_residual ** 2, axis=1)
        better = new_cost < cost
        p[better], residual[better], jac[better], cost[better] = trial[better], new_residual[better], new_jac[better], new_cost[better]
        damping = np.where(better, damping / 3, damping * 4)
    amplitude, y0, x0, sigma = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    ok = (amplitude > 0) & (sigma >= 0.3) & (sigma <= m) & (np.hypot(y0 - centre, x0 - centre) <= MAX_SHIFT_PX)
    return np.where(ok[:, None], p[:, 1:4], np.nan)


def bead_fwhm_ratio(reconstruction: np.ndarray, widefield: np.ndarray, pixel_size_nm: float,
                    widefield_fwhm_nm: float) -> BeadRatio:
    """Median FWHM ratio of matched beads between ``reconstruction`` (pixel ``pixel_size_nm``, nm)
    and ``widefield`` (the raw grid, an integer factor coarser); ``widefield_fwhm_nm`` sizes the
    fit window and the starting σ."""
    recon = np.asarray(reconstruction, dtype=np.float64)
    factor = recon.shape[0] // widefield.shape[0]
    if factor < 1 or recon.shape != (widefield.shape[0] * factor, widefield.shape[1] * factor):
        raise ValueError(f"reconstruction {recon.shape} is not an integer multiple of the widefield {widefield.shape}")
    wide = upsample_fourier(widefield, factor)
    fwhm_px = widefield_fwhm_nm / pixel_size_nm
    half = max(2, math.ceil(WINDOW_FWHMS * fwhm_px))
    # found on the raw grid (a quarter of the pixels), fitted on the reconstruction's
    beads = [(r * factor, c * factor) for r, c in find_beads(np.asarray(widefield, dtype=np.float64),
                                                             max(1, math.ceil(half / factor)))]
    boxes = [(slice(r - half, r + half + 1), slice(c - half, c + half + 1)) for r, c in beads]
    sigma0 = fwhm_px / FWHM_PER_SIGMA
    sigma_wide, sigma_recon = (fit_gaussians(np.array([image[b] for b in boxes]).reshape(-1, 2 * half + 1, 2 * half + 1),
                                             sigma0)[:, 2] for image in (wide, recon))
    matched = np.isfinite(sigma_wide) & np.isfinite(sigma_recon)
    ratios = sigma_recon[matched] / sigma_wide[matched]
    wide_fwhm = sigma_wide[matched] * FWHM_PER_SIGMA * pixel_size_nm
    n = len(ratios)
    spread = float(np.std(ratios, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return BeadRatio(float(np.median(ratios)) if n else math.nan, len(beads), n, spread,
                     float(np.median(wide_fwhm)) if n else math.nan)

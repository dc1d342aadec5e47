"""2-beam stripe parameters from raw 2D SIM frames (SCIENCE.md §6).

Model (SCIENCE.md §1): frame ``D = (S·½(1 + m·cos(2π k·r + φ))) ⊗ PSF`` with
r = (column, row)·pixel_size, origin at pixel index 0 — the convention of
:func:`simbench.physics.illumination`, so estimates compare directly with the
simulator's true parameters.  In Fourier space (numpy's FFT sign), with band 0
``C0 = S̃·OTF`` (twice the mean frame):

    D̃(f) = ½·C0(f) + ¼·m·e^{+iφ}·S̃(f − k)·OTF(f) + ¼·m·e^{−iφ}·S̃(f + k)·OTF(f).

Per angle the estimator

1. separates the frames of the angle into bands with the *nominal* phase steps
   (band +1, ``C₊ = ½m·e^{iφ₀}·S̃(f − k)·OTF(f)`` up to the small leakage that
   phase-step errors cause) and takes band 0 from the mean of all frames;
2. compares, for a candidate shift k, ``U(f) = C₊(f)·OTF(f − k)`` with
   ``V(f) = C0(f − k)·OTF(f)`` — at the true k they are proportional
   (``U = ½m·e^{iφ}·V``), whatever the object — through the correlation
   coefficient ``ρ(k) = |Σ U·V*| / √(Σ|U|²·Σ|V|²)``, with both bands weighted by
   a mask where the OTF exceeds ≈ :data:`OTF_MASK_THRESHOLD` (SCIENCE.md §6) and a
   notch around each band's own zero frequency (:data:`DC_NOTCH_SIGMA_PX`), the
   white-noise power removed from the norms.  ``Σ U·V*`` is the Fourier
   transform of the real-space product of the two weighted bands, so band 0 is
   shifted exactly (a real-space phase ramp) at any continuous k; the norms are
   correlations of |band|² with OTF², evaluated the same way;
3. finds the candidate on the integer frequency grid over the whole annulus
   [:data:`SEARCH_MIN_FRACTION`, :data:`SEARCH_MAX_FRACTION`]·k_c (every
   orientation, either sign: real data can be far from nominal) with the largest
   ρ relative to its ring's background, then maximises ρ at continuous k on
   shrinking grids (sub-pixel);
4. rejects the angle (:class:`~simbench.errors.EstimationError`: no carrier) when ρ at
   the peak is less than :data:`MIN_PEAK_RATIO` times the background on its ring and
   also below :data:`MIN_CORRELATION`;
5. gets each frame's phase and the modulation from the complex correlation of
   the frame with shifted band 0, ``z_p = B + ¼·m·N0·e^{iφ_p}`` (N0 = Σ|V|²): the
   common term B (band 0's own correlation at k) is removed by fitting a circle
   through the z_p, so φ_p = arg(z_p − centre) needs no assumption on the phase
   steps, and m = 4·radius / N0.

Why ρ and not the peak of |Σ U·V*| alone: the OTF weights make that peak drift
towards the object's strong low frequencies (several per cent for smooth
objects); the normalised coefficient reaches its maximum exactly at the true k.
Angles are defined modulo π: the reported wave vector is the one with angle in
[0, π), and phases refer to it (cos(2π k·r + φ) = cos(2π(−k)·r − φ)).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from simbench.errors import EstimationError
from simbench.physics.fourier import edge_taper, fft_freqs_per_um
from simbench.physics.optics import otf_profile
from simbench.physics.threads import thread_budget
from simbench.types import Optics, StripePattern

#: OTF level below which band overlaps are not trusted (SCIENCE.md §6: ≈ 0.05).  The mask
#: rises smoothly (smoothstep) from 0 at OTF = 0.03 to 1 at OTF = 0.07 around it: a hard
#: edge would ring in real space and spoil the evaluation at sub-pixel shifts.
OTF_MASK_THRESHOLD = 0.05
OTF_MASK_RAMP = (0.03, 0.07)
#: Carrier search annulus in units of the cut-off k_c = 2NA/λ.  The lower bound is the
#: DC exclusion zone (band 0's own correlation and the leakage of phase-step errors
#: peak at k = 0; 2-beam SIM carriers sit at 0.7–0.95·k_c in practice); the upper bound
#: leaves room for carriers at the cut-off (real beads: 0.95·k_c).
SEARCH_MIN_FRACTION = 0.5
SEARCH_MAX_FRACTION = 1.05
#: Detection: an angle has a carrier when ρ at the refined peak is at least MIN_PEAK_RATIO
#: times the robust mean of ρ on the integer-grid ring of the same radius, or when ρ itself
#: reaches MIN_CORRELATION (band 0 shifted explains ≥ 25 % of band +1's power in the
#: overlap).  Pattern-free stacks (white noise, or the widefield image with fresh noise at
#: 1–12 %, 192²–512²) give ratios ≤ 4.5 and ρ ≤ 0.09; static-suite samples give ratios
#: ≥ 15 and ρ ≥ 0.88, the real beads ratios ≈ 60.  The ratio is capped near √(number of
#: independent structures) for sparse objects (a field of 10 beads: ≈ 3.5), whose ρ is
#: nevertheless ≈ 1: hence the second criterion.
MIN_PEAK_RATIO = 8.0
MIN_CORRELATION = 0.5
#: Width (frequency pixels, σ of 1 − exp(−g²/2σ²)) of the notch applied to both bands
#: around their own zero frequency.  It removes what violates U ∝ V there: the mean
#: subtracted from band 0 only (camera offset, unmodulated background) and the taper's
#: leakage of it (the frames are faded to 0 at their edges before estimation, see
#: :func:`edge_taper`), which spreads over ≈ 1/EDGE_TAPER_FRACTION ≈ 12 pixels.  Calibrated
#: on static-suite samples (σ = 2, 4, 6, 9 px: worst frequency error 0.15, 0.09, 0.06,
#: 0.05 %), comparable to the 0.5 cycles/µm band-origin attenuation of SCIENCE.md §6.
DC_NOTCH_SIGMA_PX = 9.0
#: Sub-pixel search: steps (frequency pixels) of the 3 × 3 grids that follow the first,
#: 5 × 5 one of half-pixel steps; at most _REFINE_MAX_MOVES moves of the first grid.
_REFINE_STEPS = (0.1, 0.02)
_REFINE_MAX_MOVES = 6


@dataclass(frozen=True)
class StripeEstimate:
    """Stripe parameters of one raw stack, estimated (or taken from an oracle).

    ``pattern`` is a :class:`StripePattern` (angles in [0, π), phases of the
    wave vector with that angle, frequency and modulation averaged over the
    angles); the per-angle values that the reconstruction uses are kept in
    ``k_vectors_per_um`` ((kx, ky) per angle, cycles/µm), ``modulations`` and
    ``peak_ratios`` (correlation peak over its ring's background; inf for oracle) and
    ``correlations`` (the correlation coefficient ρ at the peak, ≤ 1; 1 for oracle).
    """

    pattern: StripePattern
    k_vectors_per_um: tuple[tuple[float, float], ...]
    modulations: tuple[float, ...]
    peak_ratios: tuple[float, ...]
    cutoff_per_um: float
    source: str = "estimated"
    correlations: tuple[float, ...] = ()

    @property
    def frequencies_per_um(self) -> tuple[float, ...]:
        return tuple(float(math.hypot(kx, ky)) for kx, ky in self.k_vectors_per_um)

    @classmethod
    def from_pattern(cls, pattern: StripePattern, optics: Optics, source: str = "oracle") -> StripeEstimate:
        """The estimate that a known pattern implies (e.g. ``raw.pattern`` when ``raw.oracle``).

        Angles are folded into [0, π) (phases negated where an angle is flipped).
        """
        angles, phases = [], []
        for theta, row in zip(pattern.angles_rad, pattern.phases_rad):
            theta, row = _fold_angle(float(theta), np.asarray(row, dtype=np.float64))
            angles.append(theta)
            phases.append(tuple(float(p) for p in row))
        f = pattern.frequency_per_um
        folded = StripePattern(frequency_per_um=f, angles_rad=tuple(angles), phases_rad=tuple(phases),
                               modulation=pattern.modulation)
        return cls(pattern=folded,
                   k_vectors_per_um=tuple((f * math.cos(t), f * math.sin(t)) for t in angles),
                   modulations=(float(pattern.modulation),) * pattern.n_angles,
                   peak_ratios=(math.inf,) * pattern.n_angles,
                   cutoff_per_um=optics.cutoff_per_um, source=source,
                   correlations=(1.0,) * pattern.n_angles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: radians and degrees, frequency also as a fraction of k_c."""
        freqs = self.frequencies_per_um
        phases = np.asarray(self.pattern.phases_rad)
        return {
            "source": self.source,
            "frequency_per_um": self.pattern.frequency_per_um,
            "frequency_fraction_of_cutoff": self.pattern.frequency_per_um / self.cutoff_per_um,
            "frequencies_per_um": list(freqs),
            "frequencies_fraction_of_cutoff": [f / self.cutoff_per_um for f in freqs],
            "cutoff_per_um": self.cutoff_per_um,
            "k_vectors_per_um": [list(k) for k in self.k_vectors_per_um],
            "angles_rad": list(self.pattern.angles_rad),
            "angles_deg": [math.degrees(a) for a in self.pattern.angles_rad],
            "phases_rad": phases.tolist(),
            "phases_deg": np.degrees(phases).tolist(),
            "modulation": self.pattern.modulation,
            "modulations": list(self.modulations),
            "peak_ratios": [r if math.isfinite(r) else None for r in self.peak_ratios],
            "correlations": list(self.correlations),
        }


def frames_by_pattern(frames: np.ndarray, frame_patterns: Sequence[int], n_angles: int,
                      n_phases: int) -> np.ndarray:
    """Frames regrouped as (n_angles, n_phases, H, W) by pattern index ``a·n_phases + p``.

    Every pattern must be shown exactly once (ValueError otherwise).
    """
    frames = np.asarray(frames)
    n_patterns = n_angles * n_phases
    if frames.ndim != 3:
        raise ValueError(f"frames must be (n_frames, H, W); got shape {frames.shape}")
    if frames.shape[0] != n_patterns:
        raise ValueError(f"expected {n_patterns} frames ({n_angles} angles x {n_phases} phases); "
                         f"got {frames.shape[0]}")
    order = np.asarray(frame_patterns, dtype=np.int64).reshape(-1)
    if sorted(order.tolist()) != list(range(n_patterns)):
        raise ValueError(f"frame_patterns must show each of the {n_patterns} patterns once; got {list(order)}")
    if np.array_equal(order, np.arange(n_patterns)):
        return frames.reshape(n_angles, n_phases, *frames.shape[1:])  # a view: no copy
    return frames[np.argsort(order)].reshape(n_angles, n_phases, *frames.shape[1:])


def separation_matrix(phases_rad: Sequence[float]) -> np.ndarray:
    """(3, n_phases) complex matrix turning n_phases frames of one angle into bands.

    Row 0 (real) gives band 0 = S̃·OTF, row 1 band +1 = ½m·S̃(f − k)·OTF(f) and row 2
    band −1 (its conjugate partner): the least-squares inverse of
    ``D_p = ½·(B0 + e^{iφ_p}·B+ + e^{−iφ_p}·B−)`` (exact for 3 phases).
    """
    phi = np.asarray(phases_rad, dtype=np.float64)
    mixing = 0.5 * np.stack([np.ones_like(phi), np.exp(1j * phi), np.exp(-1j * phi)], axis=1)
    return np.linalg.pinv(mixing)


def estimate_stripes(frames: np.ndarray, optics: Optics, nominal: StripePattern,
                     frame_patterns: Sequence[int], *,
                     min_peak_ratio: float = MIN_PEAK_RATIO) -> StripeEstimate:
    """Estimate wave vectors, per-frame phases and modulation of 2-beam stripes.

    ``frames`` (n_frames, H, W); frame i shows pattern ``frame_patterns[i]``
    (index ``a·n_phases + p``); ``nominal`` gives the number of angles and
    phases and the nominal phase steps, used only to separate the bands for
    the search: the result does not depend on the nominal frequency or angles.
    Raises :class:`EstimationError` when an angle shows no carrier.
    """
    grouped = frames_by_pattern(frames, frame_patterns, nominal.n_angles, nominal.n_phases)
    n_angles, n_phases, height, width = grouped.shape
    if n_phases < 3:
        raise ValueError(f"need at least 3 phases per angle to separate bands; got {n_phases}")
    grid = _EstimationGrid.get((height, width), optics)
    data = grouped.astype(np.float32, copy=True)
    data -= np.float32(data.mean(dtype=np.float64))
    data *= grid.taper

    # Band 0 from all frames: 2 × mean frame (mean illumination ½).  Bands +1 of all
    # angles (nominal phase steps) from one batched complex FFT.
    c0 = sfft.rfft2(data.mean(axis=(0, 1)) * np.float32(2.0), workers=thread_budget())
    rows = np.stack([separation_matrix(nominal.phases_rad[a])[1] for a in range(n_angles)])
    plus = np.zeros((n_angles, height, width), dtype=np.complex64)
    for a in range(n_angles):
        for p in range(n_phases):
            plus[a] += rows[a, p].astype(np.complex64) * data[a, p]
    plus = sfft.fft2(plus, workers=thread_budget(), overwrite_x=True)
    products, overlaps, peaks, norm = _find_carriers(c0, plus, grid, optics, min_peak_ratio, "angle")

    k_vectors, phases, modulations, ratios, correlations = [], [], [], [], []
    for a, (ky, kx, rho, ratio) in enumerate(peaks):
        if _angle(grid, ky, kx) >= math.pi:
            ky, kx = -ky, -kx  # canonical wave vector: angle in [0, π)
        x_pm = norm * _dtft(products[a], np.array([ky, -ky]), np.array([kx, -kx]), grid)
        # Σ_f C₋(f)·Ĉ0*(f − k) = conj(Σ_f C₊(f)·Ĉ0*(f + k)) for real frames
        x_plus, x_minus = complex(x_pm[0, 0]), complex(np.conj(x_pm[1, 1]))
        _, n0 = overlaps[a].powers(np.array([ky]), np.array([kx]))
        nominal_phi = np.asarray(nominal.phases_rad[a], dtype=np.float64)
        # z_p − ½·X0(k) for each frame p (the frames are the nominal mix of the bands);
        # band 0's own term ½·X0 is common to the frames and ends up in the circle's centre
        z = 0.5 * (np.exp(1j * nominal_phi) * x_plus + np.exp(-1j * nominal_phi) * x_minus)
        centre, radius = _fit_circle(z)
        phases.append(tuple(float(np.angle(zp - centre)) for zp in z))
        # frame p's side band is ¼·m·e^{iφ_p}·S̃(f − k)·OTF(f): |z_p − centre| = ¼·m·N0(k)
        modulations.append(float(4.0 * radius / (norm * float(n0[0, 0]))))
        k_vectors.append(grid.to_per_um(ky, kx)[::-1])
        ratios.append(float(ratio))
        correlations.append(float(rho))

    freqs = [math.hypot(kx_, ky_) for kx_, ky_ in k_vectors]
    angles = [math.atan2(ky_, kx_) % math.pi for kx_, ky_ in k_vectors]
    pattern = StripePattern(frequency_per_um=float(np.mean(freqs)), angles_rad=tuple(angles),
                            phases_rad=tuple(phases), modulation=float(np.mean(modulations)))
    return StripeEstimate(pattern=pattern, k_vectors_per_um=tuple((float(x), float(y)) for x, y in k_vectors),
                          modulations=tuple(modulations), peak_ratios=tuple(ratios),
                          cutoff_per_um=optics.cutoff_per_um, correlations=tuple(correlations))


def _find_carriers(c0: np.ndarray, plus: np.ndarray, grid: _EstimationGrid, optics: Optics,
                   min_peak_ratio: float, label: str) -> tuple[np.ndarray, list[_Overlaps], list[tuple[float, float, float, float]],
                                                   float]:
    """Steps 2–4 of the module docstring for every side band: ``c0`` the rfft2 of band 0
    (H, W//2+1), ``plus`` the fft2 of the side bands (n, H, W), both of tapered,
    mean-free data.  Returns the fine-grid products Ĉ₊·Ĉ0* (n, G_y, G_x), each band's
    overlaps, its peak (ky, kx in frequency pixels, ρ, ratio) and the DTFT norm G.
    ``label`` names a band in the error (e.g. "angle" for stripes)."""
    c0_box, plus_box = _box_from_rfft(c0, grid), _box_from_fft(plus, grid)
    # white-noise power per frequency pixel of each band, from outside the OTF support
    noise0 = _noise_power(np.abs(c0[grid.noise_mask_half]) ** 2, grid.noise_mask_half)
    noise_plus = _noise_power(np.abs(plus[:, grid.noise_mask_full]) ** 2, grid.noise_mask_full)

    # Fine-grid real-space arrays whose DTFTs at k (frequency pixels) are, with G = G_y·G_x:
    #   G·DTFT[products](k) = Σ_f Ĉ₊(f)·Ĉ0*(f − k) = Σ U·V*       (Ĉ = C·OTF·mask·notch)
    #   G·DTFT[n_plus](k)   = Σ_f |C₊(f)|²·w(f)·OTF²w(f − k) = Σ|U|² (+ noise)
    #   G·DTFT[n_zero](k)   = Σ_g |C0(g)|²·w(g)·OTF²w(g + k) = Σ|V|² (+ noise)
    #   G·DTFT[area](k)     = Σ_f w(f)·OTF²w(f − k)          (noise power × area = noise part)
    # with w = mask·notch; the last three are concentrated at the origin (centred DTFT).
    c0_fine = sfft.irfft2(_pad_box(c0_box * grid.weight, grid, half=True), s=grid.fine_shape, workers=thread_budget())
    products = sfft.ifft2(_pad_box(plus_box * grid.weight, grid, half=False), workers=thread_budget(), overwrite_x=True)
    products *= c0_fine
    n_zero = sfft.irfft2(_pad_box(np.abs(c0_box) ** 2 * grid.window, grid, half=True), s=grid.fine_shape,
                         workers=thread_budget())
    n_zero *= grid.otf2_fine
    n_plus = sfft.ifft2(_pad_box(np.abs(plus_box) ** 2 * grid.window, grid, half=False), workers=thread_budget(),
                        overwrite_x=True)
    n_plus *= grid.otf2_fine
    norm = float(grid.fine_shape[0] * grid.fine_shape[1])

    # ρ on the integer grid (noise included, so 0 ≤ ρ ≤ 1 by Cauchy–Schwarz)
    x_int = np.abs(sfft.fft2(products, workers=thread_budget()))
    n_plus_int = sfft.fft2(n_plus, workers=thread_budget()).real
    n_zero_int = sfft.fft2(n_zero, workers=thread_budget()).real
    tiny = 1e-30
    rho_int = x_int / np.sqrt(np.maximum(n_plus_int, tiny).astype(np.float64) * np.maximum(n_zero_int, tiny))
    zero_spline = _Spline(n_zero_int)

    overlaps_out, peaks = [], []
    for a in range(len(plus)):
        ky, kx, background = _coarse_peak(rho_int[a], grid)
        overlaps = _Overlaps(_Spline(n_plus_int[a]), zero_spline, grid.area_spline,
                             (float(noise_plus[a]), float(noise0)))
        ky, kx, rho = _refine_peak(products[a], overlaps, ky, kx, grid)
        ratio = rho / background
        if not (ratio >= min_peak_ratio or rho >= MIN_CORRELATION):
            raise EstimationError(
                f"no carrier (structured illumination) found for {label} {a}: correlation peak-to-background "
                f"ratio {ratio:.1f} < {min_peak_ratio:g} and correlation {rho:.2f} < {MIN_CORRELATION:g} (best "
                f"candidate at {math.hypot(*grid.to_per_um(ky, kx)) / optics.cutoff_per_um:.2f}·k_c); "
                "are these frames structured-illumination data?")
        overlaps_out.append(overlaps)
        peaks.append((ky, kx, rho, ratio))
    return products, overlaps_out, peaks, norm


@dataclass(frozen=True)
class CarrierEstimate:
    """One side band's carrier, estimated from the data: ``k_vector_per_um`` (kx, ky) in
    cycles/µm and the band's complex ``amplitude`` relative to band 0 (band =
    amplitude·(S·e^{2πi k·r}) ⊗ PSF, r from pixel index 0), with the detection
    statistics ``peak_ratio`` and ``correlation`` (ρ ≤ 1) of :func:`estimate_stripes`."""

    k_vector_per_um: tuple[float, float]
    amplitude: complex
    peak_ratio: float
    correlation: float

    def to_dict(self) -> dict[str, Any]:
        return {"k_vector_per_um": list(self.k_vector_per_um),
                "frequency_per_um": math.hypot(*self.k_vector_per_um),
                "amplitude": abs(self.amplitude), "phase_rad": math.atan2(self.amplitude.imag, self.amplitude.real),
                "peak_ratio": self.peak_ratio, "correlation": self.correlation}


def estimate_carriers(band0: np.ndarray, side_bands: np.ndarray, optics: Optics, *,
                      min_peak_ratio: float = MIN_PEAK_RATIO) -> tuple[CarrierEstimate, ...]:
    """Carrier and complex amplitude of each of already separated side bands (any SIM
    pattern, e.g. the hexagonal light sheet's), by the band cross-correlation of this
    module (steps 2–4): ``band0`` (H, W) real, S ⊗ PSF; ``side_bands`` (n, H, W) complex,
    each a·(S·e^{2πi k·r}) ⊗ PSF for one unknown k (either sign, anywhere in the search
    annulus).  Raises :class:`EstimationError` when a band shows no carrier."""
    band0 = np.asarray(band0, dtype=np.float32)
    side_bands = np.asarray(side_bands, dtype=np.complex64)
    if band0.ndim != 2 or side_bands.ndim != 3 or side_bands.shape[1:] != band0.shape:
        raise ValueError(f"need band 0 (H, W) and side bands (n, H, W); got {band0.shape} and {side_bands.shape}")
    grid = _EstimationGrid.get(band0.shape, optics)
    c0 = sfft.rfft2((band0 - np.float32(band0.mean(dtype=np.float64))) * grid.taper, workers=thread_budget())
    plus = sfft.fft2(side_bands * grid.taper, workers=thread_budget())
    products, overlaps, peaks, norm = _find_carriers(c0, plus, grid, optics, min_peak_ratio, "band")
    estimates = []
    for a, (ky, kx, rho, ratio) in enumerate(peaks):
        x = norm * _dtft(products[a], np.array([ky]), np.array([kx]), grid)[0, 0]
        _, n0 = overlaps[a].powers(np.array([ky]), np.array([kx]))
        ky_um, kx_um = grid.to_per_um(ky, kx)
        estimates.append(CarrierEstimate(k_vector_per_um=(float(kx_um), float(ky_um)),
                                         amplitude=complex(x / (norm * float(n0[0, 0]))), peak_ratio=float(ratio),
                                         correlation=float(rho)))
    return tuple(estimates)


# --------------------------------------------------------------------------- helpers


def _fold_angle(theta: float, phases: np.ndarray) -> tuple[float, np.ndarray]:
    """Angle folded into [0, π); phases negated when the wave vector is flipped."""
    folded = theta % (2 * math.pi)
    if folded >= math.pi:
        return folded - math.pi, -phases
    return folded, phases


def _angle(grid: _EstimationGrid, ky: float, kx: float) -> float:
    """Angle in [0, 2π) of a wave vector given in frequency pixels."""
    ky_um, kx_um = grid.to_per_um(ky, kx)
    return math.atan2(ky_um, kx_um) % (2 * math.pi)


class _EstimationGrid:
    """Everything that depends only on the frame shape and the optics (cached)."""

    def __init__(self, shape: tuple[int, int], optics: Optics) -> None:
        height, width = shape
        px = optics.pixel_size_nm
        k_c = optics.cutoff_per_um
        # frequency spacing (cycles/µm) of the raw grid along y and x
        self.df = (1e3 / (height * px), 1e3 / (width * px))
        # half-size (frequency pixels) of the box holding the OTF support
        self.radius = tuple(min(math.ceil(k_c / d) + 1, n // 2 - 1) for d, n in zip(self.df, shape))
        ry, rx = self.radius
        fy = fft_freqs_per_um(height, px)
        fx = fft_freqs_per_um(width, px)
        box_fy = np.concatenate([fy[height - ry:], fy[:ry + 1]])  # centred: −ry … ry
        box_fx = np.concatenate([fx[width - rx:], fx[:rx + 1]])
        otf = otf_profile(np.hypot(box_fy[:, None], box_fx[None, :]) / k_c)
        lo, hi = OTF_MASK_RAMP
        ramp = np.clip((otf - lo) / (hi - lo), 0.0, 1.0)
        mask = ramp * ramp * (3 - 2 * ramp)
        g_px = np.hypot(box_fy[:, None] / min(self.df), box_fx[None, :] / min(self.df))
        notch = 1 - np.exp(-0.5 * (g_px / DC_NOTCH_SIGMA_PX) ** 2)
        #: |band|² weight w = mask·notch, and the band weight OTF·w
        self.window = (mask * notch).astype(np.float32)
        self.weight = (otf * mask * notch).astype(np.float32)
        # fine grid: the product of two bands (support 2·k_c) must not alias into the
        # search annulus (|k| ≤ SEARCH_MAX_FRACTION·k_c): G ≥ (2 + SEARCH_MAX_FRACTION)·radius
        self.fine_shape = tuple(sfft.next_fast_len(math.ceil((2 + SEARCH_MAX_FRACTION) * r) + 2)
                                for r in self.radius)
        gy, gx = self.fine_shape
        # the fine grid has the raw grid's frequency spacing
        k_abs = np.hypot(fft_freqs_per_um(gy, height * px / gy)[:, None],
                         fft_freqs_per_um(gx, width * px / gx)[None, :])
        self.annulus = (k_abs >= SEARCH_MIN_FRACTION * k_c) & (k_abs <= SEARCH_MAX_FRACTION * k_c)
        rings = np.rint(k_abs / min(self.df)).astype(np.int64)
        self.annulus_rings = rings[self.annulus]
        self.annulus_index = np.flatnonzero(self.annulus)
        self.n_rings = int(rings.max()) + 1
        self.ring_counts = np.maximum(np.bincount(self.annulus_rings, minlength=self.n_rings), 1)
        # IFT of OTF²·w (real: even) and the noise areas IFT(w)·IFT(OTF²·w)
        self.otf2_fine = sfft.irfft2(_pad_box(otf ** 2 * self.window, self, half=True), s=self.fine_shape)
        area = self.otf2_fine * sfft.irfft2(_pad_box(self.window, self, half=True), s=self.fine_shape)
        self.area_spline = _Spline(sfft.fft2(area).real)
        self.otf2_fine = self.otf2_fine.astype(np.float32)
        # out-of-band regions of the raw rfft / fft grids (noise only) for the noise power
        self.noise_mask_half = np.hypot(fy[:, None], fft_freqs_per_um(width, px, rfft=True)[None, :]) > 1.05 * k_c
        self.noise_mask_full = np.hypot(fy[:, None], fx[None, :]) > 1.05 * k_c
        self.taper = edge_taper((height, width)).astype(np.float32)
        for array in (self.window, self.weight, self.annulus, self.annulus_rings, self.annulus_index,
                      self.otf2_fine, self.noise_mask_half, self.noise_mask_full, self.taper):
            array.flags.writeable = False

    @staticmethod
    @lru_cache(maxsize=8)
    def get(shape: tuple[int, int], optics: Optics) -> _EstimationGrid:
        return _EstimationGrid(shape, optics)

    def to_per_um(self, ky: float, kx: float) -> tuple[float, float]:
        """(ky, kx) in frequency pixels → cycles/µm."""
        return ky * self.df[0], kx * self.df[1]


def _box_from_fft(spectrum: np.ndarray, grid: _EstimationGrid) -> np.ndarray:
    """Centred box (…, 2ry+1, 2rx+1) of full fft2 spectra around f = 0."""
    ry, rx = grid.radius
    return spectrum[..., np.r_[-ry:ry + 1][:, None], np.r_[-rx:rx + 1][None, :]]


def _box_from_rfft(spectrum: np.ndarray, grid: _EstimationGrid) -> np.ndarray:
    """Centred box (2ry+1, 2rx+1) of a real image's spectrum from its rfft2 (Hermitian fill)."""
    ry, rx = grid.radius
    right = spectrum[np.r_[-ry:ry + 1][:, None], np.r_[0:rx + 1][None, :]]
    left = np.conj(right[::-1, :0:-1])  # F(−f) = conj F(f) for a real image
    return np.concatenate([left, right], axis=-1)


def _pad_box(box: np.ndarray, grid: _EstimationGrid, half: bool) -> np.ndarray:
    """Centred box → unshifted spectrum on the fine grid (rfft layout if ``half``)."""
    ry, rx = grid.radius
    gy, gx = grid.fine_shape
    out = np.zeros(box.shape[:-2] + (gy, gx // 2 + 1 if half else gx), dtype=np.complex64)
    rows = (np.r_[-ry:ry + 1] % gy)[:, None]
    if half:
        out[..., rows, np.r_[0:rx + 1][None, :]] = box[..., :, rx:]
    else:
        out[..., rows, (np.r_[-rx:rx + 1] % gx)[None, :]] = box
    return out


def _coarse_peak(rho: np.ndarray, grid: _EstimationGrid) -> tuple[float, float, float]:
    """Integer (ky, kx) (frequency pixels) of the largest ring-normalised ρ in the annulus,
    and the robust ring background of ρ there."""
    values = rho.ravel()[grid.annulus_index]
    rings = grid.annulus_rings
    mean = np.bincount(rings, weights=values, minlength=grid.n_rings) / grid.ring_counts
    # robust background: the mean again with the few peak pixels clipped at 3× the mean
    clipped = np.minimum(values, 3.0 * mean[rings])
    background = np.bincount(rings, weights=clipped, minlength=grid.n_rings) / grid.ring_counts
    background = np.maximum(background, np.finfo(np.float64).tiny)
    best = int(np.argmax(values / background[rings]))
    iy, ix = np.unravel_index(grid.annulus_index[best], rho.shape)
    gy, gx = grid.fine_shape
    ky = iy - gy if iy > gy // 2 else iy
    kx = ix - gx if ix > gx // 2 else ix
    return float(ky), float(kx), float(background[rings[best]])


def _dtft(array: np.ndarray, ky: np.ndarray, kx: np.ndarray, grid: _EstimationGrid) -> np.ndarray:
    """DTFT (len ky, len kx) of a fine-grid array (G_y, G_x), sample positions 0 … G − 1,
    at frequencies ky × kx (frequency pixels).

    Plain C loops (einsum without BLAS): these thin products are cheap, but a threaded
    BLAS can stall on them for whole scheduler slices when the machine is busy."""
    gy, gx = grid.fine_shape
    ey = np.exp(-2j * np.pi * np.outer(ky, np.arange(gy)) / gy).astype(np.complex64)
    ex = np.exp(-2j * np.pi * np.outer(np.arange(gx), kx) / gx).astype(np.complex64)
    return np.einsum("iy,yj->ij", ey, np.einsum("yx,xj->yj", array, ex))


class _Spline:
    """Periodic cubic-spline interpolation of a smooth function sampled on the integer
    frequency grid (N₊, N0 and the noise area vary over several pixels: the mask ramp and
    the notch are that wide), so it can be evaluated at sub-pixel k without a DTFT."""

    def __init__(self, values: np.ndarray) -> None:
        self.shape = values.shape
        self.coefficients = ndimage.spline_filter(np.asarray(values, dtype=np.float64), order=3, mode="grid-wrap")

    def __call__(self, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        yy, xx = np.meshgrid(np.asarray(ky) % self.shape[0], np.asarray(kx) % self.shape[1], indexing="ij")
        return ndimage.map_coordinates(self.coefficients, [yy.ravel(), xx.ravel()], order=3, mode="grid-wrap",
                                       prefilter=False).reshape(yy.shape)


@dataclass(frozen=True)
class _Overlaps:
    """N₊(k) = Σ|U|² and N0(k) = Σ|V|² (fine-grid units) at continuous k."""

    n_plus: _Spline
    n_zero: _Spline
    area: _Spline
    noise: tuple[float, float]

    def powers(self, ky: np.ndarray, kx: np.ndarray, subtract_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The white noise is removed (never more than 90 % of a power: a safeguard against
        an over-estimated noise) unless ``subtract_noise`` is False."""
        raw_plus, raw_zero = self.n_plus(ky, kx), self.n_zero(ky, kx)
        if not subtract_noise:
            return raw_plus, raw_zero
        area = self.area(ky, kx)
        return (np.maximum(raw_plus - self.noise[0] * area, 0.1 * raw_plus),
                np.maximum(raw_zero - self.noise[1] * area, 0.1 * raw_zero))


def _refine_peak(product: np.ndarray, overlaps: _Overlaps, ky: float, kx: float,
                 grid: _EstimationGrid) -> tuple[float, float, float]:
    """Maximise ρ(k) = |Σ U·V*|/√(N₊·N0) at continuous k around the integer peak (ky, kx).

    A 5 × 5 grid of half-pixel steps (moved while its best point is on its border) finds
    the main lobe; the vertex of a quadratic through the 3 × 3 values around its best
    point, then through 3 × 3 grids of _REFINE_STEPS, gives the peak.  Returns the wave
    vector (frequency pixels) and ρ there with the noise left in the norms (≤ 1: the
    detection statistic, not inflated where the powers are mostly noise)."""
    def rho2_on(ys: np.ndarray, xs: np.ndarray, subtract_noise: bool = True) -> np.ndarray:
        n_plus, n_zero = overlaps.powers(ys, xs, subtract_noise)
        x = _dtft(product, ys, xs, grid)
        return (x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2) / np.maximum(
            n_plus * n_zero, 1e-300)

    offsets = 0.5 * (np.arange(5) - 2)
    iy = ix = 2
    for _ in range(_REFINE_MAX_MOVES):
        rho2 = rho2_on(ky + offsets, kx + offsets)
        iy, ix = np.unravel_index(int(np.argmax(rho2)), rho2.shape)
        if 0 < iy < 4 and 0 < ix < 4:
            break
        ky, kx = ky + offsets[iy], kx + offsets[ix]
    dy, dx = _quadratic_vertex(rho2[iy - 1:iy + 2, ix - 1:ix + 2]) if 0 < iy < 4 and 0 < ix < 4 else (0.0, 0.0)
    ky, kx = ky + offsets[iy] + 0.5 * dy, kx + offsets[ix] + 0.5 * dx
    for step in _REFINE_STEPS:
        around = step * np.array([-1.0, 0.0, 1.0])
        dy, dx = _quadratic_vertex(rho2_on(ky + around, kx + around))
        ky, kx = ky + step * dy, kx + step * dx
    at_peak = (np.array([ky]), np.array([kx]))
    return ky, kx, math.sqrt(float(rho2_on(*at_peak, subtract_noise=False)[0, 0]))


def _quadratic_vertex(values: np.ndarray) -> tuple[float, float]:
    """Offset (in steps, clipped to ±1) of the maximum of the quadratic fitted to 3 × 3 values."""
    v = values
    gy = 0.5 * (v[2, 1] - v[0, 1])
    gx = 0.5 * (v[1, 2] - v[1, 0])
    hyy = v[2, 1] - 2 * v[1, 1] + v[0, 1]
    hxx = v[1, 2] - 2 * v[1, 1] + v[1, 0]
    hxy = 0.25 * (v[2, 2] - v[2, 0] - v[0, 2] + v[0, 0])
    det = hyy * hxx - hxy * hxy
    if not (hyy < 0 and det > 0):
        return 0.0, 0.0
    dy = -(hxx * gy - hxy * gx) / det
    dx = -(hyy * gx - hxy * gy) / det
    return float(np.clip(dy, -1, 1)), float(np.clip(dx, -1, 1))


def _fit_circle(z: np.ndarray) -> tuple[complex, float]:
    """Centre and radius of the least-squares (Kåsa) circle through points z (exact for 3)."""
    scale = float(np.max(np.abs(z))) or 1.0
    x, y = z.real / scale, z.imag / scale  # unit scale: the design matrix is well conditioned
    design = np.stack([x, y, np.ones_like(x)], axis=1)
    (a, b, c), *_ = np.linalg.lstsq(design, x * x + y * y, rcond=None)
    centre = complex(a / 2, b / 2)
    return centre * scale, scale * float(math.sqrt(max(c + abs(centre) ** 2, 0.0)))


def _noise_power(power: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean |C|² per frequency pixel outside the OTF support (white noise) along the last
    axis of ``power`` (the masked pixels); 0 when that region is too small to tell."""
    if mask.sum() < 0.01 * mask.size:
        return np.zeros(power.shape[:-1])
    return power.mean(axis=-1)

"""Method ``wiener``: classical 2D SIM reconstruction, generalised Wiener filter
(Gustafsson 2000; fairSIM), with stripe parameters estimated from the data
(:func:`simbench.physics.estimate_stripes`; SCIENCE.md §6).

Per angle the frames are separated into bands by inverting the 3 × 3 phase
matrix of the estimated per-frame phases; band ±1 is moved by ∓k₀ to its true
place on the 2× grid: the fractional part of k₀ (in frequency pixels) by a
real-space phase ramp on the raw grid before its FFT, the integer part by an
index offset on the 2× spectrum — exact, no interpolation.  Band −1 is not
computed: for real frames it is the Hermitian partner of band +1
(B₋(f) = conj B₊(−f)).  With H the OTF (:func:`simbench.physics.otf_profile`),
the effective transfer function of band +1 of an angle at object frequency f is
``H_b(f) = ½m·H(f + k₀)`` (the side band's share of the pattern ½(1 + m cos):
modulation compensation inside the filter), that of band 0 is H(f), and

    Ŝ(f) = A(f) · Σ_b att_b(f)·H_b(f)·band_b(f) / (Σ_b att_b(f)·H_b(f)² + w² + R(f)),

where att_b = 1 − s·exp(−d²/2σ²) attenuates each band near its own origin (d =
distance to where the band's OTF argument is 0), R(f) = n_angles·Φ_N/Φ_O(f) is the
minimum-mean-square-error term from the data's own noise and object power spectra
(:func:`simbench.physics.estimate_power_spectra`), and A is the apodisation
``otf_profile(|f| / (k_c + k₀,max))^β`` of the extended support.  The output is
real, on a grid 2× finer than the raw frames, at the widefield intensity scale
(the mean frame: a uniform object gives the same level up to the filter's DC gain).
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import scipy.fft as sfft

import simbench
from simbench import MODALITY_SIM2D, Method, RawStack, Reconstruction, hookimpl
from simbench.physics import (
    PowerSpectra,
    StripeEstimate,
    estimate_power_spectra,
    estimate_stripes,
    fft_freqs_per_um,
    frames_by_pattern,
    otf_profile,
    separation_matrix,
    thread_budget,
)

#: Size of the lookup tables of the band weights (otf_profile times the attenuation, in
#: |u| ∈ [0, k_c]): the nearest entry is within |dOTF/dv|·½/(n − 1) ≤ (4/π)/(2·8191) ≈ 8e-5.
_OTF_TABLE_SIZE = 8192


class Wiener(Method):
    name = "wiener"
    modalities = (MODALITY_SIM2D,)
    description = ("Classical 2D SIM: stripe parameters estimated from the data, generalised Wiener "
                   "filter (Gustafsson 2000 / fairSIM).")
    version = "2"
    #: frames are regrouped by ``raw.frame_patterns``: any order of the 9 patterns works
    accepts_any_pattern_order = True

    #: The regulariser is w² + s·n_angles·Φ_N/Φ_O(f), in units of the band-0 OTF² (relative to a
    #: noise-free band at OTF = 1).  Φ_N/Φ_O(f) is the minimum-mean-square-error term: noise
    #: over object power, measured on the mean frame (:func:`simbench.physics.estimate_power_spectra`:
    #: white noise beyond the cut-off, a power law |f|^−α fitted below it and extrapolated to the
    #: extended support); n_angles converts the mean frame's noise to one band's (each band is
    #: (2/n_phases)·Σ of its angle's frames, the mean frame 1/(n_angles·n_phases)·Σ of all).  It
    #: follows each sample's noise level and spectrum: strong where a smooth scene has no signal
    #: left, weak at low frequencies.  w is the classical constant (SCIENCE.md §6 quotes
    #: w ≈ 0.05): a floor for what is not noise (parameter and OTF errors), and it keeps the
    #: simulated-bead FWHM ratio inside 0.5–0.65 (SCIENCE.md §6).  Measured on the static
    #: suite's *train* pool (12 samples, mean PSNR / SSIM; rl-deconv 27.82 dB / 0.788):
    #:   fixed w = 0.1, β = 0.6 (version 1):          27.99 dB / 0.797, bead ratio 0.50
    #:   w = 0.01, s = 1, β = 0.2 (nearly pure MMSE): 28.71 dB / 0.818, bead ratio 0.41 (rings)
    #:   w = 0.1,  s = 1, β = 0.4:                    28.23 dB / 0.815, bead ratio 0.51
    #:   w = 0.1,  s = 1, β = 0.3:                    28.35 dB / 0.820, bead ratio 0.499
    wiener_constant: ClassVar[float] = 0.1
    regularisation_scale: ClassVar[float] = 1.0
    #: Band-origin attenuation 1 − s·exp(−d²/2σ²) with s = 0.99 and σ = 1.2/2.355 cycles/µm
    #: (FWHM 1.2 cycles/µm; SCIENCE.md §6, fairSIM's defaults).
    attenuation_strength: ClassVar[float] = 0.99
    attenuation_fwhm_per_um: ClassVar[float] = 1.2
    #: Apodisation A(f) = otf_profile(|f|/(k_c + k₀))^β: the incoherent OTF shape stretched
    #: to the extended support k_c + k₀ (largest k₀ of the angles), so the spectrum falls
    #: smoothly to zero exactly where the data end.  SCIENCE.md §6 (fairSIM) uses
    #: OTF(k/2k_c)^0.9; with the spectral regulariser above damping the noise, β = 0.4 keeps the
    #: bead ratio above 0.5 at +0.2 dB PSNR over β = 0.6 (figures above).
    apodisation_exponent: ClassVar[float] = 0.4
    #: Estimated modulations are clipped to [min, 1] before they scale the side bands:
    #: a low estimate would otherwise amplify the side bands' noise without bound.
    min_modulation: ClassVar[float] = 0.3

    def reconstruct(self, raw: RawStack) -> Reconstruction:
        if raw.modality not in self.modalities:
            raise ValueError(f"method {self.name!r} reconstructs {MODALITY_SIM2D!r} stacks; got {raw.modality!r}")
        pattern = raw.pattern
        if raw.frames.shape[0] != pattern.n_patterns:
            raise ValueError(f"method {self.name!r} needs {pattern.n_patterns} frames ({pattern.n_angles} angles "
                             f"x {pattern.n_phases} phases); got {raw.frames.shape[0]}")
        if raw.oracle:
            estimate = StripeEstimate.from_pattern(pattern, raw.optics)
        else:
            estimate = estimate_stripes(raw.frames, raw.optics, pattern, raw.frame_patterns)
        spectra = estimate_power_spectra(raw.frames.mean(axis=0), raw.optics.pixel_size_nm, raw.optics)
        image = self.apply(raw.frames, raw.frame_patterns, raw.optics, estimate, spectra)
        return Reconstruction(image=image, info={"pattern": estimate.to_dict(), "spectra": spectra.to_dict(),
                                                 "oracle": bool(raw.oracle)})

    def apply(self, frames: np.ndarray, frame_patterns: Sequence[int], optics: simbench.Optics,
              estimate: StripeEstimate, spectra: PowerSpectra) -> np.ndarray:
        """The Wiener reconstruction (2H, 2W) float32 of ``frames`` (frame i shows pattern
        ``frame_patterns[i]``) with given stripe parameters (estimated or true) and noise and
        object spectra (of the mean frame)."""
        pattern = estimate.pattern
        grouped = frames_by_pattern(frames, frame_patterns, pattern.n_angles, pattern.n_phases)
        return _wiener_sim2d(np.asarray(grouped, dtype=np.float32), optics, estimate, spectra, self._params())

    def _params(self) -> _Params:
        return _Params(wiener_constant=float(self.wiener_constant),
                       regularisation_scale=float(self.regularisation_scale),
                       attenuation_strength=float(self.attenuation_strength),
                       attenuation_sigma_per_um=float(self.attenuation_fwhm_per_um) / (2 * math.sqrt(2 * math.log(2))),
                       apodisation_exponent=float(self.apodisation_exponent),
                       min_modulation=float(self.min_modulation))


@dataclass(frozen=True)
class _Params:
    """Filter parameters (hashable: cached weights depend on them)."""

    wiener_constant: float
    regularisation_scale: float
    attenuation_strength: float
    attenuation_sigma_per_um: float
    apodisation_exponent: float
    min_modulation: float


# --------------------------------------------------------------------------- filter pieces


@lru_cache(maxsize=8)
def _band_tables(cutoff_per_um: float, params: _Params) -> tuple[np.ndarray, np.ndarray, float]:
    """A band's numerator weight att·H and denominator term att·H² as functions of the
    distance |u| to the band's origin (both radial), sampled at |u| = k_c·i/(n − 1) with
    one zero past the cut-off; and the scale turning |u| (cycles/µm) into the index."""
    u = np.linspace(0.0, cutoff_per_um, _OTF_TABLE_SIZE)
    otf = otf_profile(u / cutoff_per_um)
    att = 1.0 - params.attenuation_strength * np.exp(-0.5 * (u / params.attenuation_sigma_per_um) ** 2)
    tables = [np.append(att * otf, 0.0).astype(np.float32), np.append(att * otf * otf, 0.0).astype(np.float32)]
    for table in tables:
        table.flags.writeable = False
    return tables[0], tables[1], (_OTF_TABLE_SIZE - 1) / cutoff_per_um


def _band_weights(u2: np.ndarray, cutoff_per_um: float, params: _Params) -> tuple[np.ndarray, np.ndarray]:
    """(att·H, att·H²) at squared distances u2 ((cycles/µm)²) from a band's origin: nearest
    table entry (within 1e-4 of the exact value), 0 beyond the cut-off."""
    numerator, denominator, scale = _band_tables(cutoff_per_um, params)
    index = np.sqrt(u2, dtype=np.float32)
    index *= np.float32(scale)
    np.minimum(index, np.float32(_OTF_TABLE_SIZE), out=index)
    index = np.rint(index, out=index).astype(np.intp)
    return numerator[index], denominator[index]


@lru_cache(maxsize=8)
def _grid(shape: tuple[int, int], optics: simbench.Optics) -> _Grid:
    return _Grid(shape, optics)


class _Grid:
    """What depends only on the raw frame shape and the optics."""

    def __init__(self, shape: tuple[int, int], optics: simbench.Optics) -> None:
        height, width = shape
        px = optics.pixel_size_nm
        self.cutoff = optics.cutoff_per_um
        # frequency spacing (cycles/µm) along y, x; OTF support box half-size (frequency pixels)
        self.df = (1e3 / (height * px), 1e3 / (width * px))
        self.radius = tuple(min(math.ceil(self.cutoff / d) + 1, n // 2 - 1) for d, n in zip(self.df, shape))
        ry, rx = self.radius
        fy = fft_freqs_per_um(height, px)
        fx = fft_freqs_per_um(width, px)
        # frequencies (cycles/µm) of the centred box −r … r
        self.box_fy = np.concatenate([fy[height - ry:], fy[:ry + 1]])
        self.box_fx = np.concatenate([fx[width - rx:], fx[:rx + 1]])
        # row and column pixel coordinates of the raw grid (for the phase ramps)
        self.y = np.arange(height, dtype=np.float64)
        self.x = np.arange(width, dtype=np.float64)


@lru_cache(maxsize=8)
def _centre_weights(shape: tuple[int, int], optics: simbench.Optics, params: _Params,
                    n_angles: int) -> tuple[np.ndarray, np.ndarray]:
    """Band-0 numerator weight att·H and denominator n_angles·att·H² on the half box
    (2ry+1, rx+1) of the rfft layout (rows −ry … ry, columns 0 … rx)."""
    grid = _grid(shape, optics)
    rx = grid.radius[1]
    numerator, denominator = _band_weights(grid.box_fy[:, None] ** 2 + grid.box_fx[None, rx:] ** 2, grid.cutoff,
                                           params)
    denominator = denominator * np.float32(n_angles)
    for array in (numerator, denominator):
        array.flags.writeable = False
    return numerator, denominator


@lru_cache(maxsize=8)
def _box_frequencies(half_size: tuple[int, int], df: tuple[float, float]) -> np.ndarray:
    """|f| (cycles/µm, float64, read-only) on the centred half box (2Ly+1, Lx+1) of the output spectrum."""
    ly, lx = half_size
    k = np.hypot((np.arange(-ly, ly + 1) * df[0])[:, None], (np.arange(lx + 1) * df[1])[None, :])
    k.flags.writeable = False
    return k


@lru_cache(maxsize=8)
def _apodisation(half_size: tuple[int, int], df: tuple[float, float], support_per_um: float,
                 exponent: float) -> np.ndarray:
    """2·A(f) = 2·otf_profile(|f|/support)^β on the centred half box (2Ly+1, Lx+1), float32."""
    apod = 2.0 * otf_profile(_box_frequencies(half_size, df) / support_per_um) ** exponent
    apod = apod.astype(np.float32)
    apod.flags.writeable = False
    return apod


def _add_box(acc: np.ndarray, values: np.ndarray, y0: int, x0: int, ly: int) -> None:
    """acc[jy + ly, jx] += values for the box whose [0, 0] element sits at (jy, jx) = (y0, x0),
    clipped to the accumulator (rows −ly … ly, columns 0 … Lx)."""
    height, width = values.shape
    x_start = max(0, -x0)
    if x_start >= width or x0 + x_start >= acc.shape[1]:
        return
    x_stop = min(width, acc.shape[1] - x0)
    acc[y0 + ly:y0 + ly + height, x0 + x_start:x0 + x_stop] += values[:, x_start:x_stop]


# --------------------------------------------------------------------------- reconstruction


def _wiener_sim2d(grouped: np.ndarray, optics: simbench.Optics, estimate: StripeEstimate,
                  spectra: PowerSpectra, params: _Params) -> np.ndarray:
    n_angles, _, height, width = grouped.shape
    grid = _grid((height, width), optics)
    ry, rx = grid.radius
    dfy, dfx = grid.df
    k_c = grid.cutoff
    k_vectors = np.asarray(estimate.k_vectors_per_um, dtype=np.float64)  # (kx, ky) per angle
    modulations = np.asarray(estimate.modulations, dtype=np.float64)
    modulations = np.clip(np.where(np.isfinite(modulations), modulations, 0.0), params.min_modulation, 1.0)
    # wave vectors in frequency pixels, split into integer and fractional parts
    k_px = np.stack([k_vectors[:, 1] / dfy, k_vectors[:, 0] / dfx], axis=1)  # (ky, kx)
    k_int = np.rint(k_px).astype(np.int64)
    k_frac = k_px - k_int
    # half size of the output spectrum box: every moved band lies inside it
    ly = int(np.max(np.abs(k_int[:, 0]))) + ry + 1
    lx = int(np.max(np.abs(k_int[:, 1]))) + rx + 1
    if ly >= height or lx >= width:
        raise ValueError(f"the moved bands reach beyond the 2x grid ({ly}, {lx} ≥ {height}, {width} frequency px)")

    separations = [separation_matrix(estimate.pattern.phases_rad[a]) for a in range(n_angles)]
    centre_coeff = np.array([separations[a][0].real for a in range(n_angles)], dtype=np.float32)
    # the bands are independent: one task each, on as many threads as there are cores
    # (numpy's array loops and the FFTs release the GIL)
    tasks = [lambda: _centre_box(grouped, centre_coeff, grid)]
    tasks += [lambda a=a: _side_band(grouped[a], separations[a][1], k_frac[a], float(modulations[a]), grid, params)
              for a in range(n_angles)]
    results = list(_executor().map(lambda task: task(), tasks)) if thread_budget() > 1 else [t() for t in tasks]

    numerator = np.zeros((2 * ly + 1, lx + 1), dtype=np.complex64)
    denominator = np.zeros((2 * ly + 1, lx + 1), dtype=np.float32)
    centre_num, centre_den = _centre_weights((height, width), optics, params, n_angles)
    numerator[ly - ry:ly + ry + 1, :rx + 1] = results[0] * centre_num
    denominator[ly - ry:ly + ry + 1, :rx + 1] = centre_den
    for a, (band, power) in enumerate(results[1:]):
        # box index i lands at object frequency j = i − k_int; band −1 is its mirror image
        y0, x0 = -ry - int(k_int[a, 0]), -rx - int(k_int[a, 1])
        _add_box(numerator, band, y0, x0, ly)
        _add_box(denominator, power, y0, x0, ly)
        _add_box(numerator, np.conj(band[::-1, ::-1]), -(y0 + 2 * ry), -(x0 + 2 * rx), ly)
        _add_box(denominator, power[::-1, ::-1], -(y0 + 2 * ry), -(x0 + 2 * rx), ly)

    support = k_c + float(np.max(np.hypot(k_vectors[:, 0], k_vectors[:, 1])))
    # 2·A(f): the ×2 because the 2× grid's inverse FFT divides by 4·H·W instead of H·W
    # and the mean frame is ½·S ⊗ PSF: the output keeps the widefield intensity scale
    gain = _apodisation((ly, lx), (dfy, dfx), support, params.apodisation_exponent)
    denominator += (spectra.noise_to_object(_box_frequencies((ly, lx), (dfy, dfx)))
                    * np.float32(params.regularisation_scale * n_angles))
    denominator += np.float32(params.wiener_constant ** 2)
    np.divide(gain, denominator, out=denominator)
    numerator *= denominator
    # inverse FFT onto the 2× grid, pruned: only columns 0 … lx are non-zero
    columns = np.zeros((2 * height, lx + 1), dtype=np.complex64)
    columns[:ly + 1] = numerator[ly:]
    columns[2 * height - ly:] = numerator[:ly]
    columns = sfft.ifft(columns, axis=0, workers=thread_budget(), overwrite_x=True)
    return sfft.irfft(columns, n=2 * width, axis=1, workers=thread_budget()).astype(np.float32, copy=False)


def _centre_box(grouped: np.ndarray, coeff: np.ndarray, grid: _Grid) -> np.ndarray:
    """Half box of the spectrum of band 0 summed over the angles (they share one OTF)."""
    return _rfft2_box(np.einsum("ap,apyx->yx", coeff, grouped), grid)


def _side_band(frames: np.ndarray, coeff: np.ndarray, k_frac: np.ndarray, modulation: float, grid: _Grid,
               params: _Params) -> tuple[np.ndarray, np.ndarray]:
    """Band +1 of one angle moved by its fractional wave vector δ (frequency pixels), times
    its numerator weight att·H_b, on the centred box; and its denominator term att·H_b².

    The band times the ramp e^{−2πi δ·r} is Fourier transformed: box index i then holds
    B₊(i + δ), whose OTF argument is u = i + δ.  The ramp's y factor is folded into the
    separation coefficients; the real and imaginary parts of the band are real images
    (A, B), transformed along y with real FFTs (F(−j) = conj F(j)); only the box rows are
    then multiplied by the ramp's x factor and transformed along x.
    """
    _, height, width = frames.shape
    ry, rx = grid.radius
    dfy, dfx = grid.df
    coeff_y = np.asarray(coeff)[:, None] * np.exp(-2j * np.pi * k_frac[0] * grid.y / height)[None, :]
    coeff_y = np.stack([coeff_y.real, coeff_y.imag]).astype(np.float32)
    part_re, part_im = sfft.rfft(np.einsum("kpy,pyx->kyx", coeff_y, frames), axis=1)[:, :ry + 1]
    rows = np.empty((2 * ry + 1, width), dtype=np.complex64)
    np.multiply(part_im, np.complex64(1j), out=rows[ry:])
    rows[ry:] += part_re
    negative = np.conj(part_im[:0:-1])
    negative *= np.complex64(1j)
    negative += np.conj(part_re[:0:-1])
    rows[:ry] = negative
    rows *= np.exp(-2j * np.pi * k_frac[1] * grid.x / width).astype(np.complex64)[None, :]
    rows = sfft.fft(rows, axis=-1, overwrite_x=True)
    box = np.concatenate([rows[:, -rx:], rows[:, :rx + 1]], axis=-1)
    u2 = ((((np.arange(-ry, ry + 1) + k_frac[0]) * dfy) ** 2)[:, None]
          + (((np.arange(-rx, rx + 1) + k_frac[1]) * dfx) ** 2)[None, :]).astype(np.float32)
    # effective transfer function H_b = ½m·H(u): weights ½m·att·H and (½m)²·att·H²
    weight, power = _band_weights(u2, grid.cutoff, params)
    weight *= np.float32(0.5 * modulation)
    power *= np.float32((0.5 * modulation) ** 2)
    box *= weight
    return box, power


def _executor() -> ThreadPoolExecutor:
    """The worker threads of this process (a forked child makes its own: it has none)."""
    return _executor_of(os.getpid())


@lru_cache(maxsize=1)
def _executor_of(pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=thread_budget(), thread_name_prefix=f"simbench-wiener-{pid}")


def _rfft2_box(image: np.ndarray, grid: _Grid) -> np.ndarray:
    """Half box (2ry+1, rx+1) (rows −ry … ry, columns 0 … rx) of rfft2(image), pruned."""
    ry, rx = grid.radius
    half = sfft.rfft(image, axis=-1)[..., :rx + 1]
    half = sfft.fft(half, axis=-2, overwrite_x=True)
    return np.concatenate([half[..., -ry:, :], half[..., :ry + 1, :]], axis=-2)


@hookimpl
def simbench_methods() -> list[type[Method]]:
    return [Wiener]

"""Hexagonal 3-beam, 7-step light-sheet SIM and its confocal target (SCIENCE.md §4).

Raw frame of plane p, step j (focal plane at z_f = z_p + j·Δz/7, the continuous
scan), for emitters e at continuous positions (x_e, y_e, z_e):

    D(r) = N/7 · Σ_e I_j(x_e, y_e)/3 · s(z_f − z_e) · h(r − r_e, z_f − z_e)

with h the scalar-pupil intensity PSF, normalised per plane (∫ h d²r = 1,
:mod:`simbench.physics.optics3d`), s the Gaussian light sheet (peak 1) centred on
the focal plane, I_j the hexagonal pattern (mean 3 over the steps: an in-focus
emitter gives N photons over the 7 frames of its plane) and N the photons per
emitter.  The target is the object convolved with the confocal PSF
h_{λ/√2}² (∫ = 1), low-passed to the target grid's Nyquist box (the PSF's lateral
support, 4√2·NA/λ ≈ 11.9 cycles/µm, exceeds it: no truncation aliasing).

Rendering is exact for continuous positions (no voxels): with the pattern written
as components ``I_j/3 = Σ_m A_jm·exp(2πi k_m·r)``, the lateral spectrum of a frame is

    D̃(k) = N/7 · Σ_m A_jm · (1/L) Σ_l OTF(k, κ_l) · Ŝ(k − k_m, κ_l) · exp(2πi κ_l z_f),

Ŝ(q, κ) = Σ_e exp(−2πi(q·r_e + κ z_e)) the point cloud's 3D Fourier transform
(separable matrix products), OTF the 3D transfer function of s·h
(:func:`simbench.physics.optics3d.otf3d`), κ_l = l/L.  The axial period L covers
the focal planes plus twice the PSF's reach (5 σ of the sheet; 4 µm for the
confocal PSF, whose planes beyond hold < 1e-3 of it), so periodic images never
overlap; emitters farther than the reach from every plane contribute nothing
and are left out.  Laterally the field is periodic (the camera's field of view).

Coordinates: µm, field centred: pixel (i, j) at ((i − H/2)·px, (j − W/2)·px),
plane p at (p − P/2)·Δz.  Target pixel (2i, 2j) and plane 3p sit on raw pixel
(i, j) and plane p (simbench's grid convention).  Point arrays are (N, 3) as
(x, y, z) in µm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from simbench.physics.optics3d import axial_cutoff_per_um, gaussian_sheet, lateral_cutoff_per_um, otf3d
from simbench.physics.threads import fixed_blas_threads, thread_budget
from simbench.types import HexPattern, Optics

#: the light sheet's reach in units of its σ: s(5σ) = 4e-6 of the peak
SHEET_REACH_SIGMAS = 5.0
#: axial reach (µm) of the confocal PSF h⁴: planes beyond hold < 1e-3 of its integral
CONFOCAL_REACH_UM = 4.0
#: spacing (µm) of the radial tables of the 3D OTFs (linearly interpolated)
_TABLE_DK_PER_UM = 0.004
#: emitters per block of the separable Fourier sums (bounds memory)
_CHUNK = 256
#: box rows per block when a rendered spectrum is transposed into the rfft layout (cache-sized)
_PLACE_ROWS = 2
#: pixels of Poisson noise drawn at once
_NOISE_CHUNK = 1 << 20
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class LightSheetParams:
    """Acquisition of hexagonal light-sheet SIM and its confocal target (SCIENCE.md §4)."""

    #: objective NA, immersion index and wavelength (excitation = emission), SCIENCE.md §4
    na: float = 1.1
    refractive_index: float = 1.33
    wavelength_nm: float = 525.0
    #: 6.5 µm camera pixels behind 60× (SCIENCE.md §4: 108.3 nm), 256² pixels
    pixel_size_nm: float = 6500.0 / 60.0
    shape: tuple[int, int] = (256, 256)
    #: 40 planes 350 nm apart (14 µm), 7 phase steps per plane (SCIENCE.md §4)
    n_planes: int = 40
    z_step_nm: float = 350.0
    n_steps: int = 7
    #: Gaussian light sheet, FWHM ≈ 3 µm (SCIENCE.md §4)
    sheet_fwhm_nm: float = 3000.0
    #: carrier |k| relative to the OTF cut-off 2NA/λ (η of SCIENCE.md §4: 0.75–1)
    carrier_fraction: float = 0.8
    #: target: λ/√2, squared PSF, 2× finer pixels (54.17 nm), 3× the planes (SCIENCE.md §4)
    target_upsample: int = 2
    target_z_upsample: int = 3

    def __post_init__(self) -> None:
        if min(self.shape) < 8 or self.n_planes < 1 or self.n_steps != 7:
            raise ValueError(f"need a field of at least 8² pixels, ≥ 1 plane and 7 steps; got {self}")
        if self.optics.cutoff_per_pixel >= 0.5:
            raise ValueError(f"camera undersampled: OTF cut-off {self.optics.cutoff_per_pixel:.3f} cycles/pixel ≥ 0.5")

    @property
    def optics(self) -> Optics:
        return Optics(self.na, self.wavelength_nm, self.refractive_index, self.pixel_size_nm)

    @property
    def target_optics(self) -> Optics:
        """The confocal target's optics: λ/√2 and the target pixel (its PSF is h² of these)."""
        return Optics(self.na, self.wavelength_nm / math.sqrt(2.0), self.refractive_index, self.target_pixel_size_nm)

    @property
    def target_pixel_size_nm(self) -> float:
        return self.pixel_size_nm / self.target_upsample

    @property
    def target_z_step_nm(self) -> float:
        return self.z_step_nm / self.target_z_upsample

    @property
    def target_shape(self) -> tuple[int, int, int]:
        return (self.n_planes * self.target_z_upsample, self.shape[0] * self.target_upsample,
                self.shape[1] * self.target_upsample)

    @property
    def carrier_per_um(self) -> float:
        return self.carrier_fraction * self.optics.cutoff_per_um

    def plane_z_um(self) -> np.ndarray:
        """Focal position (µm) of step 0 of each plane."""
        return (np.arange(self.n_planes) - self.n_planes / 2) * self.z_step_nm * 1e-3

    def frame_z_um(self) -> np.ndarray:
        """Focal position (µm) of every frame (plane-major, the continuous scan)."""
        steps = np.arange(self.n_steps) * self.z_step_nm * 1e-3 / self.n_steps
        return (self.plane_z_um()[:, None] + steps[None, :]).ravel()

    def target_z_um(self) -> np.ndarray:
        n = self.n_planes * self.target_z_upsample
        return (np.arange(n) - n / 2) * self.target_z_step_nm * 1e-3

    def nominal_pattern(self, angle_rad: float = 0.0,
                        phase_offsets_rad: tuple[float, float] = (0.0, 0.0)) -> HexPattern:
        return HexPattern(frequency_per_um=self.carrier_per_um, angle_rad=angle_rad,
                          phase_offsets_rad=phase_offsets_rad, sheet_fwhm_nm=self.sheet_fwhm_nm,
                          n_steps=self.n_steps)


def nominal_hex_pattern(optics: Optics) -> HexPattern:
    """The nominal hexagonal pattern of an acquisition with ``optics`` (what a user's settings
    say when nothing else is known): :class:`LightSheetParams`' carrier fraction of the cut-off,
    angle 0, no phase offsets, its sheet and 7 steps."""
    params = LightSheetParams()
    return HexPattern(frequency_per_um=params.carrier_fraction * optics.cutoff_per_um, angle_rad=0.0,
                      phase_offsets_rad=(0.0, 0.0), sheet_fwhm_nm=params.sheet_fwhm_nm, n_steps=params.n_steps)


def hex_components(pattern: HexPattern) -> tuple[np.ndarray, np.ndarray]:
    """The pattern as ``I_j/3 = Σ_m A[j, m]·exp(2πi k_m·r)`` (SCIENCE.md §4).

    Returns wave vectors k (7, 2) as (kx, ky) in cycles/µm — 0, then +k_a and −k_a
    of the three beam pairs — and amplitudes A (n_steps, 7) complex: 1 for k = 0,
    −e^{±iφ_a,j}/6 for ±k_a (each cosine has weight −1/3 of the mean 3).
    """
    f, c, s = pattern.frequency_per_um, math.cos(pattern.angle_rad), math.sin(pattern.angle_rad)
    base = np.array([[0.0, 1.0], [-math.sqrt(3) / 2, 0.5], [-math.sqrt(3) / 2, -0.5]]) * f
    k = base @ np.array([[c, s], [-s, c]])  # each row rotated by +angle
    j = np.arange(pattern.n_steps)
    p1 = -2 * np.pi * j / 7 + pattern.phase_offsets_rad[0]
    p2 = 4 * np.pi * j / 7 + pattern.phase_offsets_rad[1]
    phases = np.stack([p1 - p2, p1, p2], axis=1)  # (steps, 3)
    amplitudes = np.concatenate([np.ones((len(j), 1)), -np.exp(1j * phases) / 6, -np.exp(-1j * phases) / 6], axis=1)
    return np.concatenate([np.zeros((1, 2)), k, -k]), amplitudes


def hex_illumination(pattern: HexPattern, x_um: np.ndarray, y_um: np.ndarray, step: int) -> np.ndarray:
    """Pattern I_j at positions (x, y) in µm (float64, mean 3 over the steps), from
    the closed form of SCIENCE.md §4 (not from :func:`hex_components`)."""
    c, s = math.cos(pattern.angle_rad), math.sin(pattern.angle_rad)
    x = c * np.asarray(x_um) + s * np.asarray(y_um)
    y = -s * np.asarray(x_um) + c * np.asarray(y_um)
    kappa = 2 * np.pi * pattern.frequency_per_um
    p1 = -2 * np.pi * step / 7 + pattern.phase_offsets_rad[0]
    p2 = 4 * np.pi * step / 7 + pattern.phase_offsets_rad[1]
    r3 = math.sqrt(3)
    return (3 - np.cos(kappa * y + p1 - p2) - np.cos(kappa * (y - r3 * x) / 2 + p1)
            - np.cos(kappa * (-y - r3 * x) / 2 + p2))


# --------------------------------------------------------------------------- transfer functions


def _radial_table_k(k_max: float) -> np.ndarray:
    return np.arange(math.ceil(k_max / _TABLE_DK_PER_UM) + 2) * _TABLE_DK_PER_UM


@lru_cache(maxsize=8)
@fixed_blas_threads
def sheet_otf_table(optics: Optics, sheet_fwhm_nm: float, kz_per_um: tuple[float, ...]) -> tuple[np.ndarray, float]:
    """3D OTF of sheet × widefield PSF at radial frequencies ``i·dk`` (rows: ``kz_per_um``),
    real (the sheet is centred), and dk (cycles/µm).  OTF(0, 0) = ∫ s dz (µm)."""
    sigma = sheet_fwhm_nm * 1e-3 / _FWHM_PER_SIGMA
    reach = SHEET_REACH_SIGMAS * sigma
    z = np.linspace(-reach, reach, 2 * math.ceil(reach / 0.1) + 1)  # 0.1 µm ≪ 1/(2·(1.7 + 1.7)) µm
    weights = gaussian_sheet(z, sheet_fwhm_nm) * (z[1] - z[0])
    table = otf3d(_radial_table_k(lateral_cutoff_per_um(optics)), np.asarray(kz_per_um), z, weights, optics).real
    table.flags.writeable = False
    return table, _TABLE_DK_PER_UM


@lru_cache(maxsize=8)
@fixed_blas_threads
def confocal_otf_table(optics: Optics, kz_per_um: tuple[float, ...]) -> tuple[np.ndarray, float]:
    """3D OTF of the confocal PSF |h|⁴ (``optics`` at λ/√2) truncated at
    :data:`CONFOCAL_REACH_UM`, normalised to OTF(0, 0) = 1 (∫ PSF d³r = 1)."""
    z = np.linspace(-CONFOCAL_REACH_UM, CONFOCAL_REACH_UM, 2 * math.ceil(CONFOCAL_REACH_UM / 0.04) + 1)
    weights = np.full(z.shape, z[1] - z[0])
    k = _radial_table_k(lateral_cutoff_per_um(optics, power=2))
    table = otf3d(k, np.asarray(kz_per_um), z, weights, optics, power=2).real
    table /= otf3d(k[:1], np.zeros(1), z, weights, optics, power=2).real[0, 0]
    table.flags.writeable = False
    return table, _TABLE_DK_PER_UM


def interpolate_radial(table: np.ndarray, dk: float, k_abs: np.ndarray) -> np.ndarray:
    """Linear interpolation of radial tables (rows) at |k| (any shape), 0 past the table:
    returns (rows, *k_abs.shape) float32 (complex64 for complex tables)."""
    position = np.asarray(k_abs, dtype=np.float64) / dk
    n = table.shape[1]
    index = np.minimum(np.floor(position).astype(np.int64), n)  # n and n + 1: zero columns
    frac = np.minimum(position - index, 1.0).astype(np.float32)
    dtype = np.complex64 if np.iscomplexobj(table) else np.float32
    padded = np.concatenate([table, np.zeros((table.shape[0], 2))], axis=1).astype(dtype)
    return padded[:, index] * (1 - frac) + padded[:, index + 1] * frac


# --------------------------------------------------------------------------- rendering


def _check_points(points_um: np.ndarray, field_um: tuple[float, float]) -> np.ndarray:
    points = np.asarray(points_um, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be an (N, 3) array of (x, y, z) in µm; got shape {points.shape}")
    if len(points) == 0:
        raise ValueError("the point cloud is empty")
    if not np.isfinite(points).all():
        raise ValueError("point coordinates contain NaN or infinite values")
    half_x, half_y = field_um[1] / 2, field_um[0] / 2
    if np.any(np.abs(points[:, 0]) >= half_x) or np.any(np.abs(points[:, 1]) >= half_y):
        raise ValueError(f"points lie outside the {field_um[1]:.2f} × {field_um[0]:.2f} µm field of view")
    return points


@dataclass(frozen=True)
class _Box:
    """Lateral frequencies rendered: rows ky (index −r … r), rfft columns kx 0 … c."""

    shape: tuple[int, int]
    pixel_size_nm: float
    rows: np.ndarray  # signed row indices
    cols: np.ndarray

    @property
    def ky(self) -> np.ndarray:
        return self.rows / (self.shape[0] * self.pixel_size_nm * 1e-3)

    @property
    def kx(self) -> np.ndarray:
        return self.cols / (self.shape[1] * self.pixel_size_nm * 1e-3)

    def k_abs(self) -> np.ndarray:
        return np.hypot(self.ky[:, None], self.kx[None, :])

    def place_planes(self, values: np.ndarray, out: np.ndarray) -> None:
        """Write ``values`` (rows·cols, n), column i the box of plane i, into ``out`` (n, H, W//2 + 1)
        rfft layout (other entries untouched): rows 0 … r at the top, rows −r … −1 wrapped to the
        bottom, a few box rows at a time so that the transposition stays in cache."""
        n_cols = len(self.cols)
        n_negative = len(self.rows) // 2
        for first, last in ((0, n_negative), (n_negative, len(self.rows))):
            for start in range(first, last, _PLACE_ROWS):
                stop = min(start + _PLACE_ROWS, last)
                row = self.rows[start] % self.shape[0]
                block = values[start * n_cols:stop * n_cols].T.reshape(-1, stop - start, n_cols)
                out[:, row:row + stop - start, :n_cols] = block


def _support_box(shape: tuple[int, int], pixel_size_nm: float, k_max: float) -> _Box:
    """The frequencies up to ``k_max`` below the grid's Nyquist frequency (excluded)."""
    height, width = shape
    dfy, dfx = (1e3 / (n * pixel_size_nm) for n in shape)
    ry = min(math.ceil(k_max / dfy), (height - 1) // 2)
    cx = min(math.ceil(k_max / dfx), (width - 1) // 2)
    return _Box(shape, pixel_size_nm, np.arange(-ry, ry + 1), np.arange(cx + 1))


def _box_transfer(table: np.ndarray, dk: float, box: _Box) -> np.ndarray:
    """Radial tables (rows: kz) interpolated on a box, (rows, cols, kz) float32, C-ordered and read-only."""
    transfer = np.ascontiguousarray(np.moveaxis(interpolate_radial(table, dk, box.k_abs()), 0, -1))
    transfer.flags.writeable = False
    return transfer


@lru_cache(maxsize=4)
def _sheet_otf_on_box(optics: Optics, sheet_fwhm_nm: float, kz_per_um: tuple[float, ...],
                      shape: tuple[int, int]) -> np.ndarray:
    """:func:`sheet_otf_table` on the rendered box of an (H, W) camera of ``optics``' pixels,
    (rows, cols, kz) float32 in µm (cached: computed once per process)."""
    table, dk = sheet_otf_table(optics, sheet_fwhm_nm, kz_per_um)
    return _box_transfer(table, dk, _support_box(shape, optics.pixel_size_nm, lateral_cutoff_per_um(optics)))


@lru_cache(maxsize=2)
def _confocal_otf_on_box(optics: Optics, kz_per_um: tuple[float, ...], shape: tuple[int, int]) -> np.ndarray:
    """:func:`confocal_otf_table` on the rendered box of an (H, W) target grid of ``optics``'
    pixels, (rows, cols, kz) float32, dimensionless (cached: computed once per process; 73 MB
    for the default 512² target)."""
    table, dk = confocal_otf_table(optics, kz_per_um)
    box = _support_box(shape, optics.pixel_size_nm, lateral_cutoff_per_um(optics, power=2))
    return _box_transfer(table, dk, box)


def _axial_grid(z_eval_um: np.ndarray, reach_um: float, kz_max: float) -> tuple[np.ndarray, float, float]:
    """kz samples l/L (|kz| ≤ kz_max), the period L and the reference z (µm): L covers the
    evaluated planes plus twice the reach, so periodic copies of the PSF never overlap."""
    z0 = float(z_eval_um.min())
    period = float(z_eval_um.max()) - z0 + 2 * reach_um
    n = math.ceil(kz_max * period)
    return np.arange(-n, n + 1) / period, period, z0


def _point_spectra(points: np.ndarray, shifts: np.ndarray, box: _Box, kz: np.ndarray,
                   z0: float) -> np.ndarray:
    """Spectrum of the points times exp(2πi k_m·r) for each k_m ((M, 2) as (kx, ky)), on the
    box × kz: Σ_e exp(2πi k_m·r_e)·exp(−2πi(k·(r_e − r₀) + κ(z_e − z0))), (M, rows, cols,
    len kz) complex64; r₀ is the position of pixel 0 (the FFT origin), the pattern's
    origin the field centre."""
    height, width = box.shape
    px = box.pixel_size_nm * 1e-3
    x, y, z = points[:, 0], points[:, 1], points[:, 2] - z0
    x0, y0 = -width / 2 * px, -height / 2 * px
    out = np.empty((len(shifts), len(box.rows), len(box.cols) * len(kz)), dtype=np.complex64)
    for start in range(0, len(points), _CHUNK):
        sl = slice(start, start + _CHUNK)
        ez = np.exp(-2j * np.pi * np.outer(kz, z[sl])).astype(np.complex64)
        for m, (kx_m, ky_m) in enumerate(shifts):
            ey = np.exp(-2j * np.pi * (np.outer(box.ky, y[sl] - y0) - ky_m * y[sl])).astype(np.complex64)
            ex = np.exp(-2j * np.pi * (np.outer(box.kx, x[sl] - x0) - kx_m * x[sl])).astype(np.complex64)
            exz = (ex[:, None, :] * ez[None, :, :]).reshape(-1, ez.shape[1])
            if start == 0:
                np.matmul(ey, exz.T, out=out[m])  # the first block written in place: no temporary
            else:
                out[m] += ey @ exz.T
    return out.reshape(len(shifts), len(box.rows), len(box.cols), len(kz))


@fixed_blas_threads
def simulate_lightsheet(points_um: np.ndarray, params: LightSheetParams, pattern: HexPattern | None,
                        photons_per_emitter: float) -> np.ndarray:
    """Noise-free raw stack (n_planes·n_steps, H, W) float32 in expected photons per pixel.

    ``pattern=None`` lights uniformly with the pattern's mean (a widefield light sheet);
    ``pattern.sheet_fwhm_nm`` sets the sheet either way (``params.sheet_fwhm_nm`` if None).
    """
    optics = params.optics
    px = params.pixel_size_nm
    points = _check_points(points_um, (params.shape[0] * px * 1e-3, params.shape[1] * px * 1e-3))
    sheet_fwhm = pattern.sheet_fwhm_nm if pattern is not None else params.sheet_fwhm_nm
    sigma_kz = _FWHM_PER_SIGMA / (2 * math.pi * sheet_fwhm * 1e-3)
    reach = SHEET_REACH_SIGMAS * sheet_fwhm * 1e-3 / _FWHM_PER_SIGMA
    z_frames = params.frame_z_um()
    kz, period, z0 = _axial_grid(z_frames, reach, axial_cutoff_per_um(optics) + SHEET_REACH_SIGMAS * sigma_kz)
    near = (points[:, 2] > z_frames.min() - reach) & (points[:, 2] < z_frames.max() + reach)
    box = _support_box(params.shape, px, lateral_cutoff_per_um(optics))
    if pattern is None:
        shifts, amplitudes = np.zeros((1, 2)), np.ones((params.n_steps, 1))
    else:
        shifts, amplitudes = hex_components(pattern)
    n_steps, n_planes = params.n_steps, params.n_planes
    spectra = np.zeros((n_steps, len(box.rows) * len(box.cols), len(kz)), dtype=np.complex64)
    if near.any():
        rendered = _point_spectra(points[near], shifts, box, kz, z0)
        rendered *= _sheet_otf_on_box(optics, float(sheet_fwhm), tuple(kz.tolist()), params.shape)
        scale = photons_per_emitter / n_steps / period
        spectra = ((amplitudes * scale).astype(np.complex64) @ rendered.reshape(len(shifts), -1)).reshape(
            spectra.shape)
    # frames in acquisition order (plane-major) on the rfft layout, transformed back in one call
    frame_spectra = np.zeros((n_planes, n_steps, params.shape[0], params.shape[1] // 2 + 1), dtype=np.complex64)
    plane_phase = np.exp(2j * np.pi * np.outer(kz, params.plane_z_um() - z0))
    for j in range(n_steps):
        step_z = j * params.z_step_nm * 1e-3 / n_steps
        evaluate = (plane_phase * np.exp(2j * np.pi * kz * step_z)[:, None]).astype(np.complex64)
        box.place_planes(spectra[j] @ evaluate, frame_spectra[:, j])
    frames = sfft.irfft2(frame_spectra, s=params.shape, workers=thread_budget())
    return frames.reshape(n_planes * n_steps, *params.shape)


@fixed_blas_threads
def simulate_confocal_target(points_um: np.ndarray, params: LightSheetParams) -> np.ndarray:
    """Confocal target (n_planes·3, 2H, 2W) float32: emitters convolved with the PSF
    h_{λ/√2}² (∫ = 1), band-limited to the target grid; values are expected emitters
    per voxel (the volume sums to the number of emitters in range)."""
    optics = params.target_optics
    n_z, height, width = params.target_shape
    px = params.target_pixel_size_nm
    points = _check_points(points_um, (height * px * 1e-3, width * px * 1e-3))
    z_planes = params.target_z_um()
    kz, period, z0 = _axial_grid(z_planes, CONFOCAL_REACH_UM, axial_cutoff_per_um(optics, power=2))
    near = (points[:, 2] > z_planes.min() - CONFOCAL_REACH_UM) & (points[:, 2] < z_planes.max() + CONFOCAL_REACH_UM)
    box = _support_box((height, width), px, lateral_cutoff_per_um(optics, power=2))
    if not near.any():
        return np.zeros((n_z, height, width), dtype=np.float32)
    rendered = _point_spectra(points[near], np.zeros((1, 2)), box, kz, z0)[0]
    rendered *= _confocal_otf_on_box(optics, tuple(kz.tolist()), (height, width))
    evaluate = (np.exp(2j * np.pi * np.outer(kz, z_planes - z0)) * (params.target_z_step_nm * 1e-3 / period))
    spectrum = np.zeros((n_z, height, width // 2 + 1), dtype=np.complex64)
    box.place_planes(rendered.reshape(-1, len(kz)) @ evaluate.astype(np.complex64), spectrum)
    return sfft.irfft2(spectrum, s=(height, width), workers=thread_budget()).astype(np.float32, copy=False)


def shot_noise(expected_photons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson photon counts (float32) of a noise-free stack in expected photons per pixel
    (SCIENCE.md §4: photons per emitter, no read noise).  Drawn :data:`_NOISE_CHUNK` pixels at a
    time, in order: the same counts as one draw over the whole stack, without its float64 and
    int64 copies."""
    expected = np.ravel(expected_photons)
    counts = np.empty(expected.size, dtype=np.float32)
    for start in range(0, expected.size, _NOISE_CHUNK):
        counts[start:start + _NOISE_CHUNK] = rng.poisson(np.clip(expected[start:start + _NOISE_CHUNK], 0.0, None))
    return counts.reshape(np.shape(expected_photons))


@lru_cache(maxsize=8)
@fixed_blas_threads
def stack_otf_table(optics: Optics, sheet_fwhm_nm: float, z_step_nm: float, n_planes: int,
                    n_steps: int = 7) -> tuple[np.ndarray, float]:
    """Transfer function of a light-sheet stack's step-averaged planes, for reconstruction:
    the plane-axis DFT (rows: ``numpy.fft.fftfreq(n_planes, z_step)`` in cycles/µm) of
    h̄(z) = (1/n_steps)·Σ_j s·h(z + j·Δz/n_steps) sampled at the planes (aliasing included),
    complex (the scan shifts h̄ by ≈ Δz/2), at radial frequencies ``i·dk``; returns (table, dk).
    The mean of a plane's 7 frames is the object convolved with h̄ (SCIENCE.md §4)."""
    dz = z_step_nm * 1e-3
    sigma = sheet_fwhm_nm * 1e-3 / _FWHM_PER_SIGMA
    offsets = (np.arange(n_planes) - n_planes // 2) * dz  # circular plane offsets
    offsets = offsets[np.abs(offsets) <= SHEET_REACH_SIGMAS * sigma + dz]
    kz = np.fft.fftfreq(n_planes, dz)
    k = _radial_table_k(lateral_cutoff_per_um(optics))
    table = np.zeros((n_planes, len(k)), dtype=np.complex128)
    for j in range(n_steps):
        z = offsets + j * dz / n_steps
        # Σ_p h(z_p + jδ)·e^{−2πi kz z_p} = e^{2πi kz jδ}·Σ_p h(z)·e^{−2πi kz z}
        table += np.exp(2j * np.pi * kz * j * dz / n_steps)[:, None] * otf3d(
            k, kz, z, gaussian_sheet(z, sheet_fwhm_nm) / n_steps, optics)
    table.flags.writeable = False
    return table, _TABLE_DK_PER_UM


# --------------------------------------------------------------------------- widefield stack operator


def _signed_indices(n_small: int, n_large: int) -> np.ndarray:
    """Indices of an n_small-point FFT's frequencies inside an n_large-point FFT (same spacing)."""
    return np.r_[0:(n_small + 1) // 2, n_large - n_small // 2:n_large]


@dataclass(frozen=True)
class StackOperator:
    """The step-averaged widefield light-sheet stack as a linear map from a finer grid.

    ``H x``: a volume x (P·u_z, H·u, W·u) on the target grid (u× finer pixels, u_z× the
    planes; plane u_z·p and pixel u·i on raw plane p and pixel i) convolved with the
    stack's scan-averaged PSF h̄ (:func:`stack_otf_table`) and sampled on the raw grid
    (P, H, W): the mean of each plane's 7 frames (SCIENCE.md §4).  h̄'s spectrum lies
    inside the raw grid's Nyquist box (lateral cut-off 2NA/λ below the camera's
    Nyquist frequency, axial support below 1/(2Δz)), so sampling is a Fourier crop and
    ``adjoint`` (Hᵀ, zero-insertion then the mirrored PSF) a zero-padding, both exact.
    The z axis is circular over the stack, as for the plane-axis DFT of the table.
    Units: x in emitters (photons) per target voxel, ``H x`` per raw pixel and plane.
    """

    #: raw stack shape (P, H, W) and target shape (P·u_z, H·u, W·u)
    raw_shape: tuple[int, int, int]
    fine_shape: tuple[int, int, int]
    #: transfer function on the raw grid's rfftn layout (P, H, W//2 + 1), complex64
    transfer: np.ndarray

    @classmethod
    def create(cls, raw_shape: tuple[int, int, int], optics: Optics, sheet_fwhm_nm: float, z_step_nm: float,
               n_steps: int = 7, upsample: int = 2, z_upsample: int = 3) -> StackOperator:
        n_planes, height, width = raw_shape
        if n_planes < 2 or optics.cutoff_per_pixel >= 0.5:
            raise ValueError(f"need a stack of ≥ 2 planes sampled above Nyquist; got {raw_shape}, "
                             f"cut-off {optics.cutoff_per_pixel:.3f} cycles/pixel")
        table, dk = stack_otf_table(optics, float(sheet_fwhm_nm), float(z_step_nm), n_planes, n_steps)
        ky = np.fft.fftfreq(height, optics.pixel_size_nm * 1e-3)
        kx = np.fft.rfftfreq(width, optics.pixel_size_nm * 1e-3)
        transfer = interpolate_radial(table, dk, np.hypot(ky[:, None], kx[None, :]))
        if n_planes % 2 == 0:
            transfer[n_planes // 2] = 0  # the Nyquist plane frequency: no partner on the finer grid
        # an emitter adds h̄(z_p − z_e) per raw pixel area to plane p: its DFT over the fine grid
        # is u²·u_z × the table (per fine voxel), and sampling every u-th pixel and u_z-th plane
        # divides by u²·u_z, so the crop keeps the table as it is
        fine = (n_planes * z_upsample, height * upsample, width * upsample)
        return cls(tuple(raw_shape), fine, transfer.astype(np.complex64))

    def _index(self) -> tuple[np.ndarray, ...]:
        (p, h, w), (fp, fh, _) = self.raw_shape, self.fine_shape
        return np.ix_(_signed_indices(p, fp), _signed_indices(h, fh), np.arange(w // 2 + 1))

    def forward(self, volume: np.ndarray) -> np.ndarray:
        """H x: (P, H, W) float32 from a target-grid volume."""
        if volume.shape != self.fine_shape:
            raise ValueError(f"volume shape {volume.shape} is not the target grid {self.fine_shape}")
        spectrum = sfft.rfftn(volume, workers=thread_budget())[self._index()]
        spectrum *= self.transfer
        return sfft.irfftn(spectrum, s=self.raw_shape, workers=thread_budget()).astype(np.float32, copy=False)

    def adjoint(self, stack: np.ndarray) -> np.ndarray:
        """Hᵀ r: a target-grid volume (float32) from a raw-grid stack (the exact transpose)."""
        if stack.shape != self.raw_shape:
            raise ValueError(f"stack shape {stack.shape} is not the raw grid {self.raw_shape}")
        small = sfft.rfftn(stack, workers=thread_budget()) * np.conj(self.transfer)
        padded = np.zeros(self.fine_shape[:2] + (self.fine_shape[2] // 2 + 1,), dtype=np.complex64)
        padded[self._index()] = small
        scale = np.float32(np.prod(self.fine_shape) / np.prod(self.raw_shape))
        return (sfft.irfftn(padded, s=self.fine_shape, workers=thread_budget()) * scale).astype(np.float32, copy=False)

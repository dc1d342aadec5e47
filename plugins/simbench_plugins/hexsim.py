"""Method ``hexsim``: classical 3D reconstruction of hexagonal light-sheet SIM (SCIENCE.md §4, §6).

Per plane, the 7 phase steps are separated by a 7-point DFT over the steps: index
0 is the step-averaged (widefield) plane, each index c = 1, 2, 3 holds one beam
pair's band a_c·(S·e^{2πi k_c·r}) ⊗ h̄ (indices 4–6 are their complex conjugates),
because the pattern's three pairs step their phases by −3, −1 and +2 times 2π/7.
The carriers k_c and amplitudes a_c are estimated from the data
(:func:`simbench.physics.estimate_carriers`: band cross-correlation on the
z-projected bands, sub-pixel refinement); the nominal pattern is not used.

With the bands' 3D spectra B_c (plane-axis DFT included) and H̄ the stack's 3D
transfer function (:func:`simbench.physics.stack_otf_table`: sheet × widefield
PSF averaged over the continuous scan's 7 positions, aliasing and the scan's
half-step shift included), the generalised Wiener filter

    Ŝ(k) = A(k) · Σ_b att_b·conj(H_b)·B_b(k + k_b) / (Σ_b att_b·|H_b|² + w²),
    H_b(k) = a_b·H̄(k + k_b),   att_b = 1 − β·exp(−|k + k_b|²_lateral / 2α²),

runs over band 0 and the 6 side bands (3 estimated, 3 Hermitian partners), each
moved to its place on the 2× lateral grid (fractional part of k_c by a real-space
phase ramp, integer part by an index offset: no interpolation).  att_b is the
zero-order suppression (SCIENCE.md §4: α ≈ 0.3·NA/λ); A the apodisation
``otf_profile(ρ)^γ`` with ρ the distance to the extended support (lateral k_c +
max|k_c|, axial the planes' Nyquist frequency).  The output has 3× the planes
(plane 3p on raw plane p, by zero-padding the plane-axis spectrum) and 2× the
pixels, at the widefield intensity scale.

A single plane (:data:`MODALITY_HEX2D`, 7 frames, no z step) is the stack of one plane whose
steps are taken in focus: its transfer function is the in-focus OTF (:data:`IN_FOCUS_STEP_NM`
makes the scan offsets vanish) and the output is one 2× plane.
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import scipy.fft as sfft

from simbench import MODALITY_HEX2D, MODALITY_LSSIM3D, Method, Optics, RawStack, Reconstruction, hookimpl
from simbench.physics import (
    CarrierEstimate,
    estimate_carriers,
    hex_components,
    interpolate_radial,
    otf_profile,
    stack_otf_table,
    thread_budget,
)

#: DFT indices over the 7 steps that hold one beam pair each (the others are their conjugates)
SIDE_INDICES = (1, 2, 3)
#: output sampling: 2× finer pixels, 3× the planes (SCIENCE.md §4)
LATERAL_UPSAMPLE, AXIAL_UPSAMPLE = 2, 3
#: the z step (nm) a single plane is reconstructed with: far below any PSF's depth, so the
#: 7 steps' scan offsets vanish and the transfer function is the in-focus OTF
IN_FOCUS_STEP_NM = 1e-3


class HexSim(Method):
    name = "hexsim"
    modalities = (MODALITY_LSSIM3D, MODALITY_HEX2D)
    description = ("Classical hexagonal SIM, a light-sheet stack or one plane: 7-step band separation, carriers "
                   "estimated from the data, zero-order suppression, generalised Wiener filter (Gong, Guo & Neil "
                   "2021 style).")
    version = "1"
    accepts_any_pattern_order = False

    #: Wiener constant w (SCIENCE.md §4: 0.05–0.3), relative to a noise-free band 0 at H̄ = 1
    wiener_constant: ClassVar[float] = 0.1
    #: zero-order suppression 1 − β·exp(−k²/2α²), α = 0.3·NA/λ, β = 0.99 (SCIENCE.md §4)
    suppression_strength: ClassVar[float] = 0.99
    suppression_sigma_na_per_lambda: ClassVar[float] = 0.3
    #: apodisation exponent γ of otf_profile(ρ)^γ (as the 2D ``wiener`` method)
    apodisation_exponent: ClassVar[float] = 0.6
    #: estimated band amplitudes are kept at least this fraction of the ideal 1/6
    min_amplitude_fraction: ClassVar[float] = 0.3

    def reconstruct(self, raw: RawStack) -> Reconstruction:
        if raw.modality == MODALITY_HEX2D and raw.frames.shape[0] == raw.pattern.n_patterns:
            result = self.reconstruct(dataclasses.replace(raw, modality=MODALITY_LSSIM3D, z_step_nm=IN_FOCUS_STEP_NM))
            return dataclasses.replace(result, image=result.image[0])
        if raw.modality != MODALITY_LSSIM3D or raw.z_step_nm is None:
            raise ValueError(f"method {self.name!r} reconstructs {MODALITY_LSSIM3D!r} stacks with a z step or one "
                             f"{MODALITY_HEX2D!r} plane of {raw.pattern.n_patterns} frames; got {raw.modality!r} with "
                             f"{raw.frames.shape[0]} frames")
        n_steps = raw.pattern.n_patterns
        if n_steps != 7 or raw.frames.shape[0] % n_steps or tuple(raw.frame_patterns[:n_steps]) != tuple(range(7)):
            raise ValueError(f"method {self.name!r} needs planes of 7 steps in order 0 … 6; got "
                             f"{raw.frames.shape[0]} frames, first steps {list(raw.frame_patterns[:n_steps])}")
        planes = raw.frames.reshape(-1, n_steps, *raw.frames.shape[1:])
        bands = sfft.fft(planes, axis=1, norm="forward", workers=thread_budget())  # 1/n_steps in the transform
        band0 = np.ascontiguousarray(bands[:, 0].real, dtype=np.float32)
        sides = np.ascontiguousarray(np.moveaxis(bands[:, list(SIDE_INDICES)], 1, 0), dtype=np.complex64)
        if raw.oracle:
            carriers = _carriers_from_pattern(raw)
        else:
            carriers = estimate_carriers(band0.sum(axis=0), sides.sum(axis=1), raw.optics)
        image = self.apply(band0, sides, carriers, raw)
        return Reconstruction(image=image, info={"carriers": [c.to_dict() for c in carriers],
                                                 "oracle": bool(raw.oracle)})

    def apply(self, band0: np.ndarray, sides: np.ndarray, carriers: tuple[CarrierEstimate, ...],
              raw: RawStack) -> np.ndarray:
        """The Wiener reconstruction (3P, 2H, 2W) float32 from band 0 (P, H, W) and the side
        bands (3, P, H, W) with their carriers.

        The filter runs on the half spectrum kx ≥ 0 of the output (it is real), on the
        centred box (P, 2·ly + 1, lx + 1) that holds every moved band (rows −ly … ly,
        columns 0 … lx in units of df, the raw grid's frequency step).
        """
        optics = raw.optics
        n_planes, height, width = band0.shape
        px_um = optics.pixel_size_nm * 1e-3
        df = (1.0 / (height * px_um), 1.0 / (width * px_um))
        dz_um = float(raw.z_step_nm) * 1e-3
        table, dk = stack_otf_table(optics, raw.pattern.sheet_fwhm_nm, float(raw.z_step_nm), n_planes,
                                    raw.pattern.n_steps)
        k_c = optics.cutoff_per_um
        radius = (min(math.ceil(k_c / df[0]) + 1, height // 2 - 1), min(math.ceil(k_c / df[1]) + 1, width // 2 - 1))
        shifts = [_split_shift(c.k_vector_per_um, df) for c in carriers]  # (integer, fraction) in df, (ky, kx)
        reach = np.array(radius) + np.max([np.abs(k_int) for k_int, _ in shifts], axis=0)
        # frequencies beyond the output's Nyquist frequency (±H·df, ±W·df) are dropped rather than aliased
        half_box = (min(int(reach[0]), LATERAL_UPSAMPLE * height // 2 - 1),
                    min(int(reach[1]), LATERAL_UPSAMPLE * width // 2))
        numerator = np.zeros((n_planes, 2 * half_box[0] + 1, half_box[1] + 1), dtype=np.complex64)
        denominator = np.zeros(numerator.shape, dtype=np.float32)
        # band 0 (real): its half box kx ≥ 0 from the real FFT, at its place (no shift, no partner)
        rows = np.arange(-radius[0], radius[0] + 1)
        box0 = sfft.rfftn(band0, workers=thread_budget())[:, rows % height, :radius[1] + 1]
        num, den = self._band_terms(box0, rows * df[0], np.arange(radius[1] + 1) * df[1], 1.0, table, dk, optics)
        _add_box(numerator, num, -radius[0], 0)
        _add_box(denominator, den, -radius[0], 0)
        for band, carrier, (k_int, frac) in zip(sides, carriers, shifts):
            box = _shifted_box(band, frac, radius)
            box_f = [np.arange(-r, r + 1) * d + f * d for r, f, d in zip(radius, frac, df)]
            num, den = self._band_terms(box, box_f[0], box_f[1], self._amplitude(carrier), table, dk, optics)
            # box index i holds object frequency i − k_int; the Hermitian partner (DFT indices
            # 4–6) adds S̃(−k) = conj S̃(k) at the mirrored place
            y0, x0 = -radius[0] - int(k_int[0]), -radius[1] - int(k_int[1])
            _add_box(numerator, num, y0, x0)
            _add_box(denominator, den, y0, x0)
            _add_box(numerator, np.conj(_mirror(num)), -(y0 + 2 * radius[0]), -(x0 + 2 * radius[1]))
            _add_box(denominator, _mirror(den), -(y0 + 2 * radius[0]), -(x0 + 2 * radius[1]))
        support_lateral = k_c + max(math.hypot(*c.k_vector_per_um) for c in carriers)
        support_axial = 0.5 / dz_um
        out_shape = (n_planes, LATERAL_UPSAMPLE * height, LATERAL_UPSAMPLE * width)
        gain = LATERAL_UPSAMPLE ** 2 * AXIAL_UPSAMPLE * _apodisation(out_shape, half_box, df, dz_um, support_lateral,
                                                                     support_axial, self.apodisation_exponent)
        numerator *= gain / (denominator + np.float32(self.wiener_constant ** 2))
        return _to_output(numerator, out_shape, AXIAL_UPSAMPLE)

    def _amplitude(self, carrier: CarrierEstimate) -> complex:
        """The carrier's band amplitude, its modulus kept at least ``min_amplitude_fraction``·1/6."""
        floor = self.min_amplitude_fraction / 6.0
        amplitude = carrier.amplitude
        if abs(amplitude) < floor:
            amplitude = floor * amplitude / max(abs(amplitude), 1e-30)
        return amplitude

    def _band_terms(self, box: np.ndarray, row_f: np.ndarray, col_f: np.ndarray, amplitude: complex,
                    table: np.ndarray, dk: float, optics: Optics) -> tuple[np.ndarray, np.ndarray]:
        """Wiener numerator att·conj(H_b)·B_b and denominator att·|H_b|² of a band's box (P, rows,
        cols) holding the band at lateral frequencies ``row_f`` × ``col_f`` (cycles/µm)."""
        alpha = self.suppression_sigma_na_per_lambda * optics.na / (optics.wavelength_nm * 1e-3)
        k_abs = np.hypot(row_f[:, None], col_f[None, :])
        otf = amplitude * interpolate_radial(table, dk, k_abs)  # (P, rows, cols)
        weight = (1.0 - self.suppression_strength * np.exp(-0.5 * (k_abs / alpha) ** 2)).astype(np.float32)
        return weight * np.conj(otf) * box, weight * np.abs(otf) ** 2


def _split_shift(k_vector_per_um: tuple[float, float], df: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A carrier (kx, ky) in cycles/µm as (ky, kx) in units of df: its nearest integer and the remainder."""
    k_px = np.array([k_vector_per_um[1] / df[0], k_vector_per_um[0] / df[1]])
    k_int = np.rint(k_px).astype(int)
    return k_int, k_px - k_int


def _shifted_box(band: np.ndarray, frac: np.ndarray, radius: tuple[int, int]) -> np.ndarray:
    """3D spectrum of a band moved by −frac frequency steps (a real-space phase ramp), on the
    box of rows −ry … ry and columns −rx … rx (P, 2ry + 1, 2rx + 1), complex64."""
    height, width = band.shape[1:]
    ramp_y = np.exp(-2j * np.pi * frac[0] * np.arange(height) / height).astype(np.complex64)
    ramp_x = np.exp(-2j * np.pi * frac[1] * np.arange(width) / width).astype(np.complex64)
    spectrum = sfft.fftn(band * np.outer(ramp_y, ramp_x), workers=thread_budget(), overwrite_x=True)
    rows = np.arange(-radius[0], radius[0] + 1) % height
    cols = np.arange(-radius[1], radius[1] + 1) % width
    return spectrum[:, rows[:, None], cols[None, :]]


def _add_box(acc: np.ndarray, values: np.ndarray, y0: int, x0: int) -> None:
    """acc[:, jy + ly, jx] += values for the box whose [:, 0, 0] element sits at frequency
    (jy, jx) = (y0, x0), clipped to the accumulator (rows −ly … ly, columns 0 … lx)."""
    ly = acc.shape[1] // 2
    rows, cols = values.shape[1:]
    y_start, x_start = max(0, -(y0 + ly)), max(0, -x0)
    y_stop, x_stop = min(rows, acc.shape[1] - (y0 + ly)), min(cols, acc.shape[2] - x0)
    if y_start < y_stop and x_start < x_stop:
        acc[:, y0 + ly + y_start:y0 + ly + y_stop, x0 + x_start:x0 + x_stop] += values[:, y_start:y_stop,
                                                                                       x_start:x_stop]


def _mirror(box: np.ndarray) -> np.ndarray:
    """A box's values at −k: rows and columns reversed, planes p → −p (mod P, the FFT order)."""
    return box[(-np.arange(box.shape[0])) % box.shape[0], ::-1, ::-1]


def _apodisation(shape: tuple[int, int, int], half_box: tuple[int, int], df: tuple[float, float], dz_um: float,
                 lateral: float, axial: float, exponent: float) -> np.ndarray:
    """otf_profile(ρ)^γ, ρ = √((k_lat/lateral)² + (kz/axial)²) (float32), on the centred half box
    (P, 2·ly + 1, lx + 1) of the output spectrum ``shape`` (planes in FFT order).  ρ depends
    on |kz| and |ky| only: computed for kz, ky ≥ 0 and mirrored."""
    n_planes, height, width = shape
    ly, lx = half_box
    kz = np.fft.rfftfreq(n_planes, dz_um)[:, None, None]
    ky = np.fft.rfftfreq(height, 1.0 / (height * df[0]))[None, :ly + 1, None]
    kx = np.fft.rfftfreq(width, 1.0 / (width * df[1]))[None, None, :lx + 1]
    rho = np.sqrt((ky ** 2 + kx ** 2) / lateral ** 2 + (kz / axial) ** 2)
    folded = (otf_profile(rho) ** exponent).astype(np.float32)
    planes = np.minimum(np.arange(n_planes), n_planes - np.arange(n_planes))
    return folded[planes[:, None], np.abs(np.arange(-ly, ly + 1))[None, :]]


def _to_output(box: np.ndarray, shape: tuple[int, int, int], axial_upsample: int) -> np.ndarray:
    """The output (P·u, H, W) float32 from its spectrum's centred half box (P, 2·ly + 1, lx + 1):
    rows back to FFT order, the plane axis zero-padded (P → P·u, the raw Nyquist plane
    dropped), then the inverse real FFT."""
    n_planes, height, width = shape
    ly, n_cols = box.shape[1] // 2, box.shape[2]
    half = np.zeros((n_planes * axial_upsample, height, width // 2 + 1), dtype=np.complex64)
    positive, negative = (n_planes + 1) // 2, n_planes // 2 - (1 - n_planes % 2)
    for source, target in ((slice(0, positive), slice(0, positive)),
                           (slice(n_planes - negative, n_planes), slice(len(half) - negative, len(half)))):
        half[target, :ly + 1, :n_cols] = box[source, ly:]
        half[target, height - ly:, :n_cols] = box[source, :ly]
    return sfft.irfftn(half, s=(len(half), height, width), workers=thread_budget()).astype(np.float32, copy=False)


def _carriers_from_pattern(raw: RawStack) -> tuple[CarrierEstimate, ...]:
    """The true carriers of DFT indices 1–3 (``--oracle-params``), phases from pixel 0."""
    k, amplitudes = hex_components(raw.pattern)
    steps = np.arange(raw.pattern.n_steps)
    height, width = raw.frames.shape[1:]
    origin = np.array([-width / 2, -height / 2]) * raw.optics.pixel_size_nm * 1e-3  # pixel 0, µm
    carriers = []
    for c in SIDE_INDICES:
        coefficients = amplitudes.T @ np.exp(-2j * np.pi * c * steps / raw.pattern.n_steps) / raw.pattern.n_steps
        m = int(np.argmax(np.abs(coefficients)))
        carriers.append(CarrierEstimate(k_vector_per_um=(float(k[m, 0]), float(k[m, 1])),
                                        amplitude=complex(coefficients[m] * np.exp(2j * np.pi * k[m] @ origin)),
                                        peak_ratio=math.inf, correlation=1.0))
    return tuple(carriers)


@hookimpl
def simbench_methods() -> list[type[Method]]:
    return [HexSim]


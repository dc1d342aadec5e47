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
"""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import scipy.fft as sfft

from simbench import MODALITY_LSSIM3D, Method, RawStack, Reconstruction, hookimpl
from simbench.physics import (
    CarrierEstimate,
    estimate_carriers,
    hex_components,
    interpolate_radial,
    otf_profile,
    stack_otf_table,
)

#: DFT indices over the 7 steps that hold one beam pair each (the others are their conjugates)
SIDE_INDICES = (1, 2, 3)
#: output sampling: 2× finer pixels, 3× the planes (SCIENCE.md §4)
LATERAL_UPSAMPLE, AXIAL_UPSAMPLE = 2, 3


class HexSim(Method):
    name = "hexsim"
    modalities = (MODALITY_LSSIM3D,)
    description = ("Classical 3D hexagonal light-sheet SIM: 7-step band separation, carriers estimated "
                   "from the data, zero-order suppression, generalised Wiener filter (Gong, Guo & Neil 2021 style).")
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
        if raw.modality not in self.modalities or raw.z_step_nm is None:
            raise ValueError(f"method {self.name!r} reconstructs {MODALITY_LSSIM3D!r} stacks with a z step; "
                             f"got {raw.modality!r}")
        n_steps = raw.pattern.n_patterns
        if n_steps != 7 or raw.frames.shape[0] % n_steps or tuple(raw.frame_patterns[:n_steps]) != tuple(range(7)):
            raise ValueError(f"method {self.name!r} needs planes of 7 steps in order 0 … 6; got "
                             f"{raw.frames.shape[0]} frames, first steps {list(raw.frame_patterns[:n_steps])}")
        planes = raw.frames.reshape(-1, n_steps, *raw.frames.shape[1:])
        bands = sfft.fft(planes, axis=1, workers=-1) / np.float32(n_steps)
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
        bands (3, P, H, W) with their carriers."""
        optics = raw.optics
        n_planes, height, width = band0.shape
        px_um = optics.pixel_size_nm * 1e-3
        df = (1.0 / (height * px_um), 1.0 / (width * px_um))
        table, dk = stack_otf_table(optics, raw.pattern.sheet_fwhm_nm, float(raw.z_step_nm), n_planes,
                                    raw.pattern.n_steps)
        k_c = optics.cutoff_per_um
        radius = (min(math.ceil(k_c / df[0]) + 1, height // 2 - 1), min(math.ceil(k_c / df[1]) + 1, width // 2 - 1))
        box_f = [np.arange(-r, r + 1) * d for r, d in zip(radius, df)]
        alpha = self.suppression_sigma_na_per_lambda * optics.na / (optics.wavelength_nm * 1e-3)
        out_shape = (n_planes, LATERAL_UPSAMPLE * height, LATERAL_UPSAMPLE * width)
        numerator = np.zeros(out_shape, dtype=np.complex64)
        denominator = np.zeros(out_shape, dtype=np.float32)
        side_num = np.zeros(out_shape, dtype=np.complex64)
        side_den = np.zeros(out_shape, dtype=np.float32)
        ideal = 1.0 / 6.0
        bands = [(band0.astype(np.complex64), 1.0 + 0j, (0.0, 0.0), numerator, denominator)]
        for band, carrier in zip(sides, carriers):
            amplitude = carrier.amplitude
            if abs(amplitude) < self.min_amplitude_fraction * ideal:
                amplitude = self.min_amplitude_fraction * ideal * amplitude / max(abs(amplitude), 1e-30)
            bands.append((band, amplitude, carrier.k_vector_per_um, side_num, side_den))
        for band, amplitude, (kx, ky), num, den in bands:
            k_px = np.array([ky / df[0], kx / df[1]])
            k_int = np.rint(k_px).astype(int)
            frac = k_px - k_int
            ramp_y = np.exp(-2j * np.pi * frac[0] * np.arange(height) / height).astype(np.complex64)
            ramp_x = np.exp(-2j * np.pi * frac[1] * np.arange(width) / width).astype(np.complex64)
            spectrum = sfft.fftn(band * ramp_y[:, None] * ramp_x[None, :], workers=-1)
            rows = np.arange(-radius[0], radius[0] + 1)
            cols = np.arange(-radius[1], radius[1] + 1)
            box = spectrum[:, rows[:, None] % height, cols[None, :] % width]
            # the box at index i holds the band at frequency (i + δ)·df: OTF and suppression there
            k_abs = np.hypot((box_f[0] + frac[0] * df[0])[:, None], (box_f[1] + frac[1] * df[1])[None, :])
            otf = amplitude * interpolate_radial(table, dk, k_abs)  # (P, rows, cols)
            weight = (1.0 - self.suppression_strength * np.exp(-0.5 * (k_abs / alpha) ** 2)).astype(np.float32)
            target_rows = ((rows - k_int[0]) % out_shape[1])[:, None]
            target_cols = ((cols - k_int[1]) % out_shape[2])[None, :]
            num[:, target_rows, target_cols] += weight * np.conj(otf) * box
            den[:, target_rows, target_cols] += weight * np.abs(otf) ** 2
        # the side bands' Hermitian partners (DFT indices 4–6): S̃(−k) = conj S̃(k)
        numerator += side_num + np.conj(_mirror(side_num))
        denominator += side_den + _mirror(side_den)
        support_lateral = k_c + max(math.hypot(*c.k_vector_per_um) for c in carriers)
        support_axial = 0.5 / (float(raw.z_step_nm) * 1e-3)
        gain = LATERAL_UPSAMPLE ** 2 * AXIAL_UPSAMPLE * _apodisation(out_shape, df, float(raw.z_step_nm) * 1e-3,
                                                                     support_lateral, support_axial,
                                                                     self.apodisation_exponent)
        numerator *= gain / (denominator + np.float32(self.wiener_constant ** 2))
        return _to_output(numerator, AXIAL_UPSAMPLE)


def _mirror(array: np.ndarray) -> np.ndarray:
    """F(−k) on numpy's FFT grid, for every axis."""
    return np.roll(array[::-1, ::-1, ::-1], 1, axis=(0, 1, 2))


def _apodisation(shape: tuple[int, int, int], df: tuple[float, float], dz_um: float, lateral: float,
                 axial: float, exponent: float) -> np.ndarray:
    """otf_profile(ρ)^γ, ρ = √((k_lat/lateral)² + (kz/axial)²), on the output's FFT grid (float32)."""
    kz = np.fft.fftfreq(shape[0], dz_um)[:, None, None]
    ky = np.fft.fftfreq(shape[1], 1.0 / (shape[1] * df[0]))[None, :, None]
    kx = np.fft.fftfreq(shape[2], 1.0 / (shape[2] * df[1]))[None, None, :]
    rho = np.sqrt((ky ** 2 + kx ** 2) / lateral ** 2 + (kz / axial) ** 2)
    return (otf_profile(rho) ** exponent).astype(np.float32)


def _to_output(spectrum: np.ndarray, axial_upsample: int) -> np.ndarray:
    """Zero-pad the plane axis (P → P·u, the raw Nyquist plane dropped) and transform back (real)."""
    n_planes, height, width = spectrum.shape
    half = np.zeros((n_planes * axial_upsample, height, width // 2 + 1), dtype=np.complex64)
    positive, negative = (n_planes + 1) // 2, n_planes // 2 - (1 - n_planes % 2)
    half[:positive] = spectrum[:positive, :, :width // 2 + 1]
    if negative:
        half[-negative:] = spectrum[-negative:, :, :width // 2 + 1]
    return sfft.irfftn(half, s=(n_planes * axial_upsample, height, width), workers=-1).astype(np.float32, copy=False)


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


"""2-beam stripe illumination: defaults, per-sample jitter, rendering."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simbench.types import Optics, StripePattern

#: Reference simulator's Airy PSF |2J₁(sR)/(sR)|², s = 0.9 rad/px (SCIENCE.md §1),
#: i.e. NA·Δx/λ = s/(2π) and an OTF cut-off of s/π = 0.2865 cycles/px.
REF_AIRY_S_RAD_PER_PX = 0.9
#: Reference stripe frequency: 126 cycles per 512 px (SCIENCE.md §1).
REF_STRIPE_CYCLES_PER_PX = 126 / 512
#: Stripe frequency as a fraction of the OTF cut-off: (126/512)/(0.9/π) ≈ 0.859.
NOMINAL_FREQUENCY_FRACTION = REF_STRIPE_CYCLES_PER_PX / (REF_AIRY_S_RAD_PER_PX / np.pi)
#: Default modulation depth m (SCIENCE.md §1).
DEFAULT_MODULATION = 0.8
#: 3 angles x 3 phases (SCIENCE.md §1).
N_ANGLES, N_PHASES = 3, 3

#: Per-sample jitter, all uniform (SCIENCE.md §1): frequency factor 1 ± 12 %,
#: common rotation U(−4.5°, 4.5°) + U(−5°, 5°), per-frame phase U(−4.5°, 4.5°).
FREQUENCY_JITTER_REL = 0.12
ROTATION_JITTER_DEG = (4.5, 5.0)
PHASE_JITTER_DEG = 4.5

#: Default optics (SCIENCE.md §1): NA 1.2, λ 525 nm, water immersion.
DEFAULT_NA, DEFAULT_WAVELENGTH_NM, DEFAULT_REFRACTIVE_INDEX = 1.2, 525.0, 1.33


def default_optics() -> Optics:
    """Optics equivalent to the reference simulator: NA·Δx/λ = 0.9/(2π).

    NA 1.2, λ 525 nm, n 1.33, raw pixel Δx = 0.9/(2π)·λ/NA ≈ 62.67 nm.
    """
    pixel_size_nm = REF_AIRY_S_RAD_PER_PX / (2 * np.pi) * DEFAULT_WAVELENGTH_NM / DEFAULT_NA
    return Optics(na=DEFAULT_NA, wavelength_nm=DEFAULT_WAVELENGTH_NM,
                  refractive_index=DEFAULT_REFRACTIVE_INDEX, pixel_size_nm=float(pixel_size_nm))


def nominal_pattern(optics: Optics, modulation: float = DEFAULT_MODULATION) -> StripePattern:
    """Nominal 3 x 3 stripe pattern: frequency 0.859·k_c (cycles/µm),
    angles a·π/3, phases 2πp/3 (radians), modulation m (SCIENCE.md §1)."""
    angles = tuple(a * np.pi / N_ANGLES for a in range(N_ANGLES))
    phases = tuple(2 * np.pi * p / N_PHASES for p in range(N_PHASES))
    return StripePattern(frequency_per_um=NOMINAL_FREQUENCY_FRACTION * optics.cutoff_per_um,
                         angles_rad=angles, phases_rad=(phases,) * N_ANGLES,
                         modulation=modulation)


#: how the 9 frames of a 2D SIM acquisition are ordered: a0p0 a0p1 a0p2 a1p0 … (angle-major)
#: or a0p0 a1p0 a2p0 a0p1 … (phase-major)
FRAME_ORDERS = ("angle-major", "phase-major")


def frame_patterns(order: str) -> tuple[int, ...]:
    """Pattern index (3·angle + phase) of each frame for a frame order (:data:`FRAME_ORDERS`)."""
    if order not in FRAME_ORDERS:
        raise ValueError(f"unknown frame order {order!r}; choose from {', '.join(FRAME_ORDERS)}")
    if order == "angle-major":
        return tuple(range(N_ANGLES * N_PHASES))
    return tuple(N_PHASES * (i % N_ANGLES) + i // N_ANGLES for i in range(N_ANGLES * N_PHASES))


def jitter_pattern(nominal: StripePattern, rng: np.random.Generator) -> StripePattern:
    """One sample's true pattern: the nominal one with uniform jitter (SCIENCE.md §1).

    Draw order (fixed): frequency factor U(0.88, 1.12); rotation parts
    U(−4.5°, 4.5°) then U(−5°, 5°), summed and added to every angle; phase
    errors U(−4.5°, 4.5°), one per frame, angle-major (n_angles, n_phases).
    """
    freq_factor = rng.uniform(1 - FREQUENCY_JITTER_REL, 1 + FREQUENCY_JITTER_REL)
    rotation_deg = sum(rng.uniform(-limit, limit) for limit in ROTATION_JITTER_DEG)
    phase_err_deg = rng.uniform(-PHASE_JITTER_DEG, PHASE_JITTER_DEG,
                                size=(nominal.n_angles, nominal.n_phases))
    angles = np.asarray(nominal.angles_rad) + np.deg2rad(rotation_deg)
    phases = np.asarray(nominal.phases_rad) + np.deg2rad(phase_err_deg)
    return StripePattern(frequency_per_um=float(nominal.frequency_per_um * freq_factor),
                         angles_rad=tuple(angles.tolist()),
                         phases_rad=tuple(tuple(row) for row in phases.tolist()),
                         modulation=nominal.modulation)


def _pattern_params(pattern: StripePattern,
                    pattern_indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Angles and phases (radians) of the selected patterns (index = a·n_phases + p)."""
    idx = np.asarray(pattern_indices, dtype=np.int64).reshape(-1)
    if np.any((idx < 0) | (idx >= pattern.n_patterns)):
        raise ValueError(f"pattern indices must be in [0, {pattern.n_patterns}); got {list(idx)}")
    angle_idx, phase_idx = np.divmod(idx, pattern.n_phases)
    return np.asarray(pattern.angles_rad)[angle_idx], np.asarray(pattern.phases_rad)[angle_idx, phase_idx]


def illumination(pattern: StripePattern, shape: tuple[int, int], pixel_size_nm: float,
                 pattern_indices: Sequence[int]) -> np.ndarray:
    """Stripe intensities ``½(1 + m·cos(2π k·r + φ))``, (n, H, W) float32.

    k = frequency·(cos θ, sin θ) in cycles/µm, r = (column, row)·pixel_size
    in µm (pixel centres at index·pixel_size).  Frame i shows pattern
    j = ``pattern_indices[i]``: angle j // n_phases, phase j % n_phases.
    """
    angles, phases = _pattern_params(pattern, pattern_indices)
    height, width = shape
    step_um = pixel_size_nm * 1e-3
    kx = pattern.frequency_per_um * np.cos(angles)[:, None]
    ky = pattern.frequency_per_um * np.sin(angles)[:, None]
    # Separable phase 2π(kx·x + φ) + 2π(ky·y), each reduced mod 2π in float64
    # so the float32 sum keeps ~1e-6 rad precision on large fields.
    phase_x = np.mod(2 * np.pi * kx * (np.arange(width) * step_um) + phases[:, None], 2 * np.pi)
    phase_y = np.mod(2 * np.pi * ky * (np.arange(height) * step_um), 2 * np.pi)
    out = np.add(phase_y.astype(np.float32)[:, :, None], phase_x.astype(np.float32)[:, None, :])
    np.cos(out, out=out)
    out *= np.float32(0.5 * pattern.modulation)
    out += np.float32(0.5)
    return out

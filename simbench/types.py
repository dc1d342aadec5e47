"""Plain data types shared by physics, suites, methods and the harness.

Units are in the field names: ``_nm`` nanometres, ``_rad`` radians,
``_per_um`` cycles per micrometre.  Arrays are float32 unless stated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: 2D SIM, 2-beam stripes, 3 angles x 3 phases = 9 raw frames (SCIENCE.md §1).
MODALITY_SIM2D = "sim2d-stripes-3x3"
#: 3D light-sheet SIM, hexagonal 3-beam pattern, 7 phase steps per plane (SCIENCE.md §4).
MODALITY_LSSIM3D = "lssim3d-hex-7step"
#: one plane of hexagonal 3-beam SIM: 7 phase steps, no z step (a thin sample in focus).
MODALITY_HEX2D = "sim2d-hex-7step"


@dataclass(frozen=True)
class Optics:
    """Imaging optics of a raw acquisition.

    ``pixel_size_nm`` is the raw camera pixel projected to the sample.
    """

    na: float
    wavelength_nm: float
    refractive_index: float
    pixel_size_nm: float

    def __post_init__(self) -> None:
        if not 0 < self.na < self.refractive_index:
            raise ValueError(f"NA must be in (0, n={self.refractive_index}); got {self.na}")
        if self.wavelength_nm <= 0 or self.pixel_size_nm <= 0:
            raise ValueError("wavelength_nm and pixel_size_nm must be positive")

    @property
    def cutoff_per_um(self) -> float:
        """Incoherent OTF cut-off 2·NA/λ in cycles/µm (SCIENCE.md §6)."""
        return 2.0 * self.na / (self.wavelength_nm * 1e-3)

    @property
    def cutoff_per_pixel(self) -> float:
        """Incoherent OTF cut-off in cycles per raw pixel."""
        return 2.0 * self.na * self.pixel_size_nm / self.wavelength_nm

    def to_dict(self) -> dict[str, float]:
        return {"na": self.na, "wavelength_nm": self.wavelength_nm,
                "refractive_index": self.refractive_index, "pixel_size_nm": self.pixel_size_nm}


@dataclass(frozen=True)
class StripePattern:
    """2-beam stripe illumination ``½(1 + m·cos(2π k·r + φ))`` (SCIENCE.md §1).

    ``phases_rad`` has shape (n_angles, n_phases); pattern index ``3·a + p``
    is angle ``a``, phase ``p`` (angle-major).
    """

    frequency_per_um: float
    angles_rad: tuple[float, ...]
    phases_rad: tuple[tuple[float, ...], ...]
    modulation: float

    @property
    def n_angles(self) -> int:
        return len(self.angles_rad)

    @property
    def n_phases(self) -> int:
        return len(self.phases_rad[0])

    @property
    def n_patterns(self) -> int:
        return self.n_angles * self.n_phases

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StripePattern:
        return cls(frequency_per_um=float(d["frequency_per_um"]),
                   angles_rad=tuple(float(a) for a in d["angles_rad"]),
                   phases_rad=tuple(tuple(float(p) for p in row) for row in d["phases_rad"]),
                   modulation=float(d["modulation"]))

    def to_dict(self) -> dict[str, Any]:
        return {"frequency_per_um": self.frequency_per_um,
                "angles_rad": list(self.angles_rad),
                "phases_rad": [list(p) for p in self.phases_rad],
                "modulation": self.modulation}


@dataclass(frozen=True)
class HexPattern:
    """Hexagonal 3-beam light-sheet illumination (SCIENCE.md §4).

    Step j of ``n_steps`` lights (x, y) with
    ``3 − cos(κy' + p1 − p2) − cos(κ(y' − √3x')/2 + p1) − cos(κ(−y' − √3x')/2 + p2)``,
    (x', y') = (x, y) rotated by −``angle_rad``, κ = 2π·``frequency_per_um``,
    p1 = −2πj/7 + ``phase_offsets_rad[0]``, p2 = 4πj/7 + ``phase_offsets_rad[1]``;
    times a Gaussian light sheet of ``sheet_fwhm_nm`` centred on the focal plane.
    """

    frequency_per_um: float
    angle_rad: float
    phase_offsets_rad: tuple[float, float]
    sheet_fwhm_nm: float
    n_steps: int = 7

    @property
    def n_patterns(self) -> int:
        return self.n_steps

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HexPattern:
        return cls(frequency_per_um=float(d["frequency_per_um"]), angle_rad=float(d["angle_rad"]),
                   phase_offsets_rad=tuple(float(p) for p in d["phase_offsets_rad"]),
                   sheet_fwhm_nm=float(d["sheet_fwhm_nm"]), n_steps=int(d["n_steps"]))

    def to_dict(self) -> dict[str, Any]:
        return {"frequency_per_um": self.frequency_per_um, "angle_rad": self.angle_rad,
                "phase_offsets_rad": list(self.phase_offsets_rad), "sheet_fwhm_nm": self.sheet_fwhm_nm,
                "n_steps": self.n_steps}


@dataclass(frozen=True)
class RawStack:
    """Raw SIM frames as a method receives them.

    ``frames``: (n_frames, H, W) float32.  ``pattern`` holds the *nominal*
    pattern parameters (what a microscope's settings say), never the true
    jittered ones, unless ``oracle`` is True (a run with ``--oracle-params``):
    then ``pattern`` is the truth and estimating methods should use it as is.
    ``frame_patterns[i]`` is the pattern index shown in frame i.
    A 3D stack (``z_step_nm`` set, e.g. :data:`MODALITY_LSSIM3D`) holds its
    planes one after the other, each as ``pattern.n_patterns`` consecutive frames.
    """

    frames: np.ndarray
    optics: Optics
    pattern: StripePattern | HexPattern
    frame_patterns: tuple[int, ...]
    modality: str = MODALITY_SIM2D
    oracle: bool = False
    #: distance between consecutive planes of a 3D stack (nm); None for 2D data
    z_step_nm: float | None = None

    def __post_init__(self) -> None:
        if self.frames.ndim != 3:
            raise ValueError(f"raw frames must be (n_frames, H, W); got shape {self.frames.shape}")
        if len(self.frame_patterns) != self.frames.shape[0]:
            raise ValueError(f"{self.frames.shape[0]} frames but {len(self.frame_patterns)} frame_patterns")


@dataclass(frozen=True)
class Sample:
    """One benchmark item: raw input, ground truth and metadata.

    ``target`` is the ground truth at its native sampling
    ``target_pixel_size_nm`` (2x finer than the raw frames for 2D SIM), or None for a real
    acquisition (no ground truth: methods still reconstruct onto that grid, :attr:`grid_shape`).
    Grid convention: target pixel ``2·j`` is co-located with raw pixel ``j``
    (what Fourier zero-padding gives, and what the simulator samples).
    ``truth`` holds the true simulation parameters (oracle only);
    ``meta`` holds descriptive, JSON-able facts (source image, pool, noise).
    ``raw_repeat`` is the same acquisition with an independent noise
    realisation (for FRC between two reconstructions), or None.
    """

    id: str
    raw: RawStack
    target: np.ndarray | None
    target_pixel_size_nm: float
    truth: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    raw_repeat: RawStack | None = None
    #: plane spacing of a 3D target (z, y, x) in nm; None for 2D targets
    target_z_step_nm: float | None = None

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """The shape a reconstruction must have: the target's, or without one (2D) the raw frames'
        scaled to ``target_pixel_size_nm``."""
        if self.target is not None:
            return tuple(self.target.shape)
        factor = self.raw.optics.pixel_size_nm / self.target_pixel_size_nm
        return tuple(round(n * factor) for n in self.raw.frames.shape[1:])


@dataclass(frozen=True)
class Reconstruction:
    """What a method may return instead of a bare array: the image plus facts
    worth recording per sample (e.g. estimated pattern parameters)."""

    image: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

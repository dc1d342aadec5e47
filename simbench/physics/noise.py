"""Camera noise: optional Poisson shot noise, then relative Gaussian noise."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NoiseModel:
    """Per-sample noise levels (SCIENCE.md §1).

    ``gaussian_rel``: σ drawn once per sample from U(lo, hi), as a fraction
    of each clean frame's standard deviation (reference: 4 %–12 %).
    ``peak_photons``: Poisson noise with the stack's brightest pixel scaled to
    this many photons, then scaled back; None = no shot noise.
    """

    gaussian_rel: tuple[float, float] = (0.04, 0.12)
    peak_photons: float | None = None

    def __post_init__(self) -> None:
        lo, hi = self.gaussian_rel
        if not 0 <= lo <= hi:
            raise ValueError(f"gaussian_rel must satisfy 0 <= lo <= hi; got {self.gaussian_rel}")
        if self.peak_photons is not None and not self.peak_photons > 0:
            raise ValueError(f"peak_photons must be positive or None; got {self.peak_photons}")

    def apply(self, frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """Noisy float32 copy of ``frames`` (n, H, W) and the drawn levels.

        rng draws, in order: Poisson counts (if on), σ_rel, Gaussian noise.
        Negative intensities (float rounding) count as 0 photons.
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 3:
            raise ValueError(f"frames must be (n, H, W); got shape {frames.shape}")
        noisy, info = frames.copy(), {"peak_photons": self.peak_photons}
        if self.peak_photons is not None:
            peak = float(frames.max())
            if not peak > 0:
                raise ValueError("Poisson noise needs a positive brightest pixel")
            photons_per_unit = self.peak_photons / peak
            counts = rng.poisson(np.clip(frames, 0, None) * photons_per_unit)
            noisy = (counts / photons_per_unit).astype(np.float32)
            info["photons_per_unit"] = photons_per_unit
        sigma_rel = float(rng.uniform(*self.gaussian_rel))
        sigmas = sigma_rel * frames.std(axis=(1, 2))
        noisy += sigmas[:, None, None].astype(np.float32) * rng.standard_normal(frames.shape, dtype=np.float32)
        info.update(gaussian_rel=sigma_rel, gaussian_sigma=[float(s) for s in sigmas])
        return noisy, info

    def apply_twice(self, frames: np.ndarray, rng: np.random.Generator,
                    repeat_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Two independent noise realisations of the same acquisition (e.g. for FRC):
        the first as :meth:`apply` with ``rng``; the second at the same drawn Gaussian
        level with independent noise from ``repeat_rng``.  Returns (first, second, levels)."""
        first, info = self.apply(frames, rng)
        level = info["gaussian_rel"]
        second, _ = NoiseModel(gaussian_rel=(level, level), peak_photons=self.peak_photons).apply(frames, repeat_rng)
        return first, second, info

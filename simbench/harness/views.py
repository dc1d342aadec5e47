"""Which sample of a suite a report shows, and which region of it.

A report's crops should show what SIM adds, on a scene a microscopist can read.  Both choices
use the target alone, in the *SIM band*: spatial frequencies from half the widefield cut-off
(2·NA/λ, where the widefield OTF has fallen to about 40 %) to the SIM cut-off (widefield
cut-off + pattern frequency) — detail a SIM acquisition transmits and widefield blurs.

* **Sample**: among the first :data:`CANDIDATES` samples, the one whose target has the most
  *structure* (:func:`structure`): SIM-band energy (variance of the band-passed target, relative
  to the target's variance) weighted by how sparse that band-passed signal is (its excess
  kurtosis, capped).  Edges, filaments and membranes give a heavy-tailed band-passed image;
  noise-like texture (gravel, grain) gives a near-Gaussian one (excess kurtosis ≈ 0) however
  much energy it has.
* **Region**: in that sample's target (of a volume, the plane holding the most target signal),
  the square window with the most SIM-band energy (:func:`best_window`).

Ties go to the lowest sample index and the top-left-most window, so the choice is deterministic.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from simbench.types import RawStack

#: samples considered per suite: the first ones, in index order (each is generated)
CANDIDATES = 8
#: lower edge of the SIM band, as a fraction of the widefield cut-off
BAND_LOW = 0.5
#: cap on the excess kurtosis weighting SIM-band energy (one isolated spot cannot win)
KURTOSIS_CAP = 10.0
#: windows are searched on this grid, as a fraction of the window side
WINDOW_STEP = 1 / 8


@dataclass(frozen=True)
class View:
    """The region of one sample a report shows: ``image[plane][y:y + side, x:x + side]``."""

    index: int
    plane: tuple[int, ...]
    y: int
    x: int
    side: int
    #: :func:`structure` of the sample's target, and the SIM band (cycles/µm) it was measured in
    structure: float
    band_per_um: tuple[float, float]

    def crop(self, image: np.ndarray) -> np.ndarray:
        """This view's window of ``image`` (target-grid shaped)."""
        return image[self.plane][self.y:self.y + self.side, self.x:self.x + self.side]

    def describe(self, sample_id: str, candidates: int) -> str:
        """One sentence for the report: which sample and region, and why; ``candidates``: how many
        samples it was chosen from (1: it was asked for)."""
        plane = f", plane {self.plane[0]}" if self.plane else ""
        low, high = self.band_per_um
        band = f"the SIM band {low:.2f}–{high:.2f} cycles/µm"
        why = (f"of the first {candidates} samples, the one whose ground truth has the most sparse structure in "
               f"{band} (structure score {self.structure:.3g})" if candidates > 1 else
               f"the sample asked for (structure score {self.structure:.3g} in {band})")
        return (f"`{sample_id}`, {why}; the {self.side}² window at x={self.x}, y={self.y}{plane} with the most "
                f"ground-truth energy in that band.")


def sim_band_per_um(raw: RawStack) -> tuple[float, float]:
    """The SIM band of ``raw``'s acquisition, cycles/µm: (:data:`BAND_LOW` × widefield cut-off,
    widefield cut-off + pattern frequency)."""
    cutoff = raw.optics.cutoff_per_um
    return BAND_LOW * cutoff, cutoff + raw.pattern.frequency_per_um


def band_pass(image: np.ndarray, pixel_size_nm: float, band_per_um: tuple[float, float]) -> np.ndarray:
    """``image`` (2D) keeping only the spatial frequencies in ``band_per_um`` (cycles/µm; pixels
    of ``pixel_size_nm`` nm), by an ideal annular filter on its mirror-extended copy (the image's
    borders are no edges)."""
    h, w = image.shape
    mirrored = np.pad(image.astype(np.float64), ((0, h), (0, w)), mode="symmetric")
    step_um = pixel_size_nm * 1e-3
    fy = np.fft.fftfreq(2 * h, step_um)[:, None]
    fx = np.fft.rfftfreq(2 * w, step_um)[None, :]
    radius = np.hypot(fy, fx)
    keep = (radius >= band_per_um[0]) & (radius <= band_per_um[1])
    return np.fft.irfft2(np.fft.rfft2(mirrored) * keep, s=mirrored.shape)[:h, :w]


def structure(image: np.ndarray, pixel_size_nm: float, band_per_um: tuple[float, float]) -> float:
    """How much readable fine structure ``image`` (2D) holds: the fraction of its variance in the
    SIM band times the band-passed image's excess kurtosis (clipped to [0, :data:`KURTOSIS_CAP`]);
    0 for a flat image."""
    variance = float(image.var())
    if variance == 0:
        return 0.0
    passed = band_pass(image, pixel_size_nm, band_per_um)
    power = float(np.mean(passed ** 2))
    if power == 0:
        return 0.0
    kurtosis = float(np.mean(passed ** 4)) / power ** 2 - 3.0
    return power / variance * float(np.clip(kurtosis, 0.0, KURTOSIS_CAP))


def best_window(image: np.ndarray, pixel_size_nm: float, band_per_um: tuple[float, float],
                side: int) -> tuple[int, int]:
    """Top-left corner (y, x) of the ``side``² window of ``image`` (2D) holding the most SIM-band
    energy, searched on a grid of :data:`WINDOW_STEP` × ``side``; the whole image when smaller."""
    h, w = image.shape
    if h <= side and w <= side:
        return 0, 0
    energy = np.pad(np.cumsum(np.cumsum(band_pass(image, pixel_size_nm, band_per_um) ** 2, 0), 1), ((1, 0), (1, 0)))
    step = max(1, int(side * WINDOW_STEP))
    ys = np.unique(np.r_[np.arange(0, max(h - side, 0) + 1, step), max(h - side, 0)])
    xs = np.unique(np.r_[np.arange(0, max(w - side, 0) + 1, step), max(w - side, 0)])
    y1, x1 = np.minimum(ys + side, h)[:, None], np.minimum(xs + side, w)[None, :]
    sums = energy[y1, x1] - energy[ys[:, None], x1] - energy[y1, xs[None, :]] + energy[ys[:, None], xs[None, :]]
    row, column = np.unravel_index(int(np.argmax(sums)), sums.shape)  # argmax: the first maximum
    return int(ys[row]), int(xs[column])


def brightest_plane(target: np.ndarray) -> tuple[int, ...]:
    """Index of the section shown: ``()`` for an image; for a volume (z, y, x) the plane holding
    the most target signal."""
    return () if target.ndim == 2 else (int(np.argmax(target.sum(axis=(-2, -1)))),)


def choose_view(targets: Callable[[int], tuple[np.ndarray, float, tuple[float, float]]], indices: Sequence[int],
                side: int) -> View:
    """The :class:`View` of the sample among ``indices`` with the most :func:`structure` (the first
    of equals), ``targets(i)`` giving sample ``i``'s target, its pixel size (nm) and its SIM band
    (cycles/µm)."""
    best: View | None = None
    for index in indices:
        target, pixel_size_nm, band = targets(index)
        plane = brightest_plane(target)
        score = structure(target[plane], pixel_size_nm, band)
        if best is None or score > best.structure:
            y, x = best_window(target[plane], pixel_size_nm, band, side)
            best = View(index, plane, y, x, side, score, band)
    if best is None:
        raise ValueError("no sample to choose a view from")
    return best

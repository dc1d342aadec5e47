"""Extrapolating a learning curve: how many training steps a validation PSNR would take.

Over the budgets simbench trains at, validation PSNR grows roughly linearly in the logarithm of the
steps (a saturating power law fitted to the shipped curves puts its exponent near 0 and leaves the
asymptote unidentified).  :func:`fit_curve` fits ``PSNR ≈ a + b·log2(steps)`` by least squares, so
``b`` is the gain per doubling of the budget, and bootstraps the validation points for 95 %
intervals; :meth:`CurveFit.steps_to_reach` inverts it.  It is a measured trend, not a law: a learning
curve bends down eventually, so a long extrapolation is a lower bound on the compute.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: bootstrap draws for the intervals
DRAWS = 2000


@dataclass(frozen=True)
class CurveFit:
    """``PSNR ≈ intercept_db + db_per_doubling·log2(steps)``; ``draws`` (n, 2): bootstrap (intercept, slope)."""

    db_per_doubling: float
    intercept_db: float
    #: root-mean-square residual of the validation points, dB
    rms_db: float
    points: int
    last_step: int
    last_psnr_db: float
    draws: np.ndarray

    def slope_interval(self) -> tuple[float, float]:
        """95 % bootstrap interval of the gain per doubling, dB."""
        low, high = np.percentile(self.draws[:, 1], [2.5, 97.5])
        return float(low), float(high)

    def steps_to_reach(self, target_db: float) -> tuple[float, float, float]:
        """Steps at which the fitted trend reaches ``target_db``: (fit, 2.5 %, 97.5 % of the bootstrap);
        infinite where a trend does not rise."""
        def steps(intercept: float, slope: float) -> float:
            doublings = (target_db - intercept) / slope if slope > 0 else math.inf
            return 2.0 ** doublings if doublings < 1000 else math.inf

        spread = np.array([steps(a, b) for a, b in self.draws])
        low, high = np.percentile(spread, [2.5, 97.5], method="inverted_cdf")  # no interpolation: may be inf
        return steps(self.intercept_db, self.db_per_doubling), float(low), float(high)


def read_curve(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(steps, validation PSNR dB) of a ``learning-curve.csv`` written by ``simbench train``."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"step", "psnr"} <= set(rows[0]):
        raise ValueError(f"{path}: not a learning curve (needs columns step and psnr)")
    return np.array([float(r["step"]) for r in rows]), np.array([float(r["psnr"]) for r in rows])


def fit_curve(steps: np.ndarray, psnr_db: np.ndarray, from_step: float = 0.0, seed: int = 0) -> CurveFit:
    """:class:`CurveFit` of the points at or after ``from_step`` (at least 3, at two or more distinct steps)."""
    keep = (steps >= from_step) & (steps > 0) & np.isfinite(psnr_db)
    x, y = np.log2(steps[keep]), psnr_db[keep]
    if x.size < 3 or np.ptp(x) == 0:
        raise ValueError(f"a learning-curve fit needs 3 or more validation points at distinct steps; got {x.size}")
    slope, intercept = np.polyfit(x, y, 1)
    rng = np.random.default_rng(seed)
    draws = []
    while len(draws) < DRAWS:
        pick = rng.integers(0, x.size, x.size)
        if np.ptp(x[pick]) > 0:
            b, a = np.polyfit(x[pick], y[pick], 1)
            draws.append((a, b))
    residual = y - (intercept + slope * x)
    last = int(np.argmax(steps[keep]))
    return CurveFit(float(slope), float(intercept), float(np.sqrt(np.mean(residual**2))), int(x.size),
                    int(steps[keep][last]), float(y[last]), np.array(draws))

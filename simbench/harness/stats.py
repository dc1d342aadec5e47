"""Statistics over per-sample scores: bootstrap confidence intervals, paired tests and effect sizes.

Both are deterministic: the bootstrap draws its resamples from a fixed seed, so a
leaderboard rendered twice from the same results is the same text.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: confidence level of leaderboard intervals, bootstrap resamples and their seed
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
#: significance level of ``simbench compare``
ALPHA = 0.05


def bootstrap_ci(values: Sequence[float], confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean; (nan, nan) for fewer than two values."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 2:
        return math.nan, math.nan
    draws = np.random.default_rng(seed).integers(0, data.size, size=(resamples, data.size))
    means = data[draws].mean(axis=1)
    low, high = np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedTest:
    """Method A vs method B on one metric, over the samples both scored."""

    metric: str
    direction: str
    n: int
    mean_a: float
    mean_b: float
    #: two-sided p-values of the paired t test and the Wilcoxon signed-rank test
    p_t: float
    p_wilcoxon: float
    #: the effect: mean paired difference B − A with its bootstrap confidence interval, and
    #: Cohen's d_z (that mean over the differences' standard deviation; 0 when all are equal)
    difference: float = math.nan
    difference_ci: tuple[float, float] = (math.nan, math.nan)
    d_z: float = math.nan

    def verdict(self, a: str, b: str, alpha: float = ALPHA) -> str:
        """Which method is better, when both tests say the difference is significant at ``alpha``."""
        if not (self.p_t < alpha and self.p_wilcoxon < alpha):
            return "no significant difference"
        b_higher = self.mean_b > self.mean_a
        better = b if b_higher == (self.direction == "higher") else a
        return f"{better} better"


def _p_or_one(p: float) -> float:
    """Tests on identical scores give nan (zero variance): that is 'no difference', p = 1."""
    return 1.0 if math.isnan(p) else float(p)


def paired_test(metric: str, direction: str, a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Paired t and Wilcoxon signed-rank tests (two-sided) of per-sample scores ``a`` and ``b``."""
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"{metric}: paired tests need two equally long score lists of at least 2 samples")
    diff = y - x
    if np.all(diff == 0):
        p_t = p_w = 1.0
    else:
        p_t = _p_or_one(stats.ttest_rel(x, y).pvalue)
        p_w = _p_or_one(stats.wilcoxon(x, y).pvalue)
    mean, spread = float(diff.mean()), float(diff.std(ddof=1))
    d_z = mean / spread if spread > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
    return PairedTest(metric, direction, int(x.size), float(x.mean()), float(y.mean()), p_t, p_w, mean,
                      bootstrap_ci(diff), d_z)

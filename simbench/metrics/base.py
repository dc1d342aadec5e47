"""The contract of a metric: a named, directed number per (prediction, target)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Union

import numpy as np

from simbench.types import Sample

#: what "better" means: a higher value, a lower value, or a value closer to the one the same
#: code measures on the target (a metric that can measure the target too, e.g. an FWHM)
Direction = Literal["higher", "lower", "target"]
ARROWS = {"higher": "↑", "lower": "↓", "target": "◎"}

#: per-sample flags a metric may attach to a value, and what each means.  A value carrying an
#: *invalidating* flag is recorded but never enters a mean or a ranking as a number: the
#: leaderboard counts it against the method like a failed sample.
FLAGS: dict[str, str] = {
    "no_crossing": "the curve never crossed its threshold: no resolution can be read (invalid)",
    "unreliable": "the fit or estimate cannot separate the quantity from structure or noise (invalid)",
    "beyond_target": "beyond the target's own value, where no faithful reconstruction can be",
    "beyond_limit": "finer than the acquisition can transmit: the value is clamped at the limit for ranking",
    "clipped": "outside the metric's physical range; clipped to it",
}
INVALIDATING_FLAGS = frozenset({"no_crossing", "unreliable"})


@dataclass(frozen=True)
class Measurement:
    """A metric's value for one sample, with flags (:data:`FLAGS`) and an optional uncertainty
    (one standard deviation, in the metric's unit; NaN when not estimated)."""

    value: float
    flags: tuple[str, ...] = ()
    uncertainty: float = math.nan

    def __post_init__(self) -> None:
        unknown = [f for f in self.flags if f not in FLAGS]
        if unknown:
            raise ValueError(f"unknown metric flag(s) {unknown}; known: {', '.join(FLAGS)}")

    @property
    def valid(self) -> bool:
        """False when a flag says the value must not be ranked as a number."""
        return not INVALIDATING_FLAGS.intersection(self.flags)


MetricValue = Union[float, Measurement]
#: "normalised": percentile-normalised target, prediction fitted by least squares (the CARE
#: practice, Weigert et al., Nat. Methods 15, 1090 (2018)).  "paper": the VSR-SIM 8-bit,
#: 4-px-crop evaluation.
CONVENTIONS = ("normalised", "paper")


@dataclass(frozen=True)
class MetricConfig:
    """How images are prepared before fidelity metrics are computed."""

    convention: str = "normalised"
    percentile_low: float = 0.1
    percentile_high: float = 99.9
    paper_crop_px: int = 4
    #: sparse targets (point-like objects in an empty volume): when the target's
    #: ``percentile_high`` percentile is below this fraction of its range, MSE, PSNR and SSIM are
    #: averaged over the *support* only, not over the empty background that every method gets right
    sparse_max_fraction: float = 0.01
    #: the support: voxels where the normalised target or the fitted prediction exceed this
    #: fraction of the target's range, widened by ``support_margin_px`` along every axis
    support_level: float = 0.01
    support_margin_px: int = 5

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f"unknown metric convention {self.convention!r}; choose from {CONVENTIONS}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ScoreInput:
    """Everything a metric may look at for one sample (arrays on the target grid)."""

    prediction: np.ndarray
    #: the ground truth; None on real acquisitions (only reference-free metrics are scored there)
    target: np.ndarray | None
    #: pixel size of prediction and target, nm
    pixel_size_nm: float
    config: MetricConfig = MetricConfig()
    #: the method's reconstruction of an independent noise realisation of the
    #: same sample (given to metrics with ``needs_repeat``, e.g. FRC), else None
    repeat: np.ndarray | None = None
    #: the sample being scored (raw frames, optics, true pattern in ``truth``) for metrics that
    #: re-simulate the acquisition (e.g. forward-model consistency), else None
    sample: Sample | None = None


@dataclass(frozen=True)
class Metric:
    """A named, directed score ``fn(ScoreInput) -> float | Measurement``."""

    name: str
    direction: Direction
    fn: Callable[[ScoreInput], MetricValue]
    description: str = ""
    unit: str = ""
    #: True when the metric compares two independent reconstructions
    needs_repeat: bool = False
    #: True when the metric measures the prediction alone (with the sample's metadata), so it
    #: can measure the target too: the harness records the target's score as a reference
    on_target: bool = False
    #: bump when the computation changes what the metric returns: results scored with another
    #: version are another record (never mixed with, or gated against, this one's)
    version: str = "1"

    def __post_init__(self) -> None:
        if self.direction not in ARROWS:
            raise ValueError(f"metric {self.name!r}: direction must be one of {', '.join(ARROWS)}")
        if self.direction == "target" and not self.on_target:
            raise ValueError(f"metric {self.name!r}: direction 'target' needs on_target (the target is measured too)")

    def measure(self, inputs: ScoreInput) -> Measurement:
        """The value with its flags and uncertainty."""
        value = self.fn(inputs)
        return value if isinstance(value, Measurement) else Measurement(float(value))

    def __call__(self, inputs: ScoreInput) -> float:
        """The value alone (flags dropped)."""
        return float(self.measure(inputs).value)

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]

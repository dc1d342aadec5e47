"""The contract of a metric: a named, directed number per (prediction, target)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from simbench.types import Sample

Direction = Literal["higher", "lower"]
#: "normalised": percentile-normalised target, prediction fitted by least squares
#: (SCIENCE.md §2, CSBDeep).  "paper": the VSR-SIM 8-bit, 4-px-crop evaluation.
CONVENTIONS = ("normalised", "paper")


@dataclass(frozen=True)
class MetricConfig:
    """How images are prepared before fidelity metrics are computed."""

    convention: str = "normalised"
    percentile_low: float = 0.1
    percentile_high: float = 99.9
    paper_crop_px: int = 4

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f"unknown metric convention {self.convention!r}; choose from {CONVENTIONS}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ScoreInput:
    """Everything a metric may look at for one sample (arrays on the target grid)."""

    prediction: np.ndarray
    target: np.ndarray
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
    """A named, directed score ``fn(ScoreInput) -> float``."""

    name: str
    direction: Direction
    fn: Callable[[ScoreInput], float]
    description: str = ""
    unit: str = ""
    #: True when the metric compares two independent reconstructions
    needs_repeat: bool = False
    #: True when the metric measures the prediction alone (with the sample's metadata), so it
    #: can measure the target too: the harness records the target's score as a reference
    on_target: bool = False

    def __call__(self, inputs: ScoreInput) -> float:
        return float(self.fn(inputs))

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"

"""The contract of a metric: a named, directed number per (prediction, target)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

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
class Metric:
    """``fn(prediction, target, config) -> float``; both arrays on the target grid."""

    name: str
    direction: Direction
    fn: Callable[[np.ndarray, np.ndarray, MetricConfig], float]
    description: str = ""
    unit: str = ""

    def __call__(self, prediction: np.ndarray, target: np.ndarray, config: MetricConfig) -> float:
        return float(self.fn(prediction, target, config))

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"

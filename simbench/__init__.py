"""simbench: a benchmark for structured illumination microscopy reconstruction.

This module is the public API: everything a plugin author needs is exported
here (and only from here).  Core suites make samples, methods (plugins) turn
raw stacks into images, metrics score them, the harness records and ranks.
"""
from __future__ import annotations

from simbench import physics
from simbench.errors import EstimationError, SimbenchError
from simbench.learn import LearnedMethod, TrainingRecipe
from simbench.method import Method
from simbench.metrics.base import Metric, MetricConfig, ScoreInput
from simbench.plugin.spec import hookimpl
from simbench.resample import upsample_bicubic
from simbench.suites.base import Suite
from simbench.types import (
    MODALITY_HEX2D,
    MODALITY_LSSIM3D,
    MODALITY_SIM2D,
    HexPattern,
    Optics,
    RawStack,
    Reconstruction,
    Sample,
    StripePattern,
)

__all__ = [
    "MODALITY_HEX2D",
    "MODALITY_LSSIM3D",
    "MODALITY_SIM2D",
    "EstimationError",
    "HexPattern",
    "LearnedMethod",
    "Method",
    "Metric",
    "MetricConfig",
    "Optics",
    "RawStack",
    "Reconstruction",
    "Sample",
    "ScoreInput",
    "SimbenchError",
    "StripePattern",
    "Suite",
    "TrainingRecipe",
    "hookimpl",
    "physics",
    "upsample_bicubic",
]

"""The contract a reconstruction method fulfils (built-in or third party)."""
from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from simbench.types import RawStack, Reconstruction


class Method(abc.ABC):
    """A reconstruction algorithm.

    Subclasses set ``name`` (one per algorithm), ``modalities`` (every raw
    modality accepted, e.g. ``(MODALITY_SIM2D,)``) and implement
    :meth:`reconstruct`, returning an array on the suite's target grid
    (for 2D SIM: 2x the raw frame size) or a :class:`Reconstruction`.
    Heavy imports (torch) belong inside methods, not at module top level,
    so that listing plugins stays fast.
    """

    name: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]]
    description: ClassVar[str] = ""
    #: Bump when the algorithm's output changes; recorded in results.
    version: ClassVar[str] = "1"
    #: True when ``reconstruct`` honours any ``raw.frame_patterns`` order (e.g. a
    #: rolling window that starts at any pattern); suites that need it skip others.
    accepts_any_pattern_order: ClassVar[bool] = False
    #: True when the method computes on an accelerator (GPU) when one is present: on a Dask cluster
    #: whose workers advertise GPUs, each of its tasks then holds one (see the README, "Scale out")
    accelerated: ClassVar[bool] = False

    @abc.abstractmethod
    def reconstruct(self, raw: RawStack) -> np.ndarray | Reconstruction:
        """Reconstruct one raw stack."""

    @classmethod
    def artifacts(cls) -> dict[str, str]:
        """Digests of the files besides the code that the output depends on (e.g. trained weights:
        ``{"weights_sha256": …}``); recorded in results, so that a baseline made with other files
        is stale rather than compared.  Default: none."""
        return {}

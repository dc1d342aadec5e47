"""The contract of a benchmark suite: a deterministic list of samples."""
from __future__ import annotations

import abc
from typing import ClassVar

from simbench.errors import SimbenchError
from simbench.types import Sample


class Suite(abc.ABC):
    """A named, versioned, seeded generator of :class:`Sample` objects.

    ``make_sample(index, size, seed)`` must be a pure function of its
    arguments and ``version``: same inputs, same bytes.  Changing what it
    generates requires bumping ``version`` (the committed manifest under
    ``datasets/`` catches a forgotten bump).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    modality: ClassVar[str]
    description: ClassVar[str] = ""
    #: number of samples per named size
    sizes: ClassVar[dict[str, int]]
    default_seed: ClassVar[int] = 0
    #: names of the metrics scored on this suite, in table order
    metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "mse")

    def n_samples(self, size: str) -> int:
        if size not in self.sizes:
            raise SimbenchError(f"suite {self.name!r} has no size {size!r}; sizes: {', '.join(self.sizes)}")
        return self.sizes[size]

    def sample_id(self, index: int) -> str:
        return f"{self.name}-{index:04d}"

    @abc.abstractmethod
    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        """Generate sample ``index`` of ``size`` from ``seed``."""

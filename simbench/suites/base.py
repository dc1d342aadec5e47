"""The contract of a benchmark suite: a deterministic list of samples."""
from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from simbench.errors import SimbenchError, UnknownNameError
from simbench.types import Sample


@dataclass(frozen=True)
class SuiteOption:
    """A user-settable suite parameter (``--suite-opt NAME=VALUE``).

    ``parse`` turns the command-line text into a value (and raises
    ValueError on bad input).  Any non-default value is part of the run's
    identity and, through the samples it changes, of the content hash.
    """

    name: str
    help: str
    default: Any
    parse: Callable[[str], Any] = str


class Suite(abc.ABC):
    """A named, versioned, seeded generator of :class:`Sample` objects.

    ``make_sample(index, size, seed)`` must be a pure function of its
    arguments, ``version`` and the suite's option values: same inputs, same
    bytes.  Changing what it generates requires bumping ``version`` (the
    committed manifest under ``datasets/`` catches a forgotten bump).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    modality: ClassVar[str]
    description: ClassVar[str] = ""
    #: number of samples per named size
    sizes: ClassVar[dict[str, int]]
    default_seed: ClassVar[int] = 0
    #: names of the metrics scored on this suite by default, in table order
    metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "mse")
    #: metrics valid on this suite that are scored only when asked for (``--metric``), e.g. those
    #: that need a second reconstruction of an independent noise realisation
    extra_metrics: ClassVar[tuple[str, ...]] = ()
    #: the metrics the leaderboard ranks by (a subset of ``metrics``), most important first
    primary_metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim")
    #: parameters users may set with ``--suite-opt``
    options: ClassVar[tuple[SuiteOption, ...]] = ()
    #: True when samples present the patterns in varying order (rolling SIM):
    #: methods without ``accepts_any_pattern_order`` are skipped with a reason
    requires_any_pattern_order: ClassVar[bool] = False
    #: False: ``simbench train --suite GROUP`` leaves this member of the group out (name it to train on it)
    trains_with_group: ClassVar[bool] = True
    #: True when the samples' last bits depend on the CPU's BLAS kernel (large matrix products):
    #: the manifest then holds digests per kernel (:mod:`simbench.harness.manifest`)
    bytes_depend_on_cpu: ClassVar[bool] = False
    #: False when samples are read from files the suite's options only name (the user's data): the
    #: sample cache, keyed by suite, version, options, size and seed, cannot see them change
    cacheable: ClassVar[bool] = True

    def __init__(self, **values: Any) -> None:
        known = {o.name: o for o in self.options}
        for key in values:
            if key not in known:
                raise UnknownNameError(f"option of suite {self.name!r}", key, known)
        self.option_values: dict[str, Any] = {o.name: values.get(o.name, o.default) for o in self.options}

    def configured(self, texts: dict[str, str]) -> Suite:
        """A copy of this suite with options parsed from ``NAME=VALUE`` texts."""
        known = {o.name: o for o in self.options}
        values = {}
        for key, text in texts.items():
            if key not in known:
                raise UnknownNameError(f"option of suite {self.name!r}", key, known)
            try:
                values[key] = known[key].parse(text)
            except (TypeError, ValueError) as exc:
                raise SimbenchError(f"suite {self.name!r}: bad value {text!r} for option {key!r}: {exc}") from None
        return type(self)(**values)

    def changed_options(self) -> dict[str, Any]:
        """Options whose value differs from the default (they identify the run)."""
        return {o.name: self.option_values[o.name] for o in self.options
                if self.option_values[o.name] != o.default}

    def metric_names(self, extra: Sequence[str] = ()) -> tuple[str, ...]:
        """The default metrics plus the requested ``extra`` ones (each must be valid here)."""
        valid = (*self.metrics, *self.extra_metrics)
        for name in extra:
            if name not in valid:
                raise UnknownNameError(f"metric of suite {self.name!r}", name, dict.fromkeys(valid))
        return (*self.metrics, *(n for n in self.extra_metrics if n in extra))

    def n_samples(self, size: str) -> int:
        if size not in self.sizes:
            raise SimbenchError(f"suite {self.name!r} has no size {size!r}; sizes: {', '.join(self.sizes)}")
        return self.sizes[size]

    @property
    def manifest_name(self) -> str:
        """File stem of the suite's manifest under ``datasets/`` (``motion/fast`` → ``motion-fast``)."""
        return self.name.replace("/", "-")

    @property
    def manifest_file(self) -> str:
        """File stem of the manifest of this suite *with its options*: :attr:`manifest_name`, then
        ``@NAME=VALUE`` per changed option in name order (``motion-medium@pattern_start=0``)."""
        return self.manifest_name + "".join(f"@{k}={v}" for k, v in sorted(self.changed_options().items()))

    def sample_id(self, index: int) -> str:
        return f"{self.manifest_name}-{index:04d}"

    @abc.abstractmethod
    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        """Generate sample ``index`` of ``size`` from ``seed``."""

    def measure(self, index: int, size: str, seed: int) -> dict[str, Any]:
        """Measurements that describe sample ``index`` without being part of it (e.g. its
        optical flow): JSON-able, not hashed (their floats may differ in the last bits
        between machines).  ``simbench manifest`` records them for the default seed, and
        the runner copies them into each result row's ``meta``, calling this only for
        samples the manifest lacks (other seeds, changed options)."""
        return {}

    def summarize(self, measurements: list[dict[str, Any]]) -> dict[str, Any]:
        """Suite-level report of :meth:`measure` results (written to the manifest per size)."""
        return {}

"""The contract of a learned reconstruction method, and its inference path.

A :class:`LearnedMethod` names its architecture configurations (``configs``),
builds a torch network from one (``build``), optionally turns the normalised
frames into the network's input (``prepare``, e.g. adding optical flow), and
states the paper's training recipe (``recipe``: loss, learning-rate schedule,
gradient clipping, low-signal filter).  Everything else is shared: weights
loading and verification, frame order, normalisation and tiled, batched
inference on CPU or CUDA.  A network that does not map the whole input to one
image (e.g. a 3D stack reconstructed in chunks of planes) overrides
``training_examples`` (what it trains on) and ``infer`` (how it covers an input).

Weights: ``SIMBENCH_WEIGHTS_<METHOD>`` (method name upper-cased, ``-`` → ``_``)
names a weights file to use; otherwise the file the plugin ships,
``<weights_package>/<name>-<default_config>.safetensors``, whose model card
must match it by sha256.  A user's file is checked against its card when one
lies beside it.  ``SIMBENCH_DEVICE`` = ``auto`` (default) | ``cpu`` | ``cuda``.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simbench.errors import SimbenchError
from simbench.method import Method
from simbench.types import MODALITY_SIM2D, RawStack, Reconstruction

if TYPE_CHECKING:
    import torch

ENV_DEVICE = "SIMBENCH_DEVICE"


SCHEDULES = ("multistep", "plateau")


@dataclass(frozen=True)
class TrainingRecipe:
    """A model's loss, optimiser (Adam) and learning-rate schedule as its paper trained it (SCIENCE.md §3)."""

    #: "l1" or "mse"
    loss: str = "l1"
    learning_rate: float = 1e-4
    #: "multistep": ``milestones``/``gamma``; "plateau": ReduceLROnPlateau on the validation loss
    #: (× ``plateau_factor`` after ``plateau_patience`` validations without improvement, down to
    #: ``min_learning_rate``)
    schedule: str = "multistep"
    #: fractions of the run's steps after which the learning rate is multiplied by ``gamma``
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.5
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    min_learning_rate: float = 0.0
    #: every gradient element clipped to ±``clip_value`` before the step; None: no clipping
    clip_value: float | None = None
    #: training examples whose normalised target has a mean below this are discarded; None: keep all
    min_example_mean: float | None = None

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")

    def learning_rate_at(self, step: int, steps: int) -> float:
        """Learning rate of step ``step`` (0-based) of a ``steps``-step run (multistep decay)."""
        passed = sum(step >= fraction * steps for fraction in self.milestones)
        return self.learning_rate * self.gamma ** passed


def weights_env(method_name: str) -> str:
    """Environment variable naming the weights of ``method_name`` (``SIMBENCH_WEIGHTS_VSRSIM``)."""
    return "SIMBENCH_WEIGHTS_" + method_name.upper().replace("-", "_")


class LearnedMethod(Method):
    """A method whose reconstruction is a trained network (by default 2D SIM, 9 frames → ×2 image)."""

    modalities = (MODALITY_SIM2D,)
    accelerated = True
    #: architecture hyperparameters per configuration name ("small", "paper", …), passed to :meth:`build`
    configs: ClassVar[dict[str, dict[str, Any]]]
    #: the configuration of the shipped weights
    default_config: ClassVar[str] = "small"
    recipe: ClassVar[TrainingRecipe] = TrainingRecipe()
    #: package holding the shipped ``<name>-<default_config>.safetensors`` and its card; None: none shipped
    weights_package: ClassVar[str | None] = None
    #: the suite to suggest training on when no weights are found
    training_suite: ClassVar[str] = "static"
    #: inference tile and overlap in raw pixels (the tile is the training crop), and tiles per batch
    tile: ClassVar[int] = 128
    overlap: ClassVar[int] = 32
    batch: ClassVar[int] = 4
    #: another method whose network and weights this one runs (a variant of it, e.g. shift-averaged):
    #: its shipped file, its ``SIMBENCH_WEIGHTS_<METHOD>`` and its training; None: this method's own
    weights_of: ClassVar[str | None] = None
    #: when > 0, the reconstruction is the mean over the input moved by every multiple of half a raw
    #: pixel below this period ((2·period)² passes; :func:`simbench.learn.shifts.shift_average`)
    shift_average_px: ClassVar[int] = 0
    #: when True (2D SIM), the output is made consistent with the widefield image of its raw frames inside
    #: the detection passband, as far as the frames show a still scene (:mod:`simbench.learn.data_consistency`)
    data_consistency: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def build(cls, config: dict[str, Any]) -> torch.nn.Module:
        """The untrained network of ``config``: (B, C, h, w) → (B, 1, 2h, 2w)."""

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Network input (C, h, w) float32 from normalised frames (9, h, w) in the network's order."""
        return frames

    def __init__(self, weights: str | Path | None = None, device: str | None = None) -> None:
        env = os.environ.get(weights_env(self.trained_name()))
        self.weights: Path | None = Path(weights or env) if (weights or env) else None
        self.device_name = device or os.environ.get(ENV_DEVICE, "auto")
        self._loaded: tuple[torch.nn.Module, dict[str, Any]] | None = None

    @classmethod
    def artifacts(cls) -> dict[str, str]:
        """sha256 of the weights a new instance would load (``SIMBENCH_WEIGHTS_<METHOD>`` or the shipped
        file); none when there are none (the run then fails per sample with the reason)."""
        from simbench.learn.checkpoint import sha256_file

        env = os.environ.get(weights_env(cls.trained_name()))
        path = Path(env) if env else (cls._shipped_path() if cls.weights_package is not None else None)
        return {"weights_sha256": sha256_file(path)} if path is not None and path.is_file() else {}

    @classmethod
    def trained_name(cls) -> str:
        """The method whose weights this one loads (:attr:`weights_of`, else its own name)."""
        return cls.weights_of or cls.name

    @classmethod
    def _shipped_path(cls) -> Path:
        folder = Path(str(resources.files(cls.weights_package)))
        return folder / f"{cls.trained_name()}-{cls.default_config}.safetensors"

    def shipped_weights(self) -> Path:
        """Path of the weights this plugin ships (may not exist)."""
        if self.weights_package is None:
            raise SimbenchError(f"method {self.name!r} ships no weights; set {weights_env(self.trained_name())}=PATH")
        return self._shipped_path()

    def load(self) -> tuple[torch.nn.Module, dict[str, Any]]:
        """(network on its device, facts about the weights), loaded and verified once."""
        if self._loaded is None:
            from simbench.learn.checkpoint import load_into, read_card, read_weights, verify
            from simbench.learn.tiling import resolve_device

            path = self.weights or self.shipped_weights()
            if self.weights is None and not path.exists():
                raise SimbenchError(f"method {self.name!r}: no shipped weights at {path}; train some with "
                                    f"`simbench train --method {self.trained_name()} --suite {self.training_suite}` "
                                    f"and set {weights_env(self.trained_name())}=PATH")
            card = read_card(path)
            sha256 = verify(path, card, require_card=self.weights is None)
            state, meta = read_weights(path)
            if meta.get("method") != self.trained_name():
                raise SimbenchError(f"weights {path} are for method {meta.get('method')!r}, not "
                                    f"{self.trained_name()!r}")
            device = resolve_device(self.device_name)
            model = self.build(meta["config"])
            load_into(model, state, path)
            info = {"file": path.name, "sha256": sha256, "config": meta.get("config_name"),
                    "shipped": self.weights is None, "device": str(device)}
            self._loaded = (model.to(device).eval(), info)
        return self._loaded

    @classmethod
    def training_examples(cls, config: dict[str, Any], inputs: np.ndarray,
                          target: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Training pairs (inputs (C, h, w), target (T, 2h, 2w)) of one prepared sample for a network
        of ``config``; default: the whole sample, its 2D target as one channel."""
        from simbench.learn.data import whole_sample

        return whole_sample(inputs, target)

    def tiled(self, model: torch.nn.Module, inputs: np.ndarray, device: torch.device) -> np.ndarray:
        """The network's output channels (K, 2h, 2w) for an input (C, h, w) of any size, by overlapping
        tiles of ``tile`` pixels (:func:`simbench.learn.tiling.tiled_inference`)."""
        from simbench.learn.data import SCALE
        from simbench.learn.tiling import tiled_inference

        return tiled_inference(model, inputs, SCALE, self.tile, self.overlap, self.batch, device)

    def infer(self, model: torch.nn.Module, inputs: np.ndarray, device: torch.device) -> np.ndarray:
        """The reconstruction on the target grid from the whole network input (C, h, w); default: a
        one-channel network's tiled output, (2h, 2w)."""
        return self.tiled(model, inputs, device)[0]

    def network_input(self, raw: RawStack) -> np.ndarray:
        """The network's input (C, h, w) for a raw stack: ordered, normalised, prepared."""
        from simbench.learn.data import network_frames

        return self.prepare(network_frames(raw.frames, raw.frame_patterns, self.accepts_any_pattern_order))

    def reconstruct(self, raw: RawStack) -> Reconstruction:
        model, info = self.load()
        device = next(model.parameters()).device
        inputs = self.network_input(raw)
        facts: dict[str, Any] = {"weights": info}
        if self.shift_average_px:
            from simbench.learn.data import SCALE
            from simbench.learn.shifts import shift_average

            image = shift_average(lambda moved: self.infer(model, moved, device), inputs, self.shift_average_px,
                                  SCALE)
            facts["shift_average_px"] = self.shift_average_px
        else:
            image = self.infer(model, inputs, device)
        if self.data_consistency:
            from simbench.learn.data_consistency import make_consistent

            image, facts["data_consistency"] = make_consistent(image, raw)
        return Reconstruction(image, facts)

"""From samples to network inputs and targets, and the training pool.

Inputs and targets are percentile-normalised (0.1 → 0, 99.9 → 1) over the
whole image (or stack) before any crop or tile, so that training crops and
inference tiles see the same intensity scale.  Frames reach a network in the
order it expects: methods that need the fixed cycle get the frames sorted by
pattern (frame k shows pattern k, angle-major; exact for still scenes; in a 3D
stack, within each plane's group of frames); methods that
accept any order get them in acquisition order, and learn it during training
from still scenes presented with a random cyclic start (frame t shows pattern
``(t − start) mod 9``, as a rolling acquisition does; SCIENCE.md §1).

The training pool holds ``size`` samples of a suite's **train pool**
(``make_train_sample``; source scenes disjoint from every test sample) and a
few held-out ones (indices from :data:`VALIDATION_OFFSET`, never drawn for
training) for validation scores.  A *streaming* pool (``stream`` > 0) renews
itself: at stage ``s`` it holds train-pool indices ``s·stream … s·stream + size − 1``,
so each new stage replaces its ``stream`` oldest samples with fresh ones; the
stage of a step is fixed by the run's settings, so the data of every step is
known in advance (also after a resume).  The method splits each prepared sample
into training examples (the whole sample for a 2D network; e.g. chunks of
planes for a 3D stack), and examples whose target mean is below the recipe's
``min_example_mean`` are discarded.  Batches are random crops of random
examples drawn from a generator seeded by (seed, step): the same step gives
the same batch, also after a resume.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simbench.errors import SimbenchError
from simbench.suites.base import Suite
from simbench.types import Sample

if TYPE_CHECKING:
    from simbench.plugin.manager import Registry

#: percentiles mapped to 0 and 1 by :func:`normalise` (as the normalised metrics; SCIENCE.md §2)
PERCENTILES = (0.1, 99.9)
#: validation samples are train-pool indices from here on (never drawn for training)
VALIDATION_OFFSET = 1_000_000
#: the network output is this many times finer than the raw frames (SCIENCE.md §1)
SCALE = 2


def normalise(image: np.ndarray) -> np.ndarray:
    """``image`` (any shape) mapped so that its 0.1 / 99.9 percentiles become 0 / 1 (float32)."""
    low, high = np.percentile(image, PERCENTILES)
    return ((image - low) / max(float(high - low), 1e-12)).astype(np.float32)


def canonical_order(frames: np.ndarray, frame_patterns: tuple[int, ...]) -> np.ndarray:
    """Frames reordered so that, within each group of n frames (n patterns: one group in 2D, one per
    plane of a 3D stack), frame k of the group shows pattern k; each group must be a permutation."""
    n = max(frame_patterns, default=-1) + 1
    groups = np.reshape(frame_patterns, (-1, n)) if n and len(frame_patterns) % n == 0 else None
    if groups is None or len(frame_patterns) != len(frames) or \
            any(sorted(group) != list(range(n)) for group in groups.tolist()):
        raise SimbenchError(f"frame_patterns {frame_patterns} are not one frame per pattern (per plane)")
    return frames[(np.argsort(groups, axis=1) + n * np.arange(len(groups))[:, None]).ravel()]


@dataclass(frozen=True)
class PoolItem:
    """One sample ready for a network: ``inputs`` (C, h, w), ``target`` (2h, 2w) or (planes, 2h, 2w),
    both normalised."""

    sample_id: str
    inputs: np.ndarray
    target: np.ndarray
    #: mean of the normalised frames (per plane of a 3D stack: (planes, h, w)), for a widefield reference score
    widefield: np.ndarray


def network_frames(frames: np.ndarray, frame_patterns: tuple[int, ...], any_order: bool) -> np.ndarray:
    """Normalised frames in the order a network expects (see the module docstring)."""
    return normalise(frames if any_order else canonical_order(frames, frame_patterns))


def make_item(sample: Sample, prepare: Callable[[np.ndarray], np.ndarray], any_order: bool,
              roll: int | None) -> PoolItem:
    """A :class:`PoolItem` of a train-pool ``sample``; ``roll``: cyclic start to present a still scene with."""
    if sample.meta.get("pool") != "train":
        raise SimbenchError(f"sample {sample.id} is not from the train pool (pool {sample.meta.get('pool')!r}); "
                            "learned methods never train on test data")
    frames, patterns = sample.raw.frames, sample.raw.frame_patterns
    if roll is None:
        ordered = network_frames(frames, patterns, any_order)
    else:  # frame t shows pattern (t − roll) mod 9
        ordered = normalise(np.roll(canonical_order(frames, patterns), roll, axis=0))
    planes = ordered.reshape(-1, sample.raw.pattern.n_patterns, *ordered.shape[1:]).mean(axis=1)
    widefield = planes if sample.target.ndim == 3 else planes[0]
    return PoolItem(sample.id, prepare(ordered), normalise(sample.target), widefield)


def whole_sample(inputs: np.ndarray, target: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The one training example of a 2D sample: its inputs and its target as one channel."""
    return [(inputs, target[None])]


class SuiteMix:
    """The train pools of several suites taken in turn, as one suite to train on: train sample ``i`` is
    sample ``i // n`` of suite ``i mod n``'s train pool (e.g. ``simbench train --suite axial``: chromatin
    and sphere clouds alternately).  Validation indices (from :data:`VALIDATION_OFFSET`) map to each
    suite's own held-out indices, so they stay disjoint from the training ones."""

    #: a mix has no test samples of its own
    sizes: ClassVar[dict[str, int]] = {}

    def __init__(self, name: str, suites: list[Suite]) -> None:
        trainable = [s for s in suites if hasattr(s, "make_train_sample")]
        if not trainable:
            raise SimbenchError(f"no suite of {name!r} has a train pool (make_train_sample); it cannot train methods")
        self.name = name
        self.suites = trainable
        #: the members' versions in order (e.g. "1+1"); ``members`` names them
        self.version = "+".join(s.version for s in trainable)
        self.members = [f"{s.name}@{s.version}" for s in trainable]
        self.default_seed = trainable[0].default_seed
        self.requires_any_pattern_order = any(s.requires_any_pattern_order for s in trainable)

    def make_train_sample(self, index: int, seed: int) -> Sample:
        """Sample ``index // n`` of the train pool of suite ``index mod n``."""
        suite = self.suites[index % len(self.suites)]
        return suite.make_train_sample(index // len(self.suites), seed)


def cyclic_start(seed: int, index: int) -> int:
    """The cyclic start (0–8) that still train-pool sample ``index`` is shown with to order-agnostic methods."""
    return int(np.random.default_rng(np.random.SeedSequence([seed, 7, index])).integers(9))


def training_suite(registry: Registry, text: str, options: dict[str, str] | None = None) -> Suite | SuiteMix:
    """What ``simbench train --suite TEXT`` trains on: one suite, or a :class:`SuiteMix` of a group's members
    (those with ``trains_with_group``) and of suites named explicitly, for names joined by commas
    (``motion`` → static, medium, fast; ``motion,motion/extreme`` adds extreme).  ``options``
    (``--suite-opt`` texts, NAME → VALUE) configure every member that has the option, e.g.
    ``pattern_start=0`` for a method that needs the fixed pattern order; each must belong to one."""
    names = text.split(",")
    single = len(names) == 1 and text in registry.suites
    members = [registry.suites[text]] if single else list({
        s.name: s for name in names for s in registry.suite_group(name)
        if name in registry.suites or s.trains_with_group}.values())
    options = options or {}
    for key in options:
        if not any(key in s.option_values for s in members):
            raise SimbenchError(f"no suite of {text!r} has the option {key!r}")
    if options:
        members = [s.configured({k: v for k, v in options.items() if k in s.option_values}) for s in members]
    return members[0] if single else SuiteMix(text, members)


class TrainPool:
    """Train-pool samples of ``suite`` prepared for a method (``items``; a window that moves with
    :meth:`refresh` when ``stream`` > 0), their training examples (``examples``: pairs (C, h, w),
    (T, 2h, 2w) of one item; those with a target mean below ``min_mean`` dropped), held-out
    ``validation`` items, and seeded random crops of the examples."""

    def __init__(self, suite: Suite, prepare: Callable[[np.ndarray], np.ndarray], any_order: bool, size: int,
                 validation: int, seed: int, progress: Callable[[str], None] = lambda text: None,
                 examples: Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]] = whole_sample,
                 min_mean: float | None = None, stream: int = 0, stage: int = 0) -> None:
        if not hasattr(suite, "make_train_sample"):
            raise SimbenchError(f"suite {suite.name!r} has no train pool (make_train_sample); it cannot train methods")
        if any_order is False and suite.requires_any_pattern_order:
            raise SimbenchError(f"suite {suite.name!r} presents patterns in varying order, which this method does "
                                "not accept; train it on a still suite (e.g. static)")
        if size < 1:
            raise SimbenchError(f"the training pool needs at least 1 sample; got {size}")
        if stream < 0:
            raise SimbenchError(f"--stream must be >= 0; got {stream}")
        self.seed, self.size, self.stream, self.min_mean = seed, size, stream, min_mean
        self._examples_of = examples
        # still scenes are shown to order-agnostic methods with a random cyclic start, one per sample
        shuffle = any_order and not suite.requires_any_pattern_order

        def item(index: int) -> PoolItem:
            progress(f"preparing train-pool sample {index}")
            return make_item(suite.make_train_sample(index, seed), prepare, any_order,
                             cyclic_start(seed, index) if shuffle else None)

        self._item = item
        self.validation = [item(VALIDATION_OFFSET + k) for k in range(validation)]
        #: held items by train-pool index
        self._held: dict[int, PoolItem] = {}
        #: examples dropped for a target mean below ``min_mean``, over every sample held so far
        self.discarded = 0
        self.stage = -1
        self.refresh(stage)

    def indices(self, stage: int) -> range:
        """Train-pool indices held at ``stage``."""
        return range(stage * self.stream, stage * self.stream + self.size)

    def refresh(self, stage: int) -> None:
        """Hold the samples of ``stage`` (keeping those it shares with the current one) and their examples."""
        if stage == self.stage:
            return
        wanted = self.indices(stage)
        if wanted[-1] >= VALIDATION_OFFSET:
            raise SimbenchError(f"the stream reached train-pool index {wanted[-1]}, where the validation samples "
                                "begin; use fewer steps or a smaller --stream")
        held = {index: self._held.get(index) or self._item(index) for index in wanted}
        candidates = [self._examples_of(it.inputs, it.target) for it in held.values()]
        kept = [[(x, y) for x, y in pairs if self.min_mean is None or float(y.mean()) >= self.min_mean]
                for pairs in candidates]
        self.discarded += sum(len(c) - len(k) for index, c, k in zip(held, candidates, kept)
                              if index not in self._held)
        examples = [pair for pairs in kept for pair in pairs]
        if not examples:
            raise SimbenchError(f"all {sum(map(len, candidates))} training examples have a target mean below "
                                f"{self.min_mean}: nothing to train on")
        self._held, self.stage = held, stage
        #: the held items, in index order
        self.items = list(held.values())
        #: (inputs, target) training pairs (views into the items)
        self.examples = examples
        digest = hashlib.sha256()
        for it in self.items + self.validation:
            digest.update(it.inputs.tobytes())
            digest.update(it.target.tobytes())
        #: sha256 of every prepared input and target held now, in order: identifies the training data
        self.sha256 = digest.hexdigest()

    def batch(self, step: int, size: int, crop: int, transpose: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Batch of step ``step``: inputs (B, C, crop, crop) and targets (B, T, 2·crop, 2·crop).

        ``transpose``: each crop pair has x and y swapped with probability ½ (a mirror of the
        scene and its pattern; raw pixel j and target pixel 2j stay on each other, so simbench's
        grid convention holds), teaching the network the lateral isotropy of the optics."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 8, step]))
        inputs, targets = [], []
        for _ in range(size):
            x, y = self.examples[int(rng.integers(len(self.examples)))]
            height, width = x.shape[1:]
            if crop > min(height, width):
                raise SimbenchError(f"crop {crop} is larger than the raw frames ({height}×{width})")
            r, c = int(rng.integers(height - crop + 1)), int(rng.integers(width - crop + 1))
            pair = x[:, r:r + crop, c:c + crop], y[:, SCALE * r:SCALE * (r + crop), SCALE * c:SCALE * (c + crop)]
            if transpose and rng.integers(2):
                pair = tuple(a.swapaxes(-1, -2) for a in pair)
            inputs.append(pair[0])
            targets.append(pair[1])
        return np.stack(inputs), np.stack(targets)

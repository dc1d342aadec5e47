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
few held-out ones (indices from :data:`VALIDATION_OFFSET`) for validation
scores.  The method splits each prepared sample into training examples (the
whole sample for a 2D network; e.g. chunks of planes for a 3D stack), and
examples whose target mean is below the recipe's ``min_example_mean`` are
discarded.  Batches are random crops of random examples drawn from a generator
seeded by (seed, step): the same step gives the same batch, also after a resume.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simbench.errors import SimbenchError
from simbench.suites.base import Suite
from simbench.types import Sample

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


class TrainPool:
    """Train-pool samples of ``suite`` prepared for a method, their training examples (``examples``:
    pairs (C, h, w), (T, 2h, 2w) of one item; those with a target mean below ``min_mean`` dropped),
    and seeded random crops of them."""

    def __init__(self, suite: Suite, prepare: Callable[[np.ndarray], np.ndarray], any_order: bool, size: int,
                 validation: int, seed: int, progress: Callable[[str], None] = lambda text: None,
                 examples: Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]] = whole_sample,
                 min_mean: float | None = None) -> None:
        if not hasattr(suite, "make_train_sample"):
            raise SimbenchError(f"suite {suite.name!r} has no train pool (make_train_sample); it cannot train methods")
        if any_order is False and suite.requires_any_pattern_order:
            raise SimbenchError(f"suite {suite.name!r} presents patterns in varying order, which this method does "
                                "not accept; train it on a still suite (e.g. static)")
        if size < 1:
            raise SimbenchError(f"the training pool needs at least 1 sample; got {size}")
        self.seed = seed
        # still scenes are shown to order-agnostic methods with a random cyclic start, one per sample
        shuffle = any_order and not suite.requires_any_pattern_order
        starts = np.random.default_rng(np.random.SeedSequence([seed, 7])).integers(9, size=size + validation)

        def item(k: int, index: int) -> PoolItem:
            progress(f"preparing train-pool sample {index}")
            return make_item(suite.make_train_sample(index, seed), prepare, any_order,
                             int(starts[k]) if shuffle else None)

        self.items = [item(k, k) for k in range(size)]
        self.validation = [item(size + k, VALIDATION_OFFSET + k) for k in range(validation)]
        candidates = [pair for it in self.items for pair in examples(it.inputs, it.target)]
        #: (inputs, target) training pairs (views into the items)
        self.examples = [(x, y) for x, y in candidates if min_mean is None or float(y.mean()) >= min_mean]
        #: examples dropped for a target mean below ``min_mean``
        self.discarded = len(candidates) - len(self.examples)
        if not self.examples:
            raise SimbenchError(f"all {len(candidates)} training examples have a target mean below {min_mean}: "
                                "nothing to train on")
        digest = hashlib.sha256()
        for it in self.items + self.validation:
            digest.update(it.inputs.tobytes())
            digest.update(it.target.tobytes())
        #: sha256 of every prepared input and target, in order: identifies the training data
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

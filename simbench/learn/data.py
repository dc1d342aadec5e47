"""From samples to network inputs and targets, and the training pool.

Inputs and targets are percentile-normalised (0.1 → 0, 99.9 → 1) over the
whole image before any crop or tile, so that training crops and inference
tiles see the same intensity scale.  Frames reach a network in the order it
expects: methods that need the fixed cycle get the frames sorted by pattern
(frame k shows pattern k, angle-major; exact for still scenes); methods that
accept any order get them in acquisition order, and learn it during training
from still scenes presented with a random cyclic start (frame t shows pattern
``(t − start) mod 9``, as a rolling acquisition does; SCIENCE.md §1).

The training pool holds ``size`` samples of a suite's **train pool**
(``make_train_sample``; source scenes disjoint from every test sample) and a
few held-out ones (indices from :data:`VALIDATION_OFFSET`) for validation
scores.  Batches are random crops drawn from a generator seeded by (seed,
step): the same step gives the same batch, also after a resume.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

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
    """Frames reordered so that frame k shows pattern k (``frame_patterns`` must be a permutation)."""
    if sorted(frame_patterns) != list(range(len(frames))):
        raise SimbenchError(f"frame_patterns {frame_patterns} are not one frame per pattern")
    return frames[np.argsort(frame_patterns)]


@dataclass(frozen=True)
class PoolItem:
    """One sample ready for a network: ``inputs`` (C, h, w), ``target`` (2h, 2w), both normalised."""

    sample_id: str
    inputs: np.ndarray
    target: np.ndarray
    #: mean of the normalised frames, for a widefield reference score
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
    return PoolItem(sample.id, prepare(ordered), normalise(sample.target), ordered.mean(axis=0))


class TrainPool:
    """Train-pool samples of ``suite`` prepared for a method, and seeded random crops of them."""

    def __init__(self, suite: Suite, prepare: Callable[[np.ndarray], np.ndarray], any_order: bool, size: int,
                 validation: int, seed: int, progress: Callable[[str], None] = lambda text: None) -> None:
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
        digest = hashlib.sha256()
        for it in self.items + self.validation:
            digest.update(it.inputs.tobytes())
            digest.update(it.target.tobytes())
        #: sha256 of every prepared input and target, in order: identifies the training data
        self.sha256 = digest.hexdigest()

    def batch(self, step: int, size: int, crop: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch of step ``step``: inputs (B, C, crop, crop) and targets (B, 1, 2·crop, 2·crop)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 8, step]))
        inputs, targets = [], []
        for _ in range(size):
            item = self.items[int(rng.integers(len(self.items)))]
            height, width = item.inputs.shape[1:]
            if crop > min(height, width):
                raise SimbenchError(f"crop {crop} is larger than the raw frames ({height}×{width})")
            r, c = int(rng.integers(height - crop + 1)), int(rng.integers(width - crop + 1))
            inputs.append(item.inputs[:, r:r + crop, c:c + crop])
            targets.append(item.target[None, SCALE * r:SCALE * (r + crop), SCALE * c:SCALE * (c + crop)])
        return np.stack(inputs), np.stack(targets)

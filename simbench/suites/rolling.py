"""Suite ``rolling``: rolling SIM on a moving sample (SCIENCE.md §1).

A long sequence is acquired one pattern per frame in a fixed cycle (frame k
shows pattern k mod 9).  Rolling SIM reconstructs at every frame from the 9
frames ending there — 9× the temporal resolution of block-wise SIM — so each
window starts at a different pattern: only methods that accept any pattern
order can take part (the others are skipped with a reason).  Sample j of a
sequence is the window ending at frame 8 + j, scored against the scene at the
window's centre frame.  The motion is the calibrated ``medium`` regime; scenes
come from the static suite's sources (test pool).
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from simbench.suites.base import Suite
from simbench.suites.sim2d import N_FRAMES, Sim2DScoring, sim_sample
from simbench.suites.static import StaticSuite
from simbench.types import MODALITY_SIM2D, Sample

#: windows (samples) per sequence; the sequence has N_FRAMES + WINDOWS − 1 frames
WINDOWS = 16
REGIME = "medium"
_SUITE_KEY = 41


@lru_cache(maxsize=2)
def _sequence(seed: int, sequence: int, version: str) -> Sample:
    """One long acquisition (frame k shows pattern k mod 9) as a :class:`Sample` whose raw stacks
    hold every frame and whose ``target`` holds every ground-truth frame; cached because its
    windows share it (a pure function of its arguments)."""
    from simbench.phantoms.motion import REGIMES, canvas_shape, moving_sequence, source_canvas
    from simbench.physics import default_optics

    shape, down = StaticSuite.target_shape, StaticSuite.downsample
    target_px = default_optics().pixel_size_nm / down
    length = N_FRAMES + WINDOWS - 1
    params = REGIMES[REGIME]
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, sequence]))
    scene, meta = source_canvas(sequence, "test", seed, rng, shape, canvas_shape(shape, params, length), target_px)
    frames = moving_sequence(scene, length, params, rng, shape, target_px)
    repeat_rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, sequence, 1]))
    meta.update(pool="test", regime=REGIME, sequence=sequence)
    return sim_sample(f"rolling-sequence-{sequence}", frames, frames, tuple(k % N_FRAMES for k in range(length)),
                      rng, (rng, repeat_rng), down, meta)


@lru_cache(maxsize=1)
def _sequence_flow(seed: int, sequence: int, version: str) -> list:
    """TV-L1 flow of every consecutive pair of a sequence's ground-truth frames (shared by its windows)."""
    from simbench.phantoms.flow import measure_pairs

    return measure_pairs(_sequence(seed, sequence, version).target)


class RollingSuite(Sim2DScoring, Suite):
    name = "rolling"
    version = "1"
    modality = MODALITY_SIM2D
    description = ("Rolling SIM: one pattern per frame in a fixed cycle, a reconstruction at every frame from "
                   "the 9 frames ending there (medium motion); methods must accept any pattern order.")
    sizes: ClassVar[dict[str, int]] = {"quick": 4, "full": 4 * WINDOWS}
    requires_any_pattern_order = True

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        self.n_samples(size)
        sequence, window = divmod(index, WINDOWS)
        seq = _sequence(seed, sequence, self.version)
        end = N_FRAMES - 1 + window
        span = slice(end - N_FRAMES + 1, end + 1)

        def cut(raw):
            return dataclasses.replace(raw, frames=raw.frames[span].copy(), frame_patterns=raw.frame_patterns[span])

        return dataclasses.replace(seq, id=self.sample_id(index), raw=cut(seq.raw), raw_repeat=cut(seq.raw_repeat),
                                   target=seq.target[end - N_FRAMES // 2].copy(),
                                   meta={**seq.meta, "window_end_frame": end})

    def measure(self, index: int, size: str, seed: int) -> dict[str, Any]:
        """TV-L1 flow statistics of the window's 8 consecutive ground-truth pairs (pixels of the 2× grid)."""
        from simbench.phantoms.flow import summarize_pairs

        sequence, window = divmod(index, WINDOWS)
        pairs = _sequence_flow(seed, sequence, self.version)[window:window + N_FRAMES - 1]
        return {"flow": summarize_pairs(pairs)}

    def summarize(self, measurements: list[dict[str, Any]]) -> dict[str, Any]:
        from simbench.phantoms.flow import regime_statistics

        return {"flow": regime_statistics([m["flow"] for m in measurements])}

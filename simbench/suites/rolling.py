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
from typing import ClassVar

import numpy as np

from simbench.suites.base import Suite
from simbench.suites.static import StaticSuite
from simbench.types import MODALITY_SIM2D, RawStack, Sample

N_FRAMES = 9
#: windows (samples) per sequence; the sequence has N_FRAMES + WINDOWS − 1 frames
WINDOWS = 16
REGIME = "medium"
_SUITE_KEY = 41


@lru_cache(maxsize=2)
def _sequence(seed: int, sequence: int, version: str) -> dict:
    """Scene frames, noisy raw frames (two realisations), true pattern and metadata of one
    long sequence; cached because its windows share it (a pure function of its arguments)."""
    from simbench.phantoms.motion import REGIMES, canvas_shape, moving_sequence, source_canvas
    from simbench.physics import NoiseModel, default_optics, jitter_pattern, nominal_pattern, simulate_sim2d

    optics = default_optics()
    shape, down = StaticSuite.target_shape, StaticSuite.downsample
    target_px = optics.pixel_size_nm / down
    length = N_FRAMES + WINDOWS - 1
    params = REGIMES[REGIME]
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, sequence]))
    scene, meta = source_canvas(sequence, "test", seed, rng, shape, canvas_shape(shape, params, length), target_px)
    frames = moving_sequence(scene, length, params, rng, shape, target_px)
    true = jitter_pattern(nominal_pattern(optics), rng)
    clean = simulate_sim2d(frames, target_px, optics, true, [k % N_FRAMES for k in range(length)], down)
    repeat_rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, sequence, 1]))
    noisy, noisy_repeat, noise = NoiseModel().apply_twice(clean, rng, repeat_rng)
    meta.update(pool="test", noise=noise, regime=REGIME, sequence=sequence)
    return {"frames": frames, "raw": noisy, "raw_repeat": noisy_repeat, "pattern": true, "meta": meta,
            "optics": optics, "target_px": target_px}


class RollingSuite(Suite):
    name = "rolling"
    version = "1"
    modality = MODALITY_SIM2D
    description = ("Rolling SIM: one pattern per frame in a fixed cycle, a reconstruction at every frame from "
                   "the 9 frames ending there (medium motion); methods must accept any pattern order.")
    sizes: ClassVar[dict[str, int]] = {"quick": 4, "full": 4 * WINDOWS}
    metrics = StaticSuite.metrics
    requires_any_pattern_order = True

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        from simbench.phantoms.flow import flow_statistics
        from simbench.physics import nominal_pattern

        self.n_samples(size)
        sequence, window = divmod(index, WINDOWS)
        seq = _sequence(seed, sequence, self.version)
        end = N_FRAMES - 1 + window
        span = slice(end - N_FRAMES + 1, end + 1)
        order = tuple(k % N_FRAMES for k in range(span.start, span.stop))
        flow = flow_statistics(seq["frames"][span])
        flow.pop("seconds")  # wall time: not part of the (deterministic) sample
        meta = {**seq["meta"], "window_end_frame": end, "flow": flow}
        raw = RawStack(frames=seq["raw"][span].copy(), optics=seq["optics"], pattern=nominal_pattern(seq["optics"]),
                       frame_patterns=order)
        return Sample(id=self.sample_id(index), raw=raw, target=seq["frames"][end - N_FRAMES // 2].copy(),
                      target_pixel_size_nm=seq["target_px"], truth={"pattern": seq["pattern"].to_dict()},
                      meta=meta, raw_repeat=dataclasses.replace(raw, frames=seq["raw_repeat"][span].copy()))

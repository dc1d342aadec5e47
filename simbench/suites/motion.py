"""Suite group ``motion``: the VSR-SIM paper's motion regimes (SCIENCE.md §1–2).

``motion/static`` is the ``static`` suite itself (same samples, same bytes).
``motion/medium``, ``motion/fast`` and ``motion/extreme`` move the same kind of
scenes (static-suite sources, test pool) with the calibrated motion of
:data:`simbench.phantoms.motion.REGIMES`.  Each raw frame t is a SIM image of the
scene at time t lit by pattern ``(t − start) mod 9`` (a fixed cycle with a random
start, recorded in ``RawStack.frame_patterns``); the ground truth is the scene at
the window's centre frame, on the 2× grid.  Every sample's optical flow between
consecutive frames is measured by TV-L1 (scikit-image) and stored in its
metadata (pixels of the ground-truth grid).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from simbench.suites.base import Suite
from simbench.suites.static import StaticSuite
from simbench.types import MODALITY_SIM2D, RawStack, Sample

#: raw frames per reconstruction: 3 angles × 3 phases (SCIENCE.md §1)
N_FRAMES = 9
_SUITE_KEY = {"medium": 21, "fast": 22, "extreme": 23}


class MotionStatic(StaticSuite):
    """``motion/static``: the ``static`` suite's samples under the motion group."""

    name = "motion/static"
    manifest_name = "static"
    description = "The static suite (no motion), as the motion group's reference regime."


class _MovingSuite(Suite):
    """A moving regime; subclasses set ``regime`` and ``sizes``."""

    regime: ClassVar[str]
    version = "1"
    modality = MODALITY_SIM2D
    requires_any_pattern_order = True
    metrics = StaticSuite.metrics
    target_shape: ClassVar[tuple[int, int]] = StaticSuite.target_shape
    downsample: ClassVar[int] = StaticSuite.downsample

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        from simbench.phantoms.flow import flow_statistics
        from simbench.phantoms.motion import REGIMES, canvas_shape, moving_sequence, source_canvas
        from simbench.physics import NoiseModel, default_optics, jitter_pattern, nominal_pattern, simulate_sim2d

        self.n_samples(size)
        optics = default_optics()
        target_px = optics.pixel_size_nm / self.downsample
        params = REGIMES[self.regime]
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY[self.regime], index]))
        canvas = canvas_shape(self.target_shape, params, N_FRAMES)
        scene, meta = source_canvas(index, "test", seed, rng, self.target_shape, canvas, target_px)
        frames = moving_sequence(scene, N_FRAMES, params, rng, self.target_shape, target_px)
        start = int(rng.integers(N_FRAMES))
        order = tuple((t - start) % N_FRAMES for t in range(N_FRAMES))
        nominal = nominal_pattern(optics)
        true = jitter_pattern(nominal, rng)
        clean = simulate_sim2d(frames, target_px, optics, true, order, self.downsample)
        repeat_rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY[self.regime], index, 1]))
        noisy, noisy_repeat, noise = NoiseModel().apply_twice(clean, rng, repeat_rng)
        flow = flow_statistics(frames)
        flow.pop("seconds")  # wall time: not part of the (deterministic) sample
        meta.update(pool="test", noise=noise, regime=self.regime, pattern_start=start, flow=flow)
        raw = RawStack(frames=noisy, optics=optics, pattern=nominal, frame_patterns=order)
        return Sample(id=self.sample_id(index), raw=raw, target=frames[N_FRAMES // 2],
                      target_pixel_size_nm=target_px, truth={"pattern": true.to_dict()}, meta=meta,
                      raw_repeat=dataclasses.replace(raw, frames=noisy_repeat))


class MotionMedium(_MovingSuite):
    regime = "medium"
    name = "motion/medium"
    description = "Slow drift and deformation, fast local flows and vesicles; flow median/max ≈ 1.5/10.2 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 2, "full": 50}


class MotionFast(_MovingSuite):
    regime = "fast"
    name = "motion/fast"
    description = "Fast drift, rotation and deformation; flow median/max ≈ 10.4/27.3 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 2, "full": 10}


class MotionExtreme(_MovingSuite):
    regime = "extreme"
    name = "motion/extreme"
    description = "Like fast with every 2nd frame used; flow median/max ≈ 18.1/46.2 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 2, "full": 10}


MOTION_SUITES: tuple[type[Suite], ...] = (MotionStatic, MotionMedium, MotionFast, MotionExtreme)

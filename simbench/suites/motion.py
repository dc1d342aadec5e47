"""Suite group ``motion``: the VSR-SIM paper's motion regimes (SCIENCE.md §1–2).

``motion/static`` is the ``static`` suite itself (same samples, same bytes).
``motion/medium``, ``motion/fast`` and ``motion/extreme`` move the same kind of
scenes (static-suite sources, test pool) with the calibrated motion of
:data:`simbench.phantoms.motion.REGIMES`.  Each raw frame t is a SIM image of the
scene at time t lit by pattern ``(t − start) mod 9`` (a fixed cycle with a random
start, recorded in ``RawStack.frame_patterns``; option ``pattern_start=0`` fixes
the start for methods that need the fixed order, on otherwise identical
samples); the ground truth is the scene at
the window's centre frame, on the 2× grid.  Every sample's optical flow between
consecutive frames is measured by TV-L1 (scikit-image) once, by ``simbench
manifest``: the manifest under ``datasets/`` holds it per sample with the regime
statistics next to Table 1, and each result row's ``meta["flow"]`` carries it
(pixels of the ground-truth grid).  ``video_dir`` builds a regime from a user's
video instead (flow measured during the run, as no manifest covers it).
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from simbench.suites.base import Suite, SuiteOption
from simbench.suites.sim2d import N_FRAMES, PATTERN_START, CyclicStart, Sim2DScoring, cycle_order, sim_sample
from simbench.suites.static import StaticSuite
from simbench.types import MODALITY_SIM2D, Sample

_SUITE_KEY = {"medium": 21, "fast": 22, "extreme": 23}
#: extra key of the train pool's random streams (the test pool's streams are unchanged)
_POOL_KEY: dict[str, tuple[int, ...]] = {"test": (), "train": (1,)}


class MotionStatic(StaticSuite):
    """``motion/static``: the ``static`` suite's samples under the motion group."""

    name = "motion/static"
    manifest_name = "static"
    description = "The static suite (no motion), as the motion group's reference regime."


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be a whole number >= 1")
    return value


class _MovingSuite(CyclicStart, Sim2DScoring, Suite):
    """A moving regime; subclasses set ``regime`` and ``sizes``."""

    regime: ClassVar[str]
    version = "1"
    modality = MODALITY_SIM2D
    target_shape: ClassVar[tuple[int, int]] = StaticSuite.target_shape
    downsample: ClassVar[int] = StaticSuite.downsample
    options = (
        SuiteOption("video_dir", "your own video instead of the generator: a folder of frame images (name "
                    "order) or a multi-page TIFF; its pixels are ground-truth pixels (31.3 nm), frames "
                    "at least 512×512", ""),
        SuiteOption("frame_step", "with video_dir: use every n-th video frame (default: 2 for extreme, "
                    "else 1)", 0, _positive_int),
        PATTERN_START,
    )

    def _scene_frames(self, index: int, size: str, seed: int,
                      pool: str = "test") -> tuple[np.ndarray, np.random.Generator, dict]:
        """The 9 ground-truth frames of sample ``index`` of ``pool``, the sample's random stream
        (advanced past the scene) and the scene's metadata."""
        from simbench.phantoms.motion import REGIMES, canvas_shape, moving_sequence, source_canvas
        from simbench.physics import default_optics

        target_px = default_optics().pixel_size_nm / self.downsample
        params = REGIMES[self.regime]
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY[self.regime], *_POOL_KEY[pool], index]))
        video = self.option_values["video_dir"]
        if video and pool == "test":
            from simbench.phantoms.video import video_window

            step = self.option_values["frame_step"] or params.frame_step
            frames, meta = video_window(video, index, self.n_samples(size), N_FRAMES, step, self.target_shape, rng)
            return frames, rng, meta
        canvas = canvas_shape(self.target_shape, params, N_FRAMES)
        scene, meta = source_canvas(index, pool, seed, rng, self.target_shape, canvas, target_px)
        return moving_sequence(scene, N_FRAMES, params, rng, self.target_shape, target_px), rng, meta

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        self.n_samples(size)
        return self._sample(index, size, seed, "test", self.sample_id(index))

    def make_train_sample(self, index: int, seed: int) -> Sample:
        """Sample ``index`` of the train pool (train-pool sources and scene seeds, own random streams)."""
        return self._sample(index, "full", seed, "train", f"{self.manifest_name}-train-{index:06d}")

    def _sample(self, index: int, size: str, seed: int, pool: str, sample_id: str) -> Sample:
        frames, rng, meta = self._scene_frames(index, size, seed, pool)
        start = self.pattern_start(int(rng.integers(N_FRAMES)))
        repeat_rng = np.random.default_rng(
            np.random.SeedSequence([seed, _SUITE_KEY[self.regime], *_POOL_KEY[pool], index, 1]))
        meta.update(pool=pool, regime=self.regime, pattern_start=start)
        return sim_sample(sample_id, frames, frames[N_FRAMES // 2], cycle_order(start), rng,
                          (rng, repeat_rng), self.downsample, meta)

    def measure(self, index: int, size: str, seed: int) -> dict[str, Any]:
        """TV-L1 flow statistics between consecutive ground-truth frames (pixels of the 2× grid)."""
        from simbench.phantoms.flow import flow_statistics

        flow = flow_statistics(self._scene_frames(index, size, seed)[0])
        flow.pop("seconds")  # wall time, not a property of the sample
        return {"flow": flow}

    def summarize(self, measurements: list[dict[str, Any]]) -> dict[str, Any]:
        """Regime flow statistics (median over samples of the sample medians / maxima) next to Table 1."""
        from simbench.phantoms.flow import regime_statistics
        from simbench.phantoms.motion import TABLE1_FLOW_PX

        median, maximum = TABLE1_FLOW_PX[self.regime]
        return {"flow": regime_statistics([m["flow"] for m in measurements]),
                "table1_flow_px": {"median": median, "max": maximum}}


class MotionMedium(_MovingSuite):
    regime = "medium"
    name = "motion/medium"
    description = "Slow drift and deformation, fast local flows and vesicles; flow median/max ≈ 1.5/10.2 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 5, "full": 50}


class MotionFast(_MovingSuite):
    regime = "fast"
    name = "motion/fast"
    description = "Fast drift, rotation and deformation; flow median/max ≈ 10.4/27.3 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 5, "full": 10}


class MotionExtreme(_MovingSuite):
    regime = "extreme"
    name = "motion/extreme"
    description = "Like fast with every 2nd frame used; flow median/max ≈ 18.1/46.2 px."
    sizes: ClassVar[dict[str, int]] = {"quick": 5, "full": 10}
    #: the motion group trains on static, medium and fast; extreme tests how far that reaches
    trains_with_group = False


MOTION_SUITES: tuple[type[Suite], ...] = (MotionStatic, MotionMedium, MotionFast, MotionExtreme)

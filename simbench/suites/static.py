"""Suite ``static``: still scenes, 2D SIM, no motion.

Ground truth is a native-resolution scene on the target grid (2x finer than
the raw frames): seeded crops/flips/rotations of scikit-image's greyscale
images alternating with procedurally rendered cell-like scenes.  Raw frames
are simulated with jittered (true) stripe parameters; the raw stack carries
only the nominal ones.  Test samples come from the test pool; learned methods
train on :meth:`StaticSuite.make_train_sample` (the disjoint train pool).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from simbench.suites.base import Suite
from simbench.suites.sim2d import N_FRAMES, Sim2DScoring, sim_sample
from simbench.types import MODALITY_SIM2D, Sample

#: keys that separate this suite's random streams from every other suite's
_SUITE_KEY = 1
_POOL_KEY = {"test": 0, "train": 1}


class StaticSuite(Sim2DScoring, Suite):
    name = "static"
    #: 2: every sample carries a second, independent noise realisation (raw_repeat)
    version = "2"
    modality = MODALITY_SIM2D
    description = ("Still scenes (scikit-image photos and rendered cells), 9-frame 2D SIM with jittered "
                   "patterns and 4–12 % Gaussian noise, two noise realisations; raw 256² → target 512² "
                   "(VSR-SIM 'static').")
    sizes: ClassVar[dict[str, int]] = {"quick": 6, "full": 200}
    #: target (ground-truth) shape in pixels; raw frames are half of it
    target_shape: ClassVar[tuple[int, int]] = (512, 512)
    downsample: ClassVar[int] = 2

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        self.n_samples(size)
        return self._generate(index, seed, "test", self.sample_id(index))

    def make_train_sample(self, index: int, seed: int) -> Sample:
        """Sample ``index`` of the train pool (disjoint source images and scene seeds)."""
        return self._generate(index, seed, "train", f"{self.name}-train-{index:06d}")

    def _generate(self, index: int, seed: int, pool: str, sample_id: str) -> Sample:
        from simbench.phantoms import load_source, pool_sources, random_crop, render_cell_scene, scene_rng
        from simbench.physics import default_optics

        target_px = default_optics().pixel_size_nm / self.downsample
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, _POOL_KEY[pool], index]))
        if index % 2 == 0:
            sources = pool_sources(pool, self.target_shape)
            source = sources[int(rng.integers(len(sources)))]
            target = random_crop(load_source(source), self.target_shape, rng)
            meta = {"kind": "image", "source": source}
        else:
            target = render_cell_scene(self.target_shape, scene_rng(seed, pool, index), pixel_size_nm=target_px)
            meta = {"kind": "cells", "source": "render_cell_scene"}
        # the same acquisition twice: same noise level, independent noise (for FRC)
        repeat_rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, _POOL_KEY[pool], index, 1]))
        return sim_sample(sample_id, target, target, tuple(range(N_FRAMES)), rng, (rng, repeat_rng),
                          self.downsample, {**meta, "pool": pool})

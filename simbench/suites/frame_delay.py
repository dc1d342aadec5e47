"""Suite ``frame-delay``: SIM of moving samples at inter-frame delays 0–25 ms (SCIENCE.md §2).

Each scene moves at a constant velocity (suite option ``velocity_um_s``) in a
random direction; frame t of the 9-frame window is taken at t·delay, so the
sample drifts ``velocity · delay`` between frames.  Scenes alternate between
sparse moving beads (100 nm) and a natural scene (static-suite sources, test
pool).  For a given scene index everything but the delay is shared (scene,
direction, pattern jitter, noise), so each scene is a clean sweep.  The sample's
``meta["sweep"]`` holds its delay; leaderboards show every metric vs delay.
The cycle of 9 patterns starts at a pattern drawn per scene, as in rolling
SIM; option ``pattern_start=0`` fixes the order for methods that need it
(mlsim, rbpn) on otherwise identical samples.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from simbench.suites.base import Suite, SuiteOption
from simbench.suites.sim2d import N_FRAMES, PATTERN_START, CyclicStart, Sim2DScoring, cycle_order, sim_sample
from simbench.suites.static import StaticSuite
from simbench.types import MODALITY_SIM2D, Sample

#: inter-frame delays of the sweep, ms (VSR-SIM's 0–25 ms sweep, SCIENCE.md §2)
DELAYS_MS: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
_SUITE_KEY = 31
#: bead diameter, nm, and beads per µm² of the field
BEAD_DIAMETER_NM = 100.0
BEADS_PER_UM2 = 0.4


def render_beads(shape: tuple[int, int], pixel_size_nm: float, rng: np.random.Generator) -> np.ndarray:
    """Sparse 100 nm beads (Gaussian profiles of that FWHM) at continuous positions, float32, peak ≈ 1."""
    area_um2 = shape[0] * shape[1] * (pixel_size_nm * 1e-3) ** 2
    n = max(1, int(rng.poisson(BEADS_PER_UM2 * area_um2)))
    pos = rng.uniform((0, 0), shape, size=(n, 2))
    sigma = BEAD_DIAMETER_NM / (2 * np.sqrt(2 * np.log(2))) / pixel_size_nm
    radius = int(np.ceil(4 * sigma))
    image = np.zeros(shape, np.float32)
    offsets = np.arange(-radius, radius + 1)
    for y, x in pos:  # a loop over beads (tens to hundreds), each a vectorised patch
        iy, ix = int(y), int(x)
        rows, cols = iy + offsets, ix + offsets
        keep_r, keep_c = (rows >= 0) & (rows < shape[0]), (cols >= 0) & (cols < shape[1])
        gy = np.exp(-0.5 * ((rows[keep_r] - y) / sigma) ** 2)
        gx = np.exp(-0.5 * ((cols[keep_c] - x) / sigma) ** 2)
        image[np.ix_(rows[keep_r], cols[keep_c])] += np.outer(gy, gx).astype(np.float32)
    return image / max(float(image.max()), 1e-12)


class FrameDelaySuite(CyclicStart, Sim2DScoring, Suite):
    name = "frame-delay"
    version = "1"
    modality = MODALITY_SIM2D
    description = ("Moving beads and natural scenes at inter-frame delays 0–25 ms (constant velocity, option "
                   "velocity_um_s); every metric vs delay.")
    sizes: ClassVar[dict[str, int]] = {"quick": 2 * len(DELAYS_MS), "full": 10 * len(DELAYS_MS)}
    options = (SuiteOption("velocity_um_s", "speed of the sample, µm/s", 2.0, float),
               PATTERN_START)
    target_shape: ClassVar[tuple[int, int]] = StaticSuite.target_shape
    downsample: ClassVar[int] = StaticSuite.downsample

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        from simbench.phantoms.motion import MotionParams, canvas_shape, moving_sequence, source_canvas
        from simbench.physics import default_optics

        self.n_samples(size)
        scene_index, delay_ms = divmod(index, len(DELAYS_MS))
        delay_ms = DELAYS_MS[delay_ms]
        target_px = default_optics().pixel_size_nm / self.downsample
        velocity = self.option_values["velocity_um_s"]
        if velocity < 0:
            raise ValueError(f"velocity_um_s must be >= 0; got {velocity}")
        drift_px = velocity * delay_ms * 1e-3 * 1e3 / target_px  # µm/s · s → µm → target px per frame
        params = MotionParams(drift_px_per_frame=drift_px)
        # everything but the delay comes from the scene's own streams
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, scene_index]))
        canvas = canvas_shape(self.target_shape, MotionParams(drift_px_per_frame=velocity * DELAYS_MS[-1]
                                                              / target_px), N_FRAMES)
        if scene_index % 2 == 0:
            scene = render_beads(canvas, target_px, rng)
            meta = {"kind": "beads", "source": "render_beads"}
        else:
            # an even index makes source_canvas pick a natural (scikit-image) scene
            scene, meta = source_canvas(2 * scene_index, "test", seed, rng, self.target_shape, canvas, target_px)
        motion_rng = np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, scene_index, 1]))
        frames = moving_sequence(scene, N_FRAMES, params, motion_rng, self.target_shape, target_px)
        start = self.pattern_start(int(rng.integers(N_FRAMES)))
        noise_rngs = tuple(np.random.default_rng(np.random.SeedSequence([seed, _SUITE_KEY, scene_index, k]))
                           for k in (2, 3))
        meta.update(pool="test", pattern_start=start, velocity_um_s=velocity, drift_px_per_frame=drift_px,
                    sweep={"delay_ms": delay_ms})
        return sim_sample(self.sample_id(index), frames, frames[N_FRAMES // 2], cycle_order(start), rng,
                          noise_rngs, self.downsample, meta)

"""From ground truth to a 2D SIM sample: the acquisition shared by the 2D suites.

The scene (one image, or one image per frame for a moving sample) is imaged
with the default optics under jittered stripe patterns shown in
``order``, then noised twice (same level, independent noise) so that FRC can be
scored.  The random draws happen in a fixed order (pattern jitter from ``rng``,
then the noise), which the suites' committed manifests pin down.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from simbench.suites.base import SuiteOption
from simbench.types import RawStack, Sample

#: raw frames per reconstruction: 3 angles × 3 phases
N_FRAMES = 9


class Sim2DScoring:
    """The metrics of every 2D SIM suite (a mixin placed before :class:`Suite`).

    Default: fidelity to the ground truth (PSNR, SSIM, MSE after the affine fit), FRC against the
    ground truth (0.5 threshold, clamped at the SIM limit 1/(k_c + k0)) and the out-of-band power
    beyond k_c + k0.  Opt-in: FRC and out-of-band power between the two noise realisations (a second
    reconstruction per sample; they measure reproducibility) and forward-model consistency.  Ranked by PSNR, SSIM and
    FRC against the ground truth: numbers no output can improve without being closer to the truth.
    Decorrelation analysis is not scored: it assumes noise that is white up to Nyquist, which
    interpolated (e.g. bicubic ×2) outputs violate (it reported 79 nm for a 219 nm limit).
    """

    metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "mse", "frc_gt", "oob")
    extra_metrics: ClassVar[tuple[str, ...]] = ("frc", "oob_repeat", "consistency")
    primary_metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "frc_gt")


def _pattern_start(text: str) -> int:
    """The ``pattern_start`` option: -1 or a pattern index 0–8."""
    start = int(text)
    if not -1 <= start < N_FRAMES:
        raise ValueError(f"pattern_start must be -1 (drawn per scene) or 0–{N_FRAMES - 1}")
    return start


#: the option of :class:`CyclicStart` suites
PATTERN_START = SuiteOption("pattern_start", "pattern of the window's first frame: -1 (default) draws one per "
                            "scene; 0 gives every scene the fixed cycle that fixed-order methods (mlsim, rbpn) "
                            "need, so that they can be compared with the others on the same data", -1, _pattern_start)


class CyclicStart:
    """Suites whose 9-frame cycle starts at a pattern drawn per scene, as in rolling SIM, unless option
    :data:`PATTERN_START` fixes it (a mixin placed before :class:`Suite`, whose ``options`` must hold it)."""

    option_values: dict[str, Any]

    @property
    def requires_any_pattern_order(self) -> bool:
        """Only a drawn start (``pattern_start`` −1) varies the order between samples."""
        return self.option_values["pattern_start"] < 0

    def pattern_start(self, drawn: int) -> int:
        """The start of a scene whose stream drew ``drawn`` (always drawn, so the streams after it do not
        depend on the option): ``drawn``, or the option's fixed start."""
        fixed = self.option_values["pattern_start"]
        return drawn if fixed < 0 else fixed


def cycle_order(start: int, n_frames: int = N_FRAMES) -> tuple[int, ...]:
    """Pattern index of frame t, ``(t − start) mod 9``: the fixed cycle, started at random (``start``)."""
    return tuple((t - start) % N_FRAMES for t in range(n_frames))


def sim_sample(sample_id: str, scene: np.ndarray, target: np.ndarray, order: tuple[int, ...],
               rng: np.random.Generator, noise_rngs: tuple[np.random.Generator, np.random.Generator],
               downsample: int, meta: dict[str, Any]) -> Sample:
    """A :class:`Sample` of ``scene`` ((H, W) still or (n, H, W) per frame, on the target grid,
    ``downsample`` × finer than the camera) with ground truth ``target``.

    The true pattern is the nominal one jittered with ``rng`` (kept in ``truth``, the
    raw stack carries the nominal one); ``noise_rngs`` draw the two noise realisations.
    ``meta`` gains the noise levels.
    """
    from simbench.physics import NoiseModel, default_optics, jitter_pattern, nominal_pattern, simulate_sim2d

    optics = default_optics()
    target_px = optics.pixel_size_nm / downsample
    nominal = nominal_pattern(optics)
    true = jitter_pattern(nominal, rng)
    clean = simulate_sim2d(scene, target_px, optics, true, order, downsample=downsample)
    frames, frames_repeat, noise = NoiseModel().apply_twice(clean, *noise_rngs)
    raw = RawStack(frames=frames, optics=optics, pattern=nominal, frame_patterns=tuple(order))
    return Sample(id=sample_id, raw=raw, target=target, target_pixel_size_nm=target_px,
                  truth={"pattern": true.to_dict()}, meta={**meta, "noise": noise},
                  raw_repeat=dataclasses.replace(raw, frames=frames_repeat))

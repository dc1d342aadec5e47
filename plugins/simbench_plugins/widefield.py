"""Method ``widefield``: the mean of the raw frames, bicubic ×2 (SCIENCE.md §1).

The baseline every SIM method must beat: the average of all pattern
positions equals a uniformly illuminated (widefield) image (stripes or one
hexagonal plane alike).  For a 3D
light-sheet stack (SCIENCE.md §4) that is the mean of each plane's 7 steps,
bicubic ×2 laterally and ×3 along z (the target's 120 planes from 40).
"""
from __future__ import annotations

import numpy as np

from simbench import MODALITY_HEX2D, MODALITY_LSSIM3D, MODALITY_SIM2D, Method, RawStack, hookimpl, upsample_bicubic

#: target planes per raw plane of a 3D stack (SCIENCE.md §4: 40 → 120)
AXIAL_UPSAMPLE = 3


class Widefield(Method):
    name = "widefield"
    modalities = (MODALITY_SIM2D, MODALITY_LSSIM3D, MODALITY_HEX2D)
    accepts_any_pattern_order = True  # uses only the mean of the frames
    description = "Mean of the raw frames (per plane for 3D stacks), bicubic ×2 (×3 along z): the widefield baseline."

    def reconstruct(self, raw: RawStack) -> np.ndarray:
        if raw.modality == MODALITY_LSSIM3D:
            planes = raw.frames.reshape(-1, raw.pattern.n_patterns, *raw.frames.shape[1:]).mean(axis=1)
            return upsample_bicubic(planes, factor=2, z_factor=AXIAL_UPSAMPLE)
        return upsample_bicubic(raw.frames.mean(axis=0), factor=2)


@hookimpl
def simbench_methods() -> list[type[Method]]:
    return [Widefield]

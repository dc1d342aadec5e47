"""Method ``widefield``: the mean of the raw frames, bicubic ×2 (SCIENCE.md §1).

The baseline every SIM method must beat: the average of all pattern
positions equals a uniformly illuminated (widefield) image.
"""
from __future__ import annotations

import numpy as np

from simbench import MODALITY_SIM2D, Method, RawStack, hookimpl, upsample_bicubic


class Widefield(Method):
    name = "widefield"
    modalities = (MODALITY_SIM2D,)
    accepts_any_pattern_order = True  # uses only the mean of the frames
    description = "Mean of the raw frames, bicubic ×2 (the widefield baseline)."

    def reconstruct(self, raw: RawStack) -> np.ndarray:
        return upsample_bicubic(raw.frames.mean(axis=0), factor=2)


@hookimpl
def simbench_methods() -> list[type[Method]]:
    return [Widefield]

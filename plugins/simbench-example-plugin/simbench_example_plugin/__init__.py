"""A minimal third-party simbench plugin: widefield plus an unsharp mask.

Everything it needs comes from simbench's public API.  Install it with
``pip install ./plugins/simbench-example-plugin`` and it appears in
``simbench list`` and runs with ``simbench run --method example-unsharp``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

import simbench


class UnsharpWidefield(simbench.Method):
    name = "example-unsharp"
    modalities = (simbench.MODALITY_SIM2D,)
    description = "Example plugin: widefield (frame mean, bicubic ×2) sharpened by an unsharp mask."

    #: Gaussian blur of the mask, in target pixels, and the sharpening gain
    sigma_px = 2.0
    amount = 0.7

    def reconstruct(self, raw: simbench.RawStack) -> np.ndarray:
        image = simbench.upsample_bicubic(raw.frames.mean(axis=0), factor=2)
        blurred = ndimage.gaussian_filter(image, self.sigma_px)
        return image + self.amount * (image - blurred)


@simbench.hookimpl
def simbench_methods() -> list[type[simbench.Method]]:
    return [UnsharpWidefield]

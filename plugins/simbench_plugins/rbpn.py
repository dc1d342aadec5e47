"""Method ``rbpn``: recurrent back-projection network over the centre frame's 8 neighbours (SCIENCE.md §3).

The optical flow from the centre frame (index 4, the reference) to each
neighbour is computed here, on the normalised raw frames, with scikit-image's
TV-L1 (:func:`skimage.registration.optical_flow_tvl1`) and stacked after the
frames as the network's input.  Frames are taken in the fixed angle-major
order.  Network: :mod:`simbench_plugins.nets.rbpn`; weights and inference:
:class:`simbench.learn.LearnedMethod`.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from simbench import LearnedMethod, TrainingRecipe, hookimpl

#: TV-L1 with fewer warps and iterations than scikit-image's defaults (5, 10): ≈ 0.5 s instead of
#: ≈ 4 s per 256² pair on one loaded CPU core, 8 pairs per reconstruction
TVL1 = {"num_warp": 2, "num_iter": 10}


class RBPN(LearnedMethod):
    name = "rbpn"
    description = "Recurrent back-projection network (RBPN) with TV-L1 flow to the centre frame, ×2."
    #: 2: the output is made consistent with the raw frames' widefield image inside the passband
    version = "2"
    data_consistency = True
    #: L1 loss, Adam 1e-4, multistep halving (SCIENCE.md §3)
    recipe = TrainingRecipe(loss="l1", learning_rate=1e-4)
    weights_package = "simbench_plugins.weights"
    configs: ClassVar[dict[str, dict[str, Any]]] = {
        # base filters 96, features 48, 3 stages, 3 residual blocks, 9 frames: ≈2.36 M (SCIENCE.md §3)
        "paper": {"base": 96, "features": 48, "stages": 3, "resblocks": 3},
        # trains on 2 CPU cores
        "small": {"base": 8, "features": 8, "stages": 2, "resblocks": 1},
    }

    @classmethod
    def build(cls, config: dict[str, Any]):
        from simbench_plugins.nets.rbpn import RBPN as Network

        return Network(**config)

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Frames (9, h, w) then the flow (dy, dx) in raw pixels from the centre frame to each neighbour."""
        from skimage.registration import optical_flow_tvl1

        from simbench_plugins.nets.rbpn import CENTRE, NEIGHBOURS

        flows = [optical_flow_tvl1(frames[CENTRE], frames[n], **TVL1) for n in NEIGHBOURS]
        return np.concatenate([frames, *flows]).astype(np.float32)


@hookimpl
def simbench_methods() -> list[type[LearnedMethod]]:
    return [RBPN]

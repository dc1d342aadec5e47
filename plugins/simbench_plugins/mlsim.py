"""Method ``mlsim``: ML-SIM's network family, an RCAN over the 9 raw frames with ×2 upsampling (SCIENCE.md §3).

Frames are taken in the fixed angle-major order (sorted by pattern).
Network: :mod:`simbench_plugins.nets.rcan`; weights and inference:
:class:`simbench.learn.LearnedMethod`.
"""
from __future__ import annotations

from typing import Any, ClassVar

from simbench import LearnedMethod, TrainingRecipe, hookimpl


class MLSIM(LearnedMethod):
    name = "mlsim"
    description = "RCAN over the 9 raw frames (ML-SIM), ×2 pixel shuffle; fixed pattern order."
    #: 2: the output is made consistent with the raw frames' widefield image inside the passband
    version = "2"
    data_consistency = True
    #: SCIENCE.md §3 states no loss for the RCAN comparison: the recipe of vsrsim and rbpn (L1, Adam
    #: 1e-4, multistep halving), so that the three differ only in architecture
    recipe = TrainingRecipe(loss="l1", learning_rate=1e-4)
    weights_package = "simbench_plugins.weights"
    configs: ClassVar[dict[str, dict[str, Any]]] = {
        # the RCAN comparison of VSR-SIM: 5 groups × 12 blocks, ≈4.84 M parameters (SCIENCE.md §3)
        "paper": {"frames": 9, "features": 64, "groups": 5, "blocks": 12, "reduction": 16},
        # trains on 2 CPU cores
        "small": {"frames": 9, "features": 24, "groups": 2, "blocks": 3, "reduction": 4},
    }

    @classmethod
    def build(cls, config: dict[str, Any]):
        from simbench_plugins.nets.rcan import RCAN

        return RCAN(**config)


@hookimpl
def simbench_methods() -> list[type[LearnedMethod]]:
    return [MLSIM]

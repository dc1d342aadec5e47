"""Method ``vsrsim``: VSR-SIM, a spatio-temporal vision transformer (SCIENCE.md §3).

Trained with the patterns in shuffled order (every cyclic start), so it serves
rolling SIM: it reconstructs any 9 consecutive frames of the fixed cycle.
Network: :mod:`simbench_plugins.nets.vsrsim`; weights and inference:
:class:`simbench.learn.LearnedMethod`.
"""
from __future__ import annotations

from typing import Any, ClassVar

from simbench import LearnedMethod, TrainingRecipe, hookimpl


class VSRSIM(LearnedMethod):
    name = "vsrsim"
    description = "VSR-SIM vision transformer (3D shifted windows + channel attention), ×2; any pattern order."
    accepts_any_pattern_order = True
    #: 2: the output is made consistent with the raw frames' widefield image inside the passband
    version = "2"
    data_consistency = True
    #: L1 loss, Adam 1e-4, multistep halving (SCIENCE.md §3)
    recipe = TrainingRecipe(loss="l1", learning_rate=1e-4)
    weights_package = "simbench_plugins.weights"
    configs: ClassVar[dict[str, dict[str, Any]]] = {
        # reference configuration, ≈13.9 M parameters (SCIENCE.md §3): embed 192, 5 groups × 6 blocks,
        # 8 heads, window (2, 8, 8) shifted by half on alternate blocks, MLP ratio 2, patch (3, 4, 4),
        # channel-attention branch of 12 blocks (64 features, as the RCAN comparisons); LeakyReLUs in the
        # branch and the head as the paper's reference code, tokens unembedded patch by patch as there
        "paper": {"frames": 9, "dim": 192, "groups": 5, "depth": 6, "heads": 8, "window": [2, 8, 8],
                  "mlp_ratio": 2.0, "patch": [3, 4, 4], "features": 64, "ca_blocks": 12, "reduction": 16,
                  "activation": True, "unembed": "transposed"},
        # trains on 2 CPU cores: 64 channels per token (a 3×4×4 patch holds 48 values, so none is
        # compressed away), LeakyReLUs, an overlapping unembedding (each token paints a 2×2-patch area)
        # and a bilinear resize-convolution head instead of the pixel shuffle (one moving sample overfit
        # in 600 steps: 28.37 dB against 26.42 with the pixel shuffle; widefield 25.20).  Weights
        # trained before a field existed store a config without it, which builds the earlier network
        # (dim 32, linear head, transposed unembedding, pixel shuffle).
        "small": {"frames": 9, "dim": 64, "groups": 2, "depth": 2, "heads": 2, "window": [2, 8, 8],
                  "mlp_ratio": 2.0, "patch": [3, 4, 4], "features": 16, "ca_blocks": 2, "reduction": 4,
                  "activation": True, "unembed": "overlapping", "upsampling": "bilinear"},
    }

    @classmethod
    def build(cls, config: dict[str, Any]):
        from simbench_plugins.nets.vsrsim import VSRSIM as Network

        return Network(**config)


class VSRSIMShiftAveraged(VSRSIM):
    """vsrsim's shipped network averaged over its input moved by every multiple of half a raw pixel
    below its 4-pixel token period: 64 passes, translation-equivariant.  The token grid paints a
    texture at multiples of 1/8 cycles per output pixel and the ×2 output one at the Nyquist
    frequency; this mean cancels both (:mod:`simbench.learn.shifts`)."""

    name = "vsrsim-avg"
    description = ("vsrsim averaged over 64 input shifts (every half raw pixel of its token period): no "
                   "token-grid or pixel-phase texture, 64× its inference time.")
    weights_of = "vsrsim"
    #: vsrsim's lateral patch, raw pixels (its token period)
    shift_average_px = 4
    #: the network's averaged output alone, as before data consistency existed (its rows stay valid)
    version = "1"
    data_consistency = False


@hookimpl
def simbench_methods() -> list[type[LearnedMethod]]:
    return [VSRSIM, VSRSIMShiftAveraged]

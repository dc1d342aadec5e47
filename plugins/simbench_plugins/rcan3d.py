"""Method ``rcan3d``: RCAN with a 3D head for hexagonal light-sheet SIM stacks (Boland et al.; SCIENCE.md §3–4).

The stack (planes × 7 phase steps, each plane's steps sorted by pattern) is
percentile-normalised as a whole and cut along z into chunks of ``chunk``
consecutive planes (the paper's c; 7·c frames each); the network turns each
chunk into its 3·c planes on the target grid (2× finer pixels, 3× the planes:
40 planes → 120 of 116.67 nm at 54.17 nm, plane 3p on raw plane p, as the
confocal target and ``hexsim``), tile by tile laterally; outputs are clipped at
0 (SCIENCE.md §3).

**Trailing planes.**  When the plane count is not a multiple of c (40 planes,
c = 3) the reference drops the last planes (SCIENCE.md §3).  Here one more
chunk is taken flush with the last plane, overlapping the previous one, and
only its planes not covered yet are kept (:func:`chunk_plan`): every output
plane comes from exactly one chunk, and every chunk is a full input of the
kind the network was trained on.  Training uses the same chunk positions, each
with its 3·c target planes; chunks whose normalised target has a mean below
1e-7 are discarded (SCIENCE.md §3).

Network: :mod:`simbench_plugins.nets.rcan3d`; weights, training and the
lateral tiling: :class:`simbench.learn.LearnedMethod`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simbench import MODALITY_LSSIM3D, LearnedMethod, SimbenchError, TrainingRecipe, hookimpl

if TYPE_CHECKING:
    import torch

#: phase steps per plane (SCIENCE.md §4) and output planes per input plane (SCIENCE.md §3: 40 → 120)
STEPS, Z_UPSAMPLE = 7, 3


def chunk_plan(n_planes: int, chunk: int) -> list[tuple[int, int]]:
    """Chunks (first plane, first plane kept relative to it) covering ``n_planes`` planes with chunks of
    ``chunk``: every ``chunk`` planes, plus, when they do not divide, one flush with the last plane that
    keeps only its uncovered planes.  Each plane is kept by exactly one chunk."""
    if not 1 <= chunk <= n_planes:
        raise SimbenchError(f"a stack of {n_planes} planes cannot be cut into chunks of {chunk} planes")
    plan = [(start, 0) for start in range(0, n_planes - chunk + 1, chunk)]
    covered = len(plan) * chunk
    if covered < n_planes:
        plan.append((n_planes - chunk, covered - (n_planes - chunk)))
    return plan


class RCAN3DMethod(LearnedMethod):
    name = "rcan3d"
    modalities = (MODALITY_LSSIM3D,)
    description = ("RCAN3D (Boland et al.): 3D head over chunks of 3 planes × 7 steps, 12 residual groups of "
                   "channel attention, ×2 laterally, 3 output planes per input plane; clipped at 0.")
    #: MSE, Adam from 1e-5 with ReduceLROnPlateau down to 1e-6, gradients clipped at ±0.1, chunks with a
    #: target mean below 1e-7 discarded (SCIENCE.md §3); the plateau factor and patience (0.5 after 3
    #: validations without improvement) are simbench's choice, the paper states none
    recipe = TrainingRecipe(loss="mse", learning_rate=1e-5, schedule="plateau", min_learning_rate=1e-6,
                            clip_value=0.1, min_example_mean=1e-7)
    training_suite = "axial"
    weights_package = "simbench_plugins.weights"
    configs: ClassVar[dict[str, dict[str, Any]]] = {
        # c = 3, 12 groups × 3 blocks, 64 features, reduction 1: ≈3.6 M parameters (SCIENCE.md §3)
        "paper": {"chunk": 3, "steps": STEPS, "z_upsample": Z_UPSAMPLE, "features": 64, "groups": 12, "blocks": 3,
                  "reduction": 1},
        # trains on 2 CPU cores
        "small": {"chunk": 3, "steps": STEPS, "z_upsample": Z_UPSAMPLE, "features": 16, "groups": 3, "blocks": 2,
                  "reduction": 1},
    }

    @classmethod
    def build(cls, config: dict[str, Any]):
        from simbench_plugins.nets.rcan3d import RCAN3D

        return RCAN3D(**config)

    @classmethod
    def training_examples(cls, config: dict[str, Any], inputs: np.ndarray,
                          target: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every chunk of :func:`chunk_plan`: (steps·c, h, w) frames and their (z_upsample·c, 2h, 2w) planes."""
        chunk, steps, z_up = config["chunk"], config["steps"], config["z_upsample"]
        n_planes = _planes(inputs.shape[0], steps)
        if target.ndim != 3 or target.shape[0] != z_up * n_planes:
            raise SimbenchError(f"a target of {z_up * n_planes} planes is needed for {n_planes} raw planes; "
                                f"got shape {target.shape}")
        return [(inputs[steps * s:steps * (s + chunk)], target[z_up * s:z_up * (s + chunk)])
                for s, _ in chunk_plan(n_planes, chunk)]

    def infer(self, model: torch.nn.Module, inputs: np.ndarray, device: torch.device) -> np.ndarray:
        """(z_upsample·planes, 2h, 2w) from the normalised stack (steps·planes, h, w): chunk by chunk, each
        tiled laterally; clipped at 0."""
        chunk, steps, z_up = model.chunk, model.steps, model.z_upsample
        n_planes = _planes(inputs.shape[0], steps)
        out: np.ndarray | None = None
        for start, keep in chunk_plan(n_planes, chunk):
            planes = self.tiled(model, inputs[steps * start:steps * (start + chunk)], device)
            if out is None:
                out = np.empty((z_up * n_planes, *planes.shape[1:]), np.float32)
            out[z_up * (start + keep):z_up * (start + chunk)] = planes[z_up * keep:]
        return np.maximum(out, 0.0, out=out)


def _planes(n_frames: int, steps: int) -> int:
    """Planes in a stack of ``n_frames`` frames of ``steps`` phase steps each."""
    if n_frames % steps:
        raise SimbenchError(f"{n_frames} frames are not whole planes of {steps} phase steps")
    return n_frames // steps


@hookimpl
def simbench_methods() -> list[type[LearnedMethod]]:
    return [RCAN3DMethod]

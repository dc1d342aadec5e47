"""RCAN3D: RCAN with a depth-collapsing 3D head for light-sheet SIM chunks (Boland et al.; SCIENCE.md §3).

A chunk of ``chunk`` consecutive planes of ``steps`` phase steps each is a
(B, steps·chunk, H, W) input.  The head is one 3D convolution with a single
input channel and kernel (steps·chunk, 3, 3), no padding in depth: it sees all
frames of the chunk at once and collapses the depth to 1, leaving
(B, features, H, W).  (This is the same map as a 2D 3×3 convolution with
steps·chunk input channels, parameter for parameter; it is kept as the paper's
3D layer so that its weights have the paper's layout.)  Then the RCAN body of
:class:`~simbench_plugins.nets.rcan.RCAN` (residual groups of channel-attention
blocks, long skip) and the ×2 pixel-shuffle upsampler to ``z_upsample``·chunk
output channels: the chunk's planes on the target grid, ``z_upsample`` output
planes per input plane in order (plane p → output planes z_upsample·p … + z_upsample − 1).
"""
from __future__ import annotations

import torch
from torch import nn

from simbench_plugins.nets.rcan import RCAN


class DepthCollapse(nn.Module):
    """(B, depth, H, W) → (B, features, H, W): a 3D convolution of kernel (depth, 3, 3) over the frames."""

    def __init__(self, depth: int, features: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, features, (depth, 3, 3), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x[:, None])[:, :, 0]


class RCAN3D(RCAN):
    """(B, steps·chunk, H, W) → (B, z_upsample·chunk, 2H, 2W)."""

    def __init__(self, chunk: int, steps: int, z_upsample: int, features: int, groups: int, blocks: int,
                 reduction: int) -> None:
        super().__init__(steps * chunk, features, groups, blocks, reduction, out_channels=z_upsample * chunk)
        #: planes per chunk, phase steps per plane, output planes per input plane
        self.chunk, self.steps, self.z_upsample = chunk, steps, z_upsample

    def make_head(self, frames: int, features: int) -> nn.Module:
        return DepthCollapse(frames, features)

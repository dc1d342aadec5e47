"""RCAN over the 9 raw frames with ×2 upsampling (ML-SIM's network family; SCIENCE.md §3).

Head conv (frames → F), ``groups`` residual groups of ``blocks`` RCABs, a conv with a
long skip, then the ×2 upsampler (pixel shuffle, or a bilinear resize-convolution:
:class:`~simbench_plugins.nets.blocks.Upsampler2x`) to ``out_channels`` channels (default one).
Subclasses may replace the head (:meth:`RCAN.make_head`).
"""
from __future__ import annotations

import torch
from torch import nn

from simbench_plugins.nets.blocks import ResidualGroup, Upsampler2x, conv3x3


class RCAN(nn.Module):
    """(B, frames, H, W) → (B, out_channels, 2H, 2W)."""

    def __init__(self, frames: int, features: int, groups: int, blocks: int, reduction: int,
                 out_channels: int = 1, upsampling: str = "pixel-shuffle") -> None:
        super().__init__()
        self.head = self.make_head(frames, features)
        self.body = nn.Sequential(*(ResidualGroup(features, blocks, reduction) for _ in range(groups)),
                                  conv3x3(features, features))
        self.tail = Upsampler2x(features, out_channels, mode=upsampling)

    def make_head(self, frames: int, features: int) -> nn.Module:
        """The first layer, (B, frames, H, W) → (B, features, H, W): a 3×3 conv."""
        return conv3x3(frames, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        return self.tail(feat + self.body(feat))

"""Building blocks shared by the learned 2D networks (RCAN, Zhang et al. 2018; SCIENCE.md §3).

Channel attention rescales each feature channel by a gate computed from the
channel's global mean; a residual channel-attention block (RCAB) is
conv–ReLU–conv–attention with a skip; a residual group is a stack of RCABs and
a conv, with a long skip; the upsampler is a conv to ``4·F`` channels and a ×2
pixel shuffle.  All convolutions are 3×3 with zero padding ("same" size).
"""
from __future__ import annotations

import torch
from torch import nn


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    """3×3 convolution that keeps the spatial size."""
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class ChannelAttention(nn.Module):
    """Squeeze (global mean) → 1×1 conv down by ``reduction`` → ReLU → 1×1 conv up → sigmoid gate."""

    def __init__(self, features: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, features // reduction)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(features, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, features, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class RCAB(nn.Module):
    """Residual channel-attention block: ``x + CA(conv(ReLU(conv(x))))``."""

    def __init__(self, features: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(features, features), nn.ReLU(inplace=True), conv3x3(features, features),
                                  ChannelAttention(features, reduction))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    """``blocks`` RCABs and a closing conv, with a skip over the whole group."""

    def __init__(self, features: int, blocks: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*(RCAB(features, reduction) for _ in range(blocks)), conv3x3(features, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


#: ways of upsampling ×2 (see :class:`Upsampler2x`)
UPSAMPLINGS = ("pixel-shuffle", "bilinear")


class Upsampler2x(nn.Module):
    """×2 upsampling to ``out_channels``, by ``mode``:

    - ``pixel-shuffle`` (the papers' RCAN and VSR-SIM): conv to ``4·features`` channels, the
      ``activation`` layers (none by default), pixel shuffle, conv.  Each output pixel of a 2×2 block
      comes from its own kernel: unless training makes the four agree, the output carries a
      checkerboard (power at the Nyquist frequency and its neighbours).
    - ``bilinear`` (resize-convolution, Odena, Dumoulin & Olah 2016): bilinear ×2 of the features,
      conv, the ``activation`` layers, conv.  Every output pixel sees the same kernels: no
      checkerboard by construction.
    """

    def __init__(self, features: int, out_channels: int, *activation: nn.Module, mode: str = "pixel-shuffle") -> None:
        super().__init__()
        if mode not in UPSAMPLINGS:
            raise ValueError(f"unknown upsampling {mode!r}; known: {', '.join(UPSAMPLINGS)}")
        if mode == "pixel-shuffle":
            layers = [conv3x3(features, 4 * features), *activation, nn.PixelShuffle(2)]
        else:
            layers = [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                      conv3x3(features, features), *activation]
        self.body = nn.Sequential(*layers, conv3x3(features, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

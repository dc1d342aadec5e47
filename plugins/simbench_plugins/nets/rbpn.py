"""RBPN: recurrent back-projection network (Haris, Shakhnarovich & Ukita 2019; SCIENCE.md §3), ×2.

The centre frame is the reference.  Each of the 8 neighbours, stacked with the
reference and the optical flow from the reference to it (4 channels), is
encoded; at every recurrent step a single-image back-projection branch (DBPN:
alternating ×2 up- and down-projection units) super-resolves the current
low-resolution state, a multi-image branch (residual blocks + ×2 deconv)
super-resolves the neighbour's features, their difference is refined and added
back, and the result, projected down, becomes the next state.  The 8
high-resolution states are fused by a 3×3 conv into the output.

Up/down projections use kernel 6, stride 2, padding 2 (exact ×2); activations
are PReLU.  Input channels: 9 frames then 8 flows (dy, dx) in
:data:`NEIGHBOURS` order.
"""
from __future__ import annotations

import torch
from torch import nn

#: neighbours of the centre frame (index 4), nearest in time first
NEIGHBOURS: tuple[int, ...] = (3, 5, 2, 6, 1, 7, 0, 8)
CENTRE = 4


def _conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding), nn.PReLU())


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """×2 transposed conv (k6 s2 p2) + PReLU."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 6, 2, 2), nn.PReLU())


def _down(c_in: int, c_out: int) -> nn.Sequential:
    """/2 strided conv (k6 s2 p2) + PReLU."""
    return _conv(c_in, c_out, 6, 2, 2)


class UpProjection(nn.Module):
    """Back-projection up unit: H0 = up(L); error L' − L with L' = down(H0), projected up and added."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.up1, self.down, self.up2 = _up(features, features), _down(features, features), _up(features, features)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        high = self.up1(low)
        return high + self.up2(self.down(high) - low)


class DownProjection(nn.Module):
    """Back-projection down unit: L0 = down(H); error H' − H with H' = up(L0), projected down and added."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.down1, self.up, self.down2 = _down(features, features), _up(features, features), _down(features, features)

    def forward(self, high: torch.Tensor) -> torch.Tensor:
        low = self.down1(high)
        return low + self.down2(self.up(low) - high)


class DBPN(nn.Module):
    """Single-image ×2 branch: 1×1 conv to ``features``, ``stages`` up units (down units between), fused by a
    linear 1×1 conv."""

    def __init__(self, base: int, features: int, stages: int) -> None:
        super().__init__()
        self.entry = _conv(base, features, 1, 1, 0)
        self.ups = nn.ModuleList(UpProjection(features) for _ in range(stages))
        self.downs = nn.ModuleList(DownProjection(features) for _ in range(stages - 1))
        self.fuse = nn.Conv2d(stages * features, features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.entry(x)
        highs = [self.ups[0](low)]
        for down, up in zip(self.downs, self.ups[1:]):
            highs.append(up(down(highs[-1])))
        return self.fuse(torch.cat(highs, dim=1))


class ResBlock(nn.Module):
    """conv–PReLU–conv with a skip, then PReLU."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, 1, 1), nn.PReLU(),
                                  nn.Conv2d(features, features, 3, 1, 1))
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class RBPN(nn.Module):
    """(B, 9 + 16, H, W) frames and flows → (B, 1, 2H, 2W)."""

    def __init__(self, base: int, features: int, stages: int, resblocks: int) -> None:
        super().__init__()
        self.encode_ref = _conv(1, base)
        self.encode_neighbour = _conv(4, base)  # reference, neighbour, flow (dy, dx)
        self.sisr = DBPN(base, features, stages)
        self.misr = nn.Sequential(*(ResBlock(base) for _ in range(resblocks)), _up(base, features))
        self.refine = nn.Sequential(*(ResBlock(features) for _ in range(resblocks)), _conv(features, features))
        self.to_state = nn.Sequential(*(ResBlock(features) for _ in range(resblocks)), _down(features, base))
        self.fuse = nn.Conv2d(len(NEIGHBOURS) * features, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames, flows = x[:, :9], x[:, 9:]
        ref = frames[:, CENTRE:CENTRE + 1]
        state = self.encode_ref(ref)
        highs = []
        for j, n in enumerate(NEIGHBOURS):
            neighbour = self.encode_neighbour(torch.cat([ref, frames[:, n:n + 1], flows[:, 2 * j:2 * j + 2]], 1))
            high_single = self.sisr(state)
            high = high_single + self.refine(high_single - self.misr(neighbour))
            highs.append(high)
            state = self.to_state(high)
        return self.fuse(torch.cat(highs, dim=1))

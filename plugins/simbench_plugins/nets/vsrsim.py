"""VSR-SIM: a spatio-temporal vision transformer for SIM (Christensen et al.; SCIENCE.md §3).

The 9 raw frames are a grey video (B, 1, 9, H, W).  A 3D patch embedding
(Conv3d with kernel = stride = ``patch``) makes tokens of ``dim`` channels on a
(9/pt, H/ph, W/pw) grid.  Each residual group runs ``depth`` Swin-3D blocks
(multi-head self-attention inside 3D windows with a learned relative position
bias; every second block shifts the windows by half a window, with the usual
attention mask so that tokens wrapped around by the cyclic shift do not attend
to each other), projects the tokens back to 9 full-resolution frames, passes
them through a 2D conv + RCAN residual-group branch (channel attention) and
re-embeds them, with a skip over the group.  The output head projects back to
frames and upsamples ×2 to one channel (pixel shuffle in the paper).

Three options change the layers around the tokens (all default to the layers of
earlier checkpoints, so their stored configs build the same network):

* ``activation``: LeakyReLUs (slope 0.2, as the paper's reference code) in the
  channel-attention branch and in the head (after its first conv and after the
  ×2 expansion).  Without them the head is a linear filter of the frames.
* ``unembed``: how tokens become frames.  ``"transposed"`` is a transposed 3D
  conv with kernel = stride = ``patch``: each token paints its own patch, which
  leaves a texture at the patch period.  ``"overlapping"`` doubles the kernel's
  lateral size (stride still the patch): each token paints a 2×2-patch area
  centred on its own, so every pixel blends its 2×2 nearest tokens, and the
  weights still depend on the position within the patch (sub-patch detail).
* ``upsampling``: the ×2 head, ``"pixel-shuffle"`` or ``"bilinear"`` (a resize-
  convolution, free of the pixel shuffle's checkerboard by construction;
  :class:`~simbench_plugins.nets.blocks.Upsampler2x`).

Windows larger than the token grid shrink to it (and do not shift along that
axis), and the grid is zero-padded up to whole windows, so any H, W divisible
by the patch size work.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from simbench_plugins.nets.blocks import ResidualGroup, Upsampler2x, conv3x3

Triple = tuple[int, int, int]


@functools.lru_cache(maxsize=16)
def _relative_index(window: Triple, table: Triple) -> torch.Tensor:
    """(N, N) index of every (query, key) token pair of a ``window`` (N = wd·wh·ww) into the
    relative-position bias table built for ``table`` windows (``window`` ≤ ``table`` per axis)."""
    coords = torch.stack(torch.meshgrid(*(torch.arange(w) for w in window), indexing="ij")).flatten(1)  # (3, N)
    rel = coords[:, :, None] - coords[:, None, :] + torch.tensor([w - 1 for w in table])[:, None, None]
    return (rel[0] * (2 * table[1] - 1) + rel[1]) * (2 * table[2] - 1) + rel[2]


def _partition(x: torch.Tensor, window: Triple) -> torch.Tensor:
    """(B, D, H, W, C) → (B·nW, N, C) tokens of each window."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // window[0], window[0], h // window[1], window[1], w // window[2], window[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, window[0] * window[1] * window[2], c)


def _merge(windows: torch.Tensor, window: Triple, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """Inverse of :func:`_partition` for a (B, D, H, W) grid."""
    b, d, h, w = shape
    x = windows.view(b, d // window[0], h // window[1], w // window[2], *window, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


@functools.lru_cache(maxsize=16)
def _shift_mask(grid: Triple, window: Triple, shift: Triple) -> torch.Tensor:
    """(nW, N, N) additive mask, −100 between tokens that the cyclic shift brought from different regions."""
    labels = torch.zeros(1, *grid, 1)
    count = 0
    slices = [(slice(0, -w), slice(-w, -s), slice(-s, None)) if s else (slice(None),) for w, s in zip(window, shift)]
    for sd in slices[0]:
        for sh in slices[1]:
            for sw in slices[2]:
                labels[:, sd, sh, sw, :] = count
                count += 1
    ids = _partition(labels, window).squeeze(-1)  # (nW, N)
    return (ids[:, None, :] != ids[:, :, None]).float() * -100.0


class WindowAttention3D(nn.Module):
    """Multi-head self-attention within 3D windows with a relative position bias per head."""

    def __init__(self, dim: int, heads: int, window: Triple) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        size = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.bias_table = nn.Parameter(torch.zeros(size, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)

    def forward(self, x: torch.Tensor, window: Triple, mask: torch.Tensor | None) -> torch.Tensor:
        """``x``: (B·nW, N, C) tokens of windows of size ``window`` (≤ the built one); ``mask``: (nW, N, N)."""
        bw, n, c = x.shape
        q, k, v = self.qkv(x).view(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        index = _relative_index(window, self.window)
        bias = self.bias_table[index.reshape(-1)].view(n, n, -1).permute(2, 0, 1)  # (heads, N, N)
        if mask is not None:
            n_windows = mask.shape[0]
            bias = (bias[None] + mask[:, None]).repeat(bw // n_windows, 1, 1, 1)  # (B·nW, heads, N, N)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock3D(nn.Module):
    """Pre-norm (shifted) window attention and MLP, each with a skip; tokens (B, D, H, W, C)."""

    def __init__(self, dim: int, heads: int, window: Triple, shifted: bool, mlp_ratio: float) -> None:
        super().__init__()
        self.window, self.shifted = window, shifted
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, heads, window)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, d, h, w, _ = x.shape
        window = tuple(min(wn, s) for wn, s in zip(self.window, (d, h, w)))
        shift = tuple(wn // 2 if self.shifted and s > wn else 0 for wn, s in zip(window, (d, h, w)))
        y = self.norm1(x)
        pads = [(-s) % wn for s, wn in zip((d, h, w), window)]
        y = F.pad(y, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        grid = tuple(y.shape[1:4])
        mask = None
        if any(shift):
            y = torch.roll(y, tuple(-s for s in shift), dims=(1, 2, 3))
            mask = _shift_mask(grid, window, shift).to(y.device)
        y = _merge(self.attn(_partition(y, window), window, mask), window, (b, *grid))
        if any(shift):
            y = torch.roll(y, shift, dims=(1, 2, 3))
        x = x + y[:, :d, :h, :w]
        return x + self.mlp(self.norm2(x))


class FrameEmbedding(nn.Module):
    """9 frames (B, 9, H, W) ↔ tokens (B, 9/pt, H/ph, W/pw, dim) by non-overlapping 3D patches."""

    def __init__(self, dim: int, patch: Triple) -> None:
        super().__init__()
        self.embed = nn.Conv3d(1, dim, patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.norm(self.embed(frames[:, None]).permute(0, 2, 3, 4, 1))


#: ways of turning tokens back into frames (see the module docstring)
UNEMBEDDINGS = ("transposed", "overlapping")
#: negative slope of the LeakyReLUs of ``activation`` (the paper's reference code)
LEAKY_SLOPE = 0.2


class FrameProjection(nn.Module):
    """Tokens (B, D, H', W', dim) → 9 full-resolution frames (B, 9, H, W), by ``mode`` (:data:`UNEMBEDDINGS`)."""

    def __init__(self, dim: int, patch: Triple, mode: str = "transposed") -> None:
        super().__init__()
        if mode not in UNEMBEDDINGS:
            raise ValueError(f"unknown unembedding {mode!r}; known: {', '.join(UNEMBEDDINGS)}")
        if mode == "transposed":
            self.unembed = nn.ConvTranspose3d(dim, 1, patch, stride=patch)
        elif patch[1] % 2 or patch[2] % 2:
            raise ValueError(f"the overlapping unembedding needs an even lateral patch size; got {patch}")
        else:  # kernel twice the patch laterally, trimmed by half a patch each side: same output size
            kernel = (patch[0], 2 * patch[1], 2 * patch[2])
            self.unembed = nn.ConvTranspose3d(dim, 1, kernel, stride=patch, padding=(0, patch[1] // 2, patch[2] // 2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.unembed(tokens.permute(0, 4, 1, 2, 3))[:, 0]


def _leaky(on: bool) -> list[nn.Module]:
    """A LeakyReLU when ``on``, else nothing (to splice into a layer list)."""
    return [nn.LeakyReLU(LEAKY_SLOPE)] if on else []


class ResidualGroup3D(nn.Module):
    """Swin-3D blocks, then frames → conv + RCAN residual group (channel attention) → frames → tokens, with a skip."""

    def __init__(self, frames: int, dim: int, depth: int, heads: int, window: Triple, mlp_ratio: float, patch: Triple,
                 features: int, ca_blocks: int, reduction: int, activation: bool, unembed: str) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(SwinBlock3D(dim, heads, window, i % 2 == 1, mlp_ratio) for i in range(depth)))
        self.to_frames = FrameProjection(dim, patch, unembed)
        self.branch = nn.Sequential(conv3x3(frames, features), *_leaky(activation),
                                    ResidualGroup(features, ca_blocks, reduction), *_leaky(activation),
                                    conv3x3(features, frames))
        self.to_tokens = FrameEmbedding(dim, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.to_tokens(self.branch(self.to_frames(self.blocks(x))))


class VSRSIM(nn.Module):
    """(B, frames, H, W) → (B, 1, 2H, 2W); H and W divisible by the patch size.  ``activation``,
    ``unembed`` and ``upsampling``: see the module docstring (their defaults are the layers of earlier
    checkpoints)."""

    def __init__(self, frames: int, dim: int, groups: int, depth: int, heads: int, window: Triple,
                 mlp_ratio: float, patch: Triple, features: int, ca_blocks: int, reduction: int,
                 activation: bool = False, unembed: str = "transposed", upsampling: str = "pixel-shuffle") -> None:
        super().__init__()
        window, patch = tuple(window), tuple(patch)
        self.embed = FrameEmbedding(dim, patch)
        self.groups = nn.Sequential(*(ResidualGroup3D(frames, dim, depth, heads, window, mlp_ratio, patch, features,
                                                      ca_blocks, reduction, activation, unembed)
                                      for _ in range(groups)))
        self.norm = nn.LayerNorm(dim)
        self.to_frames = FrameProjection(dim, patch, unembed)
        self.head = conv3x3(frames, features)
        self.head_activation = nn.Sequential(*_leaky(activation))
        self.up = Upsampler2x(features, 1, *_leaky(activation), mode=upsampling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = self.to_frames(self.norm(self.groups(self.embed(x))))
        return self.up(self.head_activation(self.head(frames + x)))

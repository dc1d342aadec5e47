"""Inference on inputs of any size: overlapping tiles, batched, blended; device choice.

The input (C, H, W) of a network with outputs (B, K, scale·h, scale·w) is cut
into ``tile``×``tile`` tiles (the training crop, so the network sees the
context it was trained on) that overlap by ``overlap`` pixels; tiles run in
batches and their ×``scale`` outputs (all K channels) are blended with
weights that are 0 within a quarter of the overlap of an inner tile edge (where
the tile lacks context), ramp linearly to 1 over the middle half of the
overlap, and are 1 elsewhere and along the image border.  Every output pixel is
therefore covered by a tile that has at least a quarter overlap of context
around it.  An input smaller than a tile is mirror-padded to one.  The result
depends only on the input and the weights: the same on every call (CPU).
"""
from __future__ import annotations

import numpy as np
import torch

from simbench.errors import SimbenchError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if name not in DEVICES:
        raise SimbenchError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise SimbenchError("--device cuda: no CUDA device is available to torch")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Tile origins covering ``length`` (≥ tile): every ``step``, the last one flush with the end."""
    return sorted(set(range(0, length - tile, step)) | {length - tile})


def _ramp(n: int, overlap: int, before: bool, after: bool) -> np.ndarray:
    """1D blend weight of a tile of ``n`` output pixels, tapered at its inner edges (``before``/``after``)."""
    if overlap == 0:
        return np.ones(n)
    distance = np.minimum(np.arange(n), np.arange(n)[::-1]).astype(np.float64)  # to the nearer edge
    edge = np.arange(n) < n / 2
    taper = np.clip((distance - overlap / 4) / (overlap / 2), 0.0, 1.0)
    weight = np.ones(n)
    if before:
        weight[edge] = taper[edge]
    if after:
        weight[~edge] = taper[~edge]
    return weight


def tiled_inference(model: torch.nn.Module, inputs: np.ndarray, scale: int, tile: int, overlap: int, batch: int,
                    device: torch.device) -> np.ndarray:
    """``model`` on ``inputs`` (C, H, W) float32 tile by tile → (K, scale·H, scale·W) float32 (K output channels).

    ``tile`` and ``overlap`` are in input pixels (0 ≤ overlap < tile); ``batch`` tiles run at once.
    """
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile={tile}); got {overlap}")
    _, height, width = inputs.shape
    padded = np.pad(inputs, ((0, 0), (0, max(0, tile - height)), (0, max(0, tile - width))), mode="symmetric")
    ph, pw = padded.shape[1:]
    rows, cols = _starts(ph, tile, tile - overlap), _starts(pw, tile, tile - overlap)
    origins = [(r, c) for r in rows for c in cols]
    out: np.ndarray | None = None  # (K, scale·ph, scale·pw) once K is known
    total = np.zeros((scale * ph, scale * pw), np.float64)
    n = scale * tile
    model.eval()
    with torch.inference_mode():
        for first in range(0, len(origins), batch):
            chunk = origins[first:first + batch]
            x = torch.from_numpy(np.stack([padded[:, r:r + tile, c:c + tile] for r, c in chunk])).to(device)
            y = model(x).float().cpu().numpy()
            if out is None:
                out = np.zeros((y.shape[1], *total.shape), np.float64)
            for (r, c), pred in zip(chunk, y):
                weight = np.outer(_ramp(n, scale * overlap, r > 0, r + tile < ph),
                                  _ramp(n, scale * overlap, c > 0, c + tile < pw))
                out[:, scale * r:scale * r + n, scale * c:scale * c + n] += weight * pred
                total[scale * r:scale * r + n, scale * c:scale * c + n] += weight
    return (out / total)[:, :scale * height, :scale * width].astype(np.float32)

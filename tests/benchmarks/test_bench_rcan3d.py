"""Inference speed of ``rcan3d`` per output plane, small and paper configurations.

Run: ``python -m pytest tests/benchmarks/test_bench_rcan3d.py --benchmark-only -s``.

One timed call is the full method path on one chunk of a 256² light-sheet
stack (3 planes × 7 steps, the paper's c = 3): normalisation, step order,
lateral tiling (128² tiles, 32 px overlap) → 9 planes of 512², clipped at 0.
A 40-plane stack takes 14 such chunks (SCIENCE.md §3: 40 → 120 planes).
Reported: ms per output plane and ms per 7-frame reconstruction (one raw
plane → 3 output planes; the paper: 24 ms on two RTX 2080 Ti, SCIENCE.md §3).
Weights are random (speed does not depend on their values).  With CUDA, the
same on the GPU.  Speed never fails a test.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from simbench_plugins.rcan3d import STEPS, Z_UPSAMPLE, RCAN3DMethod

from simbench.learn import checkpoint
from simbench.types import MODALITY_LSSIM3D, HexPattern, Optics, RawStack

#: paper: 24 ms per 7-frame reconstruction (SCIENCE.md §3)
PAPER_MS_PER_RECONSTRUCTION = 24.0
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _chunk_stack(planes: int, side: int = 256) -> RawStack:
    """Poisson frames of a random scene, ``planes`` planes of 7 steps (speed needs no physics)."""
    rng = np.random.default_rng(0)
    frames = rng.poisson(20.0 * rng.random((STEPS * planes, side, side))).astype(np.float32)
    return RawStack(frames=frames, optics=Optics(1.1, 525.0, 1.33, 6500.0 / 60.0),
                    pattern=HexPattern(3.35, 0.0, (0.0, 0.0), 3000.0), frame_patterns=tuple(range(STEPS)) * planes,
                    modality=MODALITY_LSSIM3D, z_step_nm=350.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", ["small", "paper"])
def test_ms_per_output_plane(benchmark, config, device, tmp_path):
    path = tmp_path / f"rcan3d-{config}.safetensors"
    torch.manual_seed(0)
    checkpoint.save_weights(path, RCAN3DMethod.build(RCAN3DMethod.configs[config]).state_dict(),
                            {"method": "rcan3d", "config_name": config, "config": RCAN3DMethod.configs[config]})
    method = RCAN3DMethod(weights=path, device=device)
    method.load()
    planes = RCAN3DMethod.configs[config]["chunk"]
    raw = _chunk_stack(planes)
    if device == "cuda":
        method.reconstruct(raw)  # warm-up (cuDNN autotuning, allocator)
    rounds = 3 if config == "small" or device == "cuda" else 1
    result = benchmark.pedantic(method.reconstruct, args=(raw,), rounds=rounds, iterations=1, warmup_rounds=0)
    assert result.image.shape == (Z_UPSAMPLE * planes, 512, 512)
    per_plane = benchmark.stats.stats.min * 1e3 / (Z_UPSAMPLE * planes)
    benchmark.extra_info.update({"ms_per_output_plane": round(per_plane, 1),
                                 "ms_per_7_frame_reconstruction": round(Z_UPSAMPLE * per_plane, 1)})
    print(f"\nrcan3d/{config} on {device}: {per_plane:.0f} ms per output plane, "
          f"{Z_UPSAMPLE * per_plane:.0f} ms per 7-frame reconstruction (paper {PAPER_MS_PER_RECONSTRUCTION:.0f} ms "
          f"on two RTX 2080 Ti), {torch.get_num_threads()} threads")

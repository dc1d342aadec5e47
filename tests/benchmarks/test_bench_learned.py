"""Inference speed and peak memory of the learned methods, per model and configuration.

Run: ``python -m pytest tests/benchmarks/test_bench_learned.py --benchmark-only -s``
(``-k small`` for the small configurations only: the paper ones take minutes per
frame on a CPU).

One reconstruction = the full method path on a 9 × 256² raw stack → 512²:
normalisation, the method's input preparation (TV-L1 flow for rbpn), tiled
batched inference (128² tiles, 32 px overlap), blending and the data-consistency
step (about 8 ms at 512² on one loaded core).  Weights are
random (speed does not depend on their values).  Peak memory is the growth of
the process's peak resident set (Linux ``VmHWM``, reset through
``/proc/self/clear_refs``) over its resident set before the last round, with
the model loaded.  With CUDA, the same at 512² → 1024² on the GPU, with its
peak allocated memory.  Speed never fails a test.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from simbench_plugins.mlsim import MLSIM
from simbench_plugins.rbpn import RBPN
from simbench_plugins.vsrsim import VSRSIM

from simbench.learn import checkpoint
from simbench.physics import NoiseModel, default_optics, jitter_pattern, nominal_pattern, simulate_sim2d
from simbench.types import RawStack

CASES = [(cls, config) for cls in (VSRSIM, RBPN, MLSIM) for config in ("small", "paper")]


def _raw(side: int) -> RawStack:
    rng = np.random.default_rng(0)
    optics = default_optics()
    nominal = nominal_pattern(optics)
    obj = rng.random((2 * side, 2 * side), dtype=np.float32)
    clean = simulate_sim2d(obj, optics.pixel_size_nm / 2, optics, jitter_pattern(nominal, rng), range(9))
    frames, _ = NoiseModel(gaussian_rel=(0.05, 0.05)).apply(clean, rng)
    return RawStack(frames=frames, optics=optics, pattern=nominal, frame_patterns=tuple(range(9)))


def _method(cls, config: str, directory, device: str):
    """``cls`` with random weights of ``config`` saved under ``directory``, on ``device``."""
    path = directory / f"{cls.name}-{config}.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        checkpoint.save_weights(path, cls.build(cls.configs[config]).state_dict(),
                                {"method": cls.name, "config_name": config, "config": cls.configs[config]})
    method = cls(weights=path, device=device)
    method.load()
    return method


def _status_kb(field: str) -> int | None:
    """A ``/proc/self/status`` field in kB, or None off Linux."""
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    return next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith(field + ":"))


def _reset_peak() -> int | None:
    """Reset the peak resident set to the current one (Linux); returns the current one in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_kb("VmRSS")


@pytest.mark.parametrize("cls,config", CASES, ids=[f"{c.name}-{k}" for c, k in CASES])
def test_cpu_inference_256(benchmark, cls, config, tmp_path_factory):
    method = _method(cls, config, tmp_path_factory.mktemp("weights"), "cpu")
    raw = _raw(256)
    rounds = 3 if config == "small" else 1
    baseline = {}

    def setup():
        baseline["kb"] = _reset_peak()

    result = benchmark.pedantic(method.reconstruct, args=(raw,), setup=setup, rounds=rounds, iterations=1)
    assert result.image.shape == (512, 512)
    peak_mb = (_status_kb("VmHWM") - baseline["kb"]) / 1024 if baseline["kb"] is not None else float("nan")
    ms = benchmark.stats.stats.min * 1e3
    benchmark.extra_info.update({"ms_per_frame": round(ms), "peak_rss_growth_mb": round(peak_mb)})
    print(f"\n{cls.name}/{config}: CPU 256² → 512² {ms:.0f} ms per frame (min of {rounds}), "
          f"peak RSS growth {peak_mb:.0f} MB, {torch.get_num_threads()} threads")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("cls,config", CASES, ids=[f"{c.name}-{k}" for c, k in CASES])
def test_gpu_inference_512(benchmark, cls, config, tmp_path_factory):
    method = _method(cls, config, tmp_path_factory.mktemp("weights"), "cuda")
    raw = _raw(512)
    method.reconstruct(raw)  # warm-up (cuDNN autotuning, allocator)
    torch.cuda.reset_peak_memory_stats()

    def run():
        image = method.reconstruct(raw).image
        torch.cuda.synchronize()
        return image

    start = time.perf_counter()
    result = benchmark.pedantic(run, rounds=5, iterations=1)
    assert result.shape == (1024, 1024)
    peak_mb = torch.cuda.max_memory_allocated() / 2**20
    ms = benchmark.stats.stats.min * 1e3
    benchmark.extra_info.update({"ms_per_frame": round(ms), "peak_cuda_mb": round(peak_mb)})
    print(f"\n{cls.name}/{config}: GPU 512² → 1024² {ms:.0f} ms per frame, peak {peak_mb:.0f} MB "
          f"({time.perf_counter() - start:.0f} s in all)")

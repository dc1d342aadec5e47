"""Work spread over the thread budget (simbench.physics.threads) gives the same bytes as one thread."""
from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

from simbench.physics import threads
from simbench.physics.threads import THREADED_MIN_VALUES, slab_bounds, threaded_map


@pytest.mark.parametrize("n, budget", [(0, 2), (1, 4), (5, 2), (7, 3), (120, 16), (3, 1)])
def test_slabs_cover_the_range_in_order(monkeypatch, n, budget):
    monkeypatch.setenv("OMP_NUM_THREADS", str(budget))
    slabs = slab_bounds(n, values=THREADED_MIN_VALUES)
    assert slabs[0][0] == 0 and slabs[-1][1] == n and len(slabs) == max(1, min(budget, n))
    assert slab_bounds(n, values=THREADED_MIN_VALUES - 1) == [(0, n)]  # no threads: one slab
    assert all(stop == start for (_, stop), (start, _) in zip(slabs, slabs[1:]))
    assert max(b - a for a, b in slabs) - min(b - a for a, b in slabs) <= 1


def test_threaded_map_keeps_the_order_and_uses_the_budget(monkeypatch):
    seen = set()

    def work(i: int) -> int:
        seen.add(threading.current_thread().name)
        return i * i

    large = THREADED_MIN_VALUES
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threaded_map(work, range(6), values=large) == [0, 1, 4, 9, 16, 25]
    assert seen == {threading.current_thread().name}  # a budget of 1 runs in the calling thread
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threaded_map(work, range(6), values=large - 1) == [0, 1, 4, 9, 16, 25]
    assert seen == {threading.current_thread().name}  # so does small work: threads cost more than they save
    seen.clear()
    assert threaded_map(work, range(6), values=large) == [0, 1, 4, 9, 16, 25]
    assert seen and all(name.startswith("simbench-map") for name in seen)


def _everything_threaded() -> str:
    """sha256 over the outputs of every computation that spreads over the thread budget."""
    from simbench.metrics import acf
    from simbench.metrics.fidelity import _dilate, prepare, structural_similarity
    from simbench.metrics.base import MetricConfig
    from simbench.physics import shot_noise
    from simbench.resample import upsample_bicubic

    rng = np.random.default_rng(7)
    volume = rng.gamma(2.0, 1.0, (24, 40, 36)).astype(np.float32)
    other = volume + rng.normal(0.0, 0.3, volume.shape).astype(np.float32)
    digest = hashlib.sha256()
    for axis in range(3):
        digest.update(acf.acf_block_profiles(volume, axis, acf.JACKKNIFE_BLOCKS).tobytes())
    pred, targ, data_range = prepare(other, volume, MetricConfig())
    digest.update(pred.tobytes() + targ.tobytes())
    digest.update(np.float64(structural_similarity(pred, targ, data_range, where=targ > 1.0)).tobytes())
    for margin in (1, 3):
        digest.update(_dilate(volume > 6.0, margin).tobytes() + _dilate(volume[0] > 6.0, margin).tobytes())
    digest.update(upsample_bicubic(volume[:6], 2, z_factor=3).tobytes() + upsample_bicubic(volume[0], 2).tobytes())
    digest.update(shot_noise(volume, np.random.default_rng(3)).tobytes())
    return digest.hexdigest()


def test_threaded_computations_do_not_depend_on_the_budget(monkeypatch):
    """The ACF's blocks, the fidelity preparation, SSIM's tiles, the support's dilation, bicubic
    upsampling's slabs and chunked Poisson noise: the same bytes on 1 and on 3 threads, with chunks
    small enough that every block of the ACF and the noise is split several times."""
    from simbench.metrics import acf
    from simbench.physics import lightsheet

    monkeypatch.setattr(threads, "THREADED_MIN_VALUES", 0)  # small arrays on threads too
    monkeypatch.setattr(acf, "_CHUNK_VALUES", 2 * 36 * 40)
    monkeypatch.setattr(lightsheet, "_NOISE_CHUNK", 1000)
    digests = set()
    for budget in ("1", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", budget)
        digests.add(_everything_threaded())
    assert len(digests) == 1


def test_chunked_shot_noise_equals_one_draw(monkeypatch):
    from simbench.physics import lightsheet

    expected = np.random.default_rng(2).uniform(-1.0, 40.0, (3, 50, 70)).astype(np.float32)
    one_draw = np.random.default_rng(9).poisson(np.clip(expected, 0.0, None)).astype(np.float32)
    monkeypatch.setattr(lightsheet, "_NOISE_CHUNK", 777)
    assert lightsheet.shot_noise(expected, np.random.default_rng(9)).tobytes() == one_draw.tobytes()


def test_light_sheet_sample_bytes_do_not_depend_on_the_budget(monkeypatch):
    """Generation draws the noise beside the target's simulation when the budget allows."""
    from simbench.harness.digest import sample_digest
    from simbench.suites.axial import AxialTwoPoint

    digests = set()
    for budget in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", budget)
        digests.add(sample_digest(AxialTwoPoint().make_sample(0, "quick", 0)))
    assert len(digests) == 1

"""Shared fixtures: fake installed plugins, CLI runner, registry."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _sample_cache(tmp_path_factory):
    """One sample cache for the whole test session (never the user's), shared with CLI subprocesses."""
    os.environ["SIMBENCH_CACHE"] = str(tmp_path_factory.mktemp("sample-cache"))


def make_distribution(where: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str],
                      version: str = "1.0") -> Path:
    """Create an importable, 'installed' distribution (a module + its .dist-info)
    under ``where``; put ``where`` on sys.path / PYTHONPATH to install it."""
    where.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (where / f"{module}.py").write_text(textwrap.dedent(source))
    info = where / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[simbench]\n{lines}\n")
    importlib.invalidate_caches()
    return where


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A directory on sys.path (and PYTHONPATH for subprocesses) for fake distributions."""
    where = tmp_path / "site"
    where.mkdir()
    monkeypatch.syspath_prepend(str(where))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(where), os.environ.get("PYTHONPATH", "")]))
    return where


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m simbench ARGS`` in a subprocess, as a user would run it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "simbench", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


def inject_methods(registry, *classes):
    """Register method classes in ``registry`` as if a plugin distribution "tests" provided them."""
    from simbench.plugin.manager import PluginRecord

    record = PluginRecord(name="tests", distribution="tests", version="0", module=__name__, builtin=False)
    for cls in classes:
        registry.methods[cls.name] = cls
        registry.origin[("method", cls.name)] = record
    return registry


def stored(results_dir: Path, suite: str, method: str, key: str = "quick") -> dict:
    """The data of the newest stored record ``key`` of ``method`` on ``suite`` (asserted to exist)."""
    from simbench.harness.results import load_record, result_path

    record = load_record(result_path(results_dir, suite, method), key)
    assert record is not None, f"no {suite} [{key}] record of {method} under {results_dir}"
    return record.data


def fit_fixed_batch(model, x, y, loss_fn, clip_value: float | None = None, steps: int = 15) -> list[float]:
    """The losses of ``steps`` Adam steps (lr 3e-3) of ``model`` on one fixed batch ``x`` → ``y``,
    gradients clipped at ±``clip_value`` when given."""
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_straight_and_resumed(method_cls, suite, settings, tmp_path: Path, monkeypatch) -> Path:
    """Train ``settings`` (≥ 3 steps) twice: uninterrupted, and interrupted (Ctrl-C) before step 2, refused
    without ``--resume``, then resumed; asserts the two weights are bit-identical and returns the first."""
    import torch

    from simbench.errors import SimbenchError
    from simbench.learn import checkpoint
    from simbench.learn.data import TrainPool
    from simbench.learn.train import train

    def run(out: str, resume: bool = False) -> Path:
        return train(method_cls, suite, settings, tmp_path / out, resume=resume, progress=False, log=lambda s: None)

    straight = run("a")
    batch = TrainPool.batch

    def interrupted(self, step, *args):
        if step == 2:
            raise KeyboardInterrupt
        return batch(self, step, *args)

    monkeypatch.setattr(TrainPool, "batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("b")
    monkeypatch.setattr(TrainPool, "batch", batch)
    with pytest.raises(SimbenchError, match="--resume"):
        run("b")
    a, _ = checkpoint.read_weights(straight)
    b, _ = checkpoint.read_weights(run("b", resume=True))
    assert all(torch.equal(a[k], b[k]) for k in a)
    return straight


@pytest.fixture
def registry():
    from simbench.plugin.manager import PluginManager

    return PluginManager(strict=False).load()


def pytest_ignore_collect(collection_path, config):
    """Benchmarks (tests/benchmarks) run timed with ``--benchmark-only`` and once, untimed, with
    ``--benchmark-disable`` (as ``.ci/run`` does, so a broken benchmark fails the build); the
    plain test run skips them: speed goals are measured, never asserted."""
    wanted = config.getoption("benchmark_only", False) or config.getoption("benchmark_disable", False)
    if collection_path.name == "benchmarks" and not wanted:
        return True
    return None


def hex_plane(pattern, params, rng, n_points: int = 600):
    """7 noisy frames (Poisson, 2000 photons at the brightest pixel) of one thin plane of random
    points in focus, under the hexagonal ``pattern``, on the camera of ``params`` (LightSheetParams)."""
    import numpy as np

    from simbench.physics import simulate_widefield
    from simbench.physics.lightsheet import hex_illumination

    fine = params.pixel_size_nm / 2
    n = 2 * params.shape[0]
    obj = np.zeros((n, n))
    np.add.at(obj, tuple(rng.integers(8, n - 8, (2, n_points))), rng.uniform(0.5, 1.0, n_points))
    x_um = np.arange(n) * fine * 1e-3
    frames = np.stack([simulate_widefield(obj * hex_illumination(pattern, x_um[None, :], x_um[:, None], j), fine,
                                          params.optics) for j in range(7)])
    return rng.poisson(frames / frames.max() * 2000).astype(np.float32)

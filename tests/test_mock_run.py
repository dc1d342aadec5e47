"""``simbench mock-run`` and the pytest fixtures for plugin authors, down to a fresh virtual environment."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from conftest import ROOT, make_distribution, run_cli

BROKEN = """
import numpy as np
import simbench

class Half(simbench.Method):
    name = "mock-half"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        return raw.frames.mean(axis=0)  # forgot the 2x grid

class Noisy(simbench.Method):
    name = "mock-noisy"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        image = simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)
        return image + np.random.default_rng().normal(0, 0.01, image.shape)  # unseeded

class Greedy(simbench.Method):
    name = "mock-greedy"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        raw.frames[...] -= raw.frames.min()  # modifies its input
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)

@simbench.hookimpl
def simbench_methods():
    return [Half, Noisy, Greedy]
"""


def test_mock_run_passes_a_builtin_method_in_seconds():
    res = run_cli("mock-run", "--method", "widefield")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "widefield: all checks passed" in res.stdout and "PASS  deterministic" in res.stdout


def test_mock_run_reports_each_broken_contract(plugin_dir):
    make_distribution(plugin_dir, "mock-broken", {"mock_broken": BROKEN}, {"mock-broken": "mock_broken"})
    expected = {"mock-half": "returned shape (128, 128), expected (256, 256)",
                "mock-noisy": "FAIL  deterministic: two calls on the same input differ",
                "mock-greedy": "modified its input frames in place"}
    for method, message in expected.items():
        res = run_cli("mock-run", "--method", method)
        assert res.returncode == 1 and message in res.stdout, res.stdout + res.stderr
        assert f"{method}: contract broken" in res.stdout
    unknown = run_cli("mock-run", "--method", "mock-hal")
    assert unknown.returncode == 2 and "did you mean 'mock-half'" in unknown.stderr


def test_example_plugin_in_a_fresh_venv_passes_mock_run_and_its_own_tests(tmp_path):
    """A new virtual environment that sees this environment's packages (simbench and its
    dependencies, through a .pth file) gets the example plugin pip-installed into it."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "simbench-dev.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    src = tmp_path / "simbench-example-plugin"
    shutil.copytree(ROOT / "plugins" / "simbench-example-plugin", src)
    # this environment's pip and setuptools, installing into the new environment's prefix
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--prefix", str(env_dir), "--no-deps",
                          "--no-build-isolation", "--no-index", "-q", str(src)], check=False,
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    mock = subprocess.run([python, "-m", "simbench", "mock-run", "--method", "example-unsharp"],
                          check=False, capture_output=True, text=True)
    assert mock.returncode == 0, mock.stdout + mock.stderr
    assert "example-unsharp: all checks passed" in mock.stdout
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(src / "tests")],
                           check=False, capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr

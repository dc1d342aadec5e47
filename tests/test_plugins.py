"""Plugin discovery: built-ins, third parties, guarded failures, strict and no-autoload modes."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from simbench.errors import PluginLoadError, UnknownNameError
from simbench.plugin.manager import ENV_DISABLE_AUTOLOAD, ENV_STRICT, PluginManager

from conftest import ROOT, make_distribution, run_cli, stored

GOOD = """
import simbench

class Mean(simbench.Method):
    name = "third-mean"
    modalities = (simbench.MODALITY_SIM2D,)

    def reconstruct(self, raw):
        return simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)

@simbench.hookimpl
def simbench_methods():
    return [Mean]
"""
BROKEN = "raise RuntimeError('this plugin is broken on purpose')\n"


@pytest.fixture
def good_and_broken(plugin_dir):
    make_distribution(plugin_dir, "good-plugin", {"good_plugin": GOOD}, {"good": "good_plugin"})
    make_distribution(plugin_dir, "broken-plugin", {"broken_plugin": BROKEN}, {"broken": "broken_plugin"}, "2.3")
    return plugin_dir


def test_builtins_load_through_entry_points(registry):
    assert "widefield" in registry.methods
    origin = registry.origin[("method", "widefield")]
    assert origin.builtin and origin.distribution == "simbench" and origin.module == "simbench_plugins.widefield"
    assert {"static"} <= set(registry.suites) and {"psnr", "ssim", "mse"} <= set(registry.metrics)


def test_broken_plugin_is_recorded_and_the_rest_work(good_and_broken):
    registry = PluginManager(strict=False, autoload=True).load()
    broken = next(p for p in registry.plugins if p.name == "broken")
    assert broken.status == "failed" and broken.distribution == "broken-plugin" and broken.version == "2.3"
    assert "RuntimeError: this plugin is broken on purpose" in broken.error
    assert {"third-mean", "widefield"} <= set(registry.methods)


def test_strict_mode_makes_a_failure_fatal(good_and_broken, monkeypatch):
    with pytest.raises(PluginLoadError, match="broken"):
        PluginManager(strict=True).load()
    monkeypatch.setenv(ENV_STRICT, "1")
    with pytest.raises(PluginLoadError):
        PluginManager().load()


def test_disabling_autoload_keeps_builtins(good_and_broken, monkeypatch):
    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
    registry = PluginManager().load()
    assert "widefield" in registry.methods and "third-mean" not in registry.methods
    assert {p.name: p.status for p in registry.plugins}["good"] == "disabled"


def test_invalid_hook_results_and_name_clashes_are_reported(plugin_dir):
    make_distribution(plugin_dir, "bad-return", {"bad_return": """
import simbench
@simbench.hookimpl
def simbench_methods():
    return ["not a class"]
"""}, {"badret": "bad_return"})
    make_distribution(plugin_dir, "clash", {"clash_mod": GOOD.replace("third-mean", "widefield")},
                      {"clash": "clash_mod"})
    make_distribution(plugin_dir, "typo", {"typo_mod": """
import simbench
@simbench.hookimpl
def simbench_method():
    return []
"""}, {"typo": "typo_mod"})
    records = {p.name: p for p in PluginManager(strict=False).load().plugins}
    assert "not a subclass of simbench.Method" in records["badret"].error
    assert "already provided by simbench" in records["clash"].error
    assert "unknown hook" in records["typo"].error


def test_unknown_names_suggest_close_matches(registry):
    with pytest.raises(UnknownNameError, match="did you mean 'widefield'"):
        registry.method("widefeld")
    with pytest.raises(UnknownNameError, match="did you mean 'static'"):
        registry.suite("statc")


def test_cli_plugins_lists_the_failure_and_run_still_works(good_and_broken, tmp_path):
    out = run_cli("plugins")
    assert out.returncode == 0
    line = next(row for row in out.stdout.splitlines() if row.startswith("broken"))
    assert "broken-plugin" in line and "2.3" in line and "failed" in line and "broken on purpose" in line
    res = run_cli("run", "--method", "third-mean", "--suite", "static", "--size", "quick",
                  "--results", str(tmp_path / "r"), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "third-mean" in res.stdout and "failed to load" in res.stderr
    strict = run_cli("--strict-plugins", "list")
    assert strict.returncode == 2 and "broken" in strict.stderr


def test_help_and_list_do_not_import_torch_or_scipy_optimize():
    """Every command starts by loading the plugins: torch (learned methods) and scipy.optimize (the
    ACF fits, SQUIRREL; ~0.5 s each) are imported where they are used, not then."""
    code = ("import sys, contextlib, io\n"
            "from simbench.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['list'])\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "assert 'scipy.optimize' not in sys.modules, 'scipy.optimize was imported'\n"
            "print('clean')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "clean" in out.stdout, out.stderr


@pytest.fixture(scope="module")
def pip_installed_example(tmp_path_factory):
    """Build the repository's example third-party package in a temp dir and pip-install it."""
    src = tmp_path_factory.mktemp("example") / "simbench-example-plugin"
    shutil.copytree(ROOT / "plugins" / "simbench-example-plugin", src)
    pip = [sys.executable, "-m", "pip"]
    res = subprocess.run(pip + ["install", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(src)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    yield
    subprocess.run(pip + ["uninstall", "-y", "-q", "simbench-example-plugin"], capture_output=True)


def test_pip_installed_third_party_plugin_lists_and_runs(pip_installed_example, tmp_path):
    listed = run_cli("list", "--methods")
    assert listed.returncode == 0 and "example-unsharp" in listed.stdout
    assert "simbench-example-plugin" in listed.stdout
    res = run_cli("run", "--method", "widefield,example-unsharp", "--suite", "static", "--size", "quick",
                  "--results", str(tmp_path), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "example-unsharp" in res.stdout and "widefield" in res.stdout
    assert stored(tmp_path, "static", "example-unsharp")["complete"]

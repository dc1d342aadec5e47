"""Where a result came from: versions, commit, platform, device."""
from __future__ import annotations

import platform
import subprocess
import threading
from concurrent.futures import Future
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any


def package_version(dist: str) -> str | None:
    """Installed version of a distribution without importing it (torch stays unloaded)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _read_git_state() -> dict[str, Any]:
    source = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # committed results (leaderboards/) are data, not code: they do not make the tree dirty
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)leaderboards"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


_GIT_STATE: Future[dict[str, Any]] | None = None
_GIT_LOCK = threading.Lock()


def start_git_state() -> None:
    """Begin reading :func:`git_state` in a background thread (``git status`` takes ~0.1–0.2 s of a
    separate process), so that a run's set-up and first sample overlap it."""
    global _GIT_STATE
    with _GIT_LOCK:
        if _GIT_STATE is None:
            future: Future[dict[str, Any]] = Future()
            _GIT_STATE = future

            def read() -> None:
                try:
                    future.set_result(_read_git_state())
                except BaseException as exc:  # noqa: BLE001 - handed to whoever asks
                    future.set_exception(exc)

            threading.Thread(target=read, name="simbench-git-state", daemon=True).start()


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the simbench source tree, if it is a git checkout (read once per process)."""
    start_git_state()
    assert _GIT_STATE is not None
    return _GIT_STATE.result()


@lru_cache(maxsize=1)
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(plugin_distributions: dict[str, str]) -> dict[str, Any]:
    """Everything about the software and machine that produced a run."""
    return {
        "simbench_version": package_version("simbench"),
        "git": git_state(),
        "plugins": dict(sorted(plugin_distributions.items())),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "numpy": package_version("numpy"),
        "scipy": package_version("scipy"),
        "scikit-image": package_version("scikit-image"),
        "torch": package_version("torch"),
    }

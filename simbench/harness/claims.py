"""Per-sample claim files, so that identical runs started together do not compute a sample twice.

A claim is a small JSON file ``<record>/claims/<sample id>.claim`` created with
:func:`~simbench.harness.jsonfile.create_json` (exclusive, atomic; works on NFS).
It names its holder (host, pid, start time).  A claim is stale when its holder
is a process of this host that no longer runs, or when it is older than
:data:`STALE_AFTER_S` (holders on other hosts cannot be asked).  Claims only
save work: correctness never depends on them, because a finished sample is
written exclusively and a second writer's result is discarded.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from simbench.errors import SimbenchError
from simbench.harness.jsonfile import create_json, read_json

CLAIMS = "claims"
#: a claim older than this (s) is taken over even when its holder may still run elsewhere
STALE_AFTER_S = 6 * 3600.0


def _path(record_dir: Path, sample_id: str) -> Path:
    return record_dir / CLAIMS / f"{sample_id}.claim"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: Path) -> bool:
    try:
        info = read_json(path, "claim file")
        age = time.time() - float(info["time"])
        mine = info["host"] == socket.gethostname()
        return age > STALE_AFTER_S or (mine and not _alive(int(info["pid"])))
    except SimbenchError:
        return not path.exists() or time.time() - path.stat().st_mtime > 60  # half-made by another
    except (KeyError, TypeError, ValueError):
        return True


def claim(record_dir: Path, sample_id: str) -> bool:
    """True when this process now holds the sample's claim (fresh, or taken over from a stale one)."""
    path = _path(record_dir, sample_id)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
    if create_json(path, me):
        return True
    if not _stale(path):
        return False
    aside = path.with_name(f".{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)  # one taker wins the rename; the others see no file and race on create
        aside.unlink()
    except FileNotFoundError:
        pass
    return create_json(path, me)


def release(record_dir: Path, sample_id: str) -> None:
    """Drop this process's claim on the sample (if it still holds it)."""
    path = _path(record_dir, sample_id)
    try:
        info = read_json(path, "claim file")
    except SimbenchError:
        return
    if info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)

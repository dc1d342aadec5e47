"""Call a function in a forked child process and kill it (and its children) after a deadline.

Used only when ``--timeout`` is given: the method's work really stops (the
child's process group is killed), and the run goes on with the next sample.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any


class SampleTimeout(Exception):
    """A sample ran past its time limit; its work was killed."""


def _child(fn: Callable[[], Any], conn: Any) -> None:
    os.setpgid(0, 0)  # its own process group, so that whatever the method starts is killed with it
    try:
        result: tuple[str, Any] = ("ok", fn())
    except BaseException as exc:  # noqa: BLE001 - handed to the parent as the sample's error
        result = ("error", exc)
    try:
        conn.send(result)
    except (pickle.PicklingError, TypeError, AttributeError):
        conn.send(("error", RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))
    conn.close()


def _kill(process: Any) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.join()


def call_with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()`` computed in a forked child within ``seconds`` (s); raises :class:`SampleTimeout`
    after killing the child when it takes longer, or the child's own exception."""
    if seconds <= 0:
        raise SampleTimeout("no time left")
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(fn, send), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(seconds):
            _kill(process)
            raise SampleTimeout("no result in time; the method's process was killed")
        status, value = receive.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"the method's process ended without a result (exit code {process.exitcode})") from None
    except BaseException:
        _kill(process)
        raise
    finally:
        receive.close()
    process.join()
    if status == "error":
        raise value
    return value

"""JSON files read with validation and written atomically.

Reads turn every problem (missing, unreadable, truncated, not JSON, wrong
shape) into one :class:`SimbenchError` line naming the file.  Writes go to a
temporary file in the same folder first, so readers never see half a file:
:func:`atomic_write_json` replaces the target, :func:`create_json` never
overwrites one (``os.link`` fails when the name exists, also on NFS).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError


def read_json(path: Path, what: str = "JSON file") -> Any:
    """The parsed content of ``path``; a one-line :class:`SimbenchError` for anything unreadable."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SimbenchError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SimbenchError(f"{path}: unreadable {what} ({_reason(exc)})") from None
    if not text.strip():
        raise SimbenchError(f"{path}: empty {what}")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise SimbenchError(f"{path}: corrupt or truncated {what} ({_reason(exc)})") from None


def read_object(path: Path, what: str, schema_key: str, schema: Any) -> dict[str, Any]:
    """A JSON object whose ``schema_key`` is ``schema``; anything else is a one-line error."""
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise SimbenchError(f"{path}: not a {what} (a JSON {type(data).__name__}, expected an object)")
    if data.get(schema_key) != schema:
        found = data.get(schema_key)
        raise SimbenchError(f"{path}: not a {what} ({schema_key} {str(found)[:40]!r}, expected {schema!r})")
    return data


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _temporary(path: Path, payload: Any) -> Path:
    """``payload`` as JSON in a new temporary file beside ``path``, flushed to disk, readable by all."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SimbenchError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=False, allow_nan=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_json(path: Path, payload: Any) -> None:
    """Write JSON to ``path`` so readers see the old file or the new one, never half."""
    tmp = _temporary(Path(path), payload)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_json(path: Path, payload: Any) -> bool:
    """Write JSON to ``path`` only if no file has that name: True when written, False when one
    existed (which is left as it was).  Readers never see half a file."""
    tmp = _temporary(Path(path), payload)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)

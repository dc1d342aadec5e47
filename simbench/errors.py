"""Exceptions with messages meant for users (the CLI prints them on one line)."""
from __future__ import annotations

import difflib
from typing import Iterable


class SimbenchError(Exception):
    """An error the user can act on; the CLI prints it without a traceback."""


class UnknownNameError(SimbenchError, KeyError):
    """A method, suite or metric name that no plugin provides."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(known) if known else "none"
        super().__init__(f"unknown {kind} {name!r}{hint} (available: {listing})")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginLoadError(SimbenchError):
    """A plugin failed to load while strict plugin loading was requested."""


class InvalidOutputError(SimbenchError):
    """A method returned something that cannot be scored (shape, dtype, NaN)."""


class EstimationError(SimbenchError):
    """Pattern parameters could not be estimated from the data (e.g. no carriers)."""

"""Hook specifications every simbench plugin may implement.

A plugin is a module registered in the ``simbench`` entry-point group that
defines functions decorated with :data:`hookimpl` and named like the specs
below.  Each hook returns a list; simbench collects the lists of all plugins.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from simbench.method import Method
    from simbench.metrics.base import Metric
    from simbench.suites.base import Suite

PROJECT = "simbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def simbench_methods() -> list[type[Method]]:
    """Return reconstruction method classes (subclasses of :class:`simbench.Method`).

    Classes, not instances: a method is instantiated only when it runs, so
    listing stays cheap.
    """


@hookspec
def simbench_suites() -> list[Suite]:
    """Return suite objects (instances of :class:`simbench.Suite`)."""


@hookspec
def simbench_metrics() -> list[Metric]:
    """Return metric objects (instances of :class:`simbench.Metric`)."""

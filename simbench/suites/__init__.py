"""Built-in suites, registered as a core plugin (always loaded)."""
from __future__ import annotations

from simbench.plugin.spec import hookimpl
from simbench.suites.base import Suite


@hookimpl
def simbench_suites() -> list[Suite]:
    from simbench.suites.static import StaticSuite

    return [StaticSuite()]

"""Built-in suites, registered as a core plugin (always loaded)."""
from __future__ import annotations

from simbench.plugin.spec import hookimpl
from simbench.suites.base import Suite


@hookimpl
def simbench_suites() -> list[Suite]:
    from simbench.suites.frame_delay import FrameDelaySuite
    from simbench.suites.static import StaticSuite

    # motion/* and rolling (simbench/suites/motion.py, rolling.py) join once their manifests
    # and full-size leaderboards are committed (issue 4, in progress)
    return [StaticSuite(), FrameDelaySuite()]

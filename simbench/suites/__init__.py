"""Built-in suites, registered as a core plugin (always loaded)."""
from __future__ import annotations

from simbench.plugin.spec import hookimpl
from simbench.suites.base import Suite


@hookimpl
def simbench_suites() -> list[Suite]:
    from simbench.suites.axial import AXIAL_SUITES
    from simbench.suites.frame_delay import FrameDelaySuite
    from simbench.suites.motion import MOTION_SUITES
    from simbench.suites.real import RealSuite
    from simbench.suites.rolling import RollingSuite
    from simbench.suites.static import StaticSuite

    return [StaticSuite(), *(s() for s in MOTION_SUITES), RollingSuite(), FrameDelaySuite(),
            *(s() for s in AXIAL_SUITES), RealSuite()]

"""Built-in metrics, registered as a core plugin (always loaded)."""
from __future__ import annotations

from simbench.metrics.base import Metric
from simbench.plugin.spec import hookimpl


@hookimpl
def simbench_metrics() -> list[Metric]:
    from simbench.metrics.acf import ACF_METRICS
    from simbench.metrics.artefacts import ARTEFACT_METRICS
    from simbench.metrics.axial import AXIAL_METRICS
    from simbench.metrics.consistency import CONSISTENCY_METRICS
    from simbench.metrics.fidelity import FIDELITY_METRICS
    from simbench.metrics.reference_free import REFERENCE_FREE_METRICS
    from simbench.metrics.resolution import RESOLUTION_METRICS

    return [*FIDELITY_METRICS, *RESOLUTION_METRICS, *ARTEFACT_METRICS, *CONSISTENCY_METRICS, *ACF_METRICS, *AXIAL_METRICS,
            *REFERENCE_FREE_METRICS]

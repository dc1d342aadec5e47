"""Suite ``real``: the user's own raw acquisitions, scored without ground truth.

``simbench run --method M --suite real --suite-opt data_dir=DIR`` reads every dataset of ``DIR``
(one sidecar JSON each: :mod:`simbench.suites.real_data`), gives methods its raw frames with the
stripe pattern estimated from the data (or the sidecar's ``pattern_frequency_per_um``) as the
nominal one, and scores the 2× reconstruction with reference-free metrics only: decorrelation
resolution (clamped at 1/(k_c + k₀)), the SQUIRREL error and correlation against the data's
widefield image, the out-of-band power beyond k_c + k₀, the share of negative lobes and, for
``kind: beads``, the matched-bead FWHM ratio.

Ranking: by decorrelation resolution *and* SQUIRREL error together (mean of the two ranks).
Neither is enough alone: returning the widefield image is perfectly consistent with the data and
resolves nothing; drawing sharp structure the data do not contain (a learned prior) reads as fine
resolution and is inconsistent.  A method ranks first only by being both sharp and consistent.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simbench.errors import EstimationError, SimbenchError
from simbench.suites.base import Suite, SuiteOption
from simbench.suites.real_data import Sidecar, find_sidecars
from simbench.types import MODALITY_HEX2D, MODALITY_SIM2D, HexPattern, Optics, RawStack, Sample, StripePattern

if TYPE_CHECKING:
    from simbench.physics.estimation import CarrierEstimate

#: the size name: every dataset of the folder
SIZE = "full"
#: frames of one hexagonal plane
HEX_STEPS = 7


class RealSuite(Suite):
    name = "real"
    version = "1"
    modality = MODALITY_SIM2D
    description = ("Your raw 2D SIM acquisitions (--suite-opt data_dir=DIR: TIFFs plus one sidecar JSON per "
                   "dataset), scored without ground truth: decorrelation resolution, SQUIRREL consistency with "
                   "the widefield image, out-of-band power, negative lobes, bead FWHM ratio.")
    sizes: ClassVar[dict[str, int]] = {}
    cacheable = False
    metrics: ClassVar[tuple[str, ...]] = ("decorr", "squirrel_rse", "squirrel_rsp", "oob", "negatives",
                                          "bead_fwhm_ratio")
    extra_metrics: ClassVar[tuple[str, ...]] = ()
    primary_metrics: ClassVar[tuple[str, ...]] = ("decorr", "squirrel_rse")
    options = (SuiteOption("data_dir", "folder of raw TIFFs with one sidecar JSON per dataset", ""),)
    #: the reconstruction grid per raw pixel
    upsample: ClassVar[int] = 2

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        folder = self.option_values["data_dir"]
        self.datasets: list[Sidecar] = find_sidecars(Path(folder)) if folder else []
        if folder:
            self.sizes = {SIZE: len(self.datasets)}
            modalities = sorted({d.modality for d in self.datasets})
            if len(modalities) > 1:
                raise SimbenchError(f"{folder}: datasets of several modalities ({', '.join(modalities)}); a run "
                                    "takes one: put each modality in its own folder")
            self.modality = modalities[0]

    def n_samples(self, size: str) -> int:
        if not self.option_values["data_dir"]:
            raise SimbenchError("suite 'real' needs your data: --suite-opt data_dir=DIR (raw TIFFs with one "
                                "sidecar JSON per dataset; see the README)")
        return super().n_samples(size)

    def sample_id(self, index: int) -> str:
        return self.datasets[index].name

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        self.n_samples(size)
        return real_sample(self.datasets[index], self.upsample)


def hex_carriers(frames: np.ndarray, optics: Optics) -> tuple[CarrierEstimate, ...]:
    """The carriers of one hexagonal plane's 7 steps (:func:`simbench.physics.estimate_carriers` on
    the bands of the steps' DFT, indices 1–3: one beam pair each)."""
    from simbench.physics import estimate_carriers

    bands = np.fft.fft(np.asarray(frames, dtype=np.float64), axis=0) / len(frames)
    return estimate_carriers(bands[0].real, bands[1:4], optics)


def _pattern(sidecar: Sidecar, frames: np.ndarray, optics: Optics,
             order: tuple[int, ...]) -> tuple[StripePattern | HexPattern, dict[str, Any]]:
    """The pattern methods are given (the sidecar's frequency, else the one estimated from the data)
    and what the results record of it."""
    from simbench.physics import estimate_stripes, nominal_hex_pattern, nominal_pattern

    hexagonal = sidecar.modality == MODALITY_HEX2D
    nominal = nominal_hex_pattern(optics) if hexagonal else nominal_pattern(optics)
    if sidecar.pattern_frequency_per_um is not None:
        return (dataclasses.replace(nominal, frequency_per_um=sidecar.pattern_frequency_per_um),
                {"source": "sidecar", "frequency_per_um": sidecar.pattern_frequency_per_um})
    try:
        if hexagonal:
            carriers = [math.hypot(*c.k_vector_per_um) for c in hex_carriers(frames, optics)]
            frequency = float(np.mean(carriers))
            return (dataclasses.replace(nominal, frequency_per_um=frequency),
                    {"source": "estimated", "frequency_per_um": frequency, "frequencies_per_um": carriers})
        estimate = estimate_stripes(frames, optics, nominal, order)
    except EstimationError as exc:
        raise SimbenchError(f"{sidecar.path}: no illumination pattern found in the data ({exc}); give "
                            "\"pattern_frequency_per_um\" in the sidecar") from None
    summary = estimate.to_dict()
    return estimate.pattern, {k: summary[k] for k in ("source", "frequency_per_um", "frequency_fraction_of_cutoff",
                                                      "angles_deg", "modulations")}


def real_sample(sidecar: Sidecar, upsample: int) -> Sample:
    """The sample of one dataset: raw frames, optics, the pattern estimated from the data (or the
    sidecar's frequency), no target; the reconstruction grid is ``upsample`` × finer."""
    from simbench.io import read_stack
    from simbench.physics import frame_patterns

    frames, calibrated = read_stack(sidecar.frames)
    order = tuple(range(HEX_STEPS)) if sidecar.modality == MODALITY_HEX2D else frame_patterns(sidecar.frame_order)
    if frames.shape[0] != len(order):
        raise SimbenchError(f"{sidecar.path}: {frames.shape[0]} frames, but {sidecar.modality} needs {len(order)}")
    optics = sidecar.optics(calibrated)
    pattern, described = _pattern(sidecar, frames, optics, order)
    meta = {"kind": sidecar.kind, "files": [p.name for p in sidecar.frames], **sidecar.notes, "pattern": described}
    raw = RawStack(frames=frames, optics=optics, pattern=pattern, frame_patterns=order, modality=sidecar.modality)
    return Sample(id=sidecar.name, raw=raw, target=None, target_pixel_size_nm=optics.pixel_size_nm / upsample,
                  meta=meta)

"""Out-of-band power: output content at frequencies no acquisition of the sample transmits.

A 2-beam SIM acquisition carries object frequencies up to k_c + k₀ only (the detection cut-off
plus the stripe frequency; :func:`simbench.physics.optics.sim_support_per_um`).  Whatever a
reconstruction shows beyond that radius did not come from the data: a learned prior, fixed-pattern
texture, a grid, ringing or aliasing.  The check follows SIMcheck's comparison of a
reconstruction's spectrum with the expected support (Ball et al., Sci. Rep. 5, 15915 (2015)).

``oob`` is the share of the output's power (mean removed, edges tapered as for the FRC) at
|k| > (1 + ``OOB_MARGIN``)·(k_c + k₀), in dB: 10·log10(P_out / P_total).  Lower is better;
an honest linear reconstruction sits near the float32 rounding floor (≈ −110 dB), 1 % of
fixed white texture added to it reads ≈ −41 dB.  The target's own value is recorded as a
reference: a ground-truth scene has content there, which no reconstruction from this
acquisition can know.  ``oob_repeat`` (opt-in, a second reconstruction per sample) takes the
cross power of two reconstructions of independent noise realisations instead: noise beyond the
support averages out, fixed patterns and learned detail do not.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from simbench.metrics.base import Metric, ScoreInput
from simbench.metrics.resolution import FRC_TAPER_FRACTION, edge_taper
from simbench.physics.fourier import half_plane_weights, radial_freq_per_um
from simbench.physics.optics import sample_sim_support_per_um
from simbench.physics.threads import thread_budget

#: the band starts this fraction beyond k_c + k₀: the edge taper spreads each frequency over a
#: few frequency pixels (0.4 cycles/µm at 5 % of the static suites' 8.5 cycles/µm is 7 of them)
OOB_MARGIN = 0.05
#: the lowest value reported (dB): a share of 1e-12, below float32 rounding of the image
OOB_FLOOR_DB = -120.0


def _tapered_spectrum(image: np.ndarray) -> np.ndarray:
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2 or not np.all(np.isfinite(data)):
        raise ValueError(f"out-of-band power needs a finite 2D image; got shape {data.shape}")
    widths = tuple(round(FRC_TAPER_FRACTION * n) for n in data.shape)
    return sfft.rfft2(edge_taper(data, widths), workers=thread_budget())


def out_of_band_share(image: np.ndarray, pixel_size_nm: float, support_per_um: float,
                      margin: float = OOB_MARGIN, repeat: np.ndarray | None = None) -> float:
    """Fraction of the power of the 2D ``image`` (mean removed, edges tapered) at spatial
    frequencies above ``(1 + margin)·support_per_um`` (cycles/µm); 0 for a constant image.
    With ``repeat`` (a reconstruction of an independent noise realisation), the fraction of the
    *cross* power Re(A·B*): the reproducible part (noise averages out, fixed patterns do not)."""
    a = _tapered_spectrum(image)
    b = a if repeat is None else _tapered_spectrum(repeat)
    if a.shape != b.shape:
        raise ValueError(f"image and repeat differ in shape: {np.shape(image)} and {np.shape(repeat)}")
    shape = np.shape(image)
    power = (a.real * b.real + a.imag * b.imag) * half_plane_weights(shape)
    total = float(power.sum())
    if not total > 0:
        return 0.0
    outside = radial_freq_per_um(shape, pixel_size_nm, rfft=True) > (1.0 + margin) * support_per_um
    return max(0.0, float(power[outside].sum()) / total)


def _in_db(share: float) -> float:
    return max(OOB_FLOOR_DB, 10.0 * math.log10(share)) if share > 0 else OOB_FLOOR_DB


def _oob_db(inputs: ScoreInput) -> float:
    if inputs.sample is None:
        raise ValueError("metric 'oob' needs the sample's optics and pattern (ScoreInput.sample)")
    return _in_db(out_of_band_share(inputs.prediction, inputs.pixel_size_nm,
                                    sample_sim_support_per_um(inputs.sample)))


def _oob_repeat_db(inputs: ScoreInput) -> float:
    if inputs.sample is None or inputs.repeat is None:
        raise ValueError("metric 'oob_repeat' needs the sample and the reconstruction of an independent repeat")
    return _in_db(out_of_band_share(inputs.prediction, inputs.pixel_size_nm, sample_sim_support_per_um(inputs.sample),
                                    repeat=inputs.repeat))


ARTEFACT_METRICS: tuple[Metric, ...] = (
    Metric("oob", "lower", _oob_db, unit="dB", on_target=True,
           description="share of the output's power beyond the SIM support (1.05·(k_c + k0)), in dB: "
                       "content no acquisition with this optics and pattern carries"),
    Metric("oob_repeat", "lower", _oob_repeat_db, unit="dB", needs_repeat=True,
           description="share of the cross power of two reconstructions (independent noise) beyond the SIM "
                       "support, in dB: reproducible out-of-band content (fixed patterns, a prior's detail)"),
)

"""Resolution metrics: Fourier ring correlation (FRC) and decorrelation analysis.

FRC (Banterle et al., J. Struct. Biol. 183, 363 (2013); Koho et al., Nat. Commun. 10, 3103
(2019)) compares two images of the same object ring by ring in Fourier space,
``FRC(k) = Re Σ A·B* / sqrt(Σ|A|² Σ|B|²)`` over the ring of radius k.  Between two
*independent* reconstructions (two noise realisations) the resolution is read at the fixed
1/7 threshold; against a known ground truth, at 0.5.

Decorrelation analysis (Descloux, Grußmayer & Radenovic, Nat. Methods 16, 918
(2019)) estimates the resolution of a *single* image: the
image's spectrum is correlated with its own phase-only (normalised) spectrum
restricted to a disc of radius r; the curve d(r) peaks where signal gives way
to noise.  Repeating this after Gaussian high-pass filters of increasing
strength moves the peak outwards; the largest peak radius is the cut-off.

Frequencies are in cycles/µm (``_per_um``) unless called *normalised*: a
fraction of the Nyquist frequency 1/(2·pixel), as in the decorrelation paper.

Honesty rules of the FRC metrics (see docs/metrics.md): a ring where either image has less
than :data:`FRC_POWER_FLOOR` of the mean power density carries no measurable signal and counts
as FRC 0; a curve that never drops below its threshold is flagged ``no_crossing`` (no
resolution can be read: the Nyquist number is recorded, never ranked); a resolution finer than
the SIM transmission limit 1/(k_c + k₀) of the sample's optics and pattern is flagged
``beyond_limit`` and clamped to that limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from simbench.metrics.base import Measurement, Metric, ScoreInput
from simbench.physics.fourier import half_plane_weights, radial_freq_per_um, read_only_cache
from simbench.physics.optics import sim_limit_nm
from simbench.physics.threads import thread_budget
from simbench.types import Sample

#: FRC threshold between two independent noisy reconstructions (the "1/7" criterion of
#: cryo-EM and microscopy practice).
FRC_THRESHOLD_INDEPENDENT = 1.0 / 7.0
#: FRC threshold against a noise-free ground truth.
FRC_THRESHOLD_GROUND_TRUTH = 0.5
#: A ring whose mean power per frequency pixel is below this fraction of the image's mean (DC
#: left out) holds no measurable signal and gets FRC 0: its few remaining bits correlate at
#: random (or perfectly, for deterministic rounding).  Measured on static-suite outputs
#: (power density relative to the mean): float32 rounding beyond Wiener's apodised support
#: sits at 1e-12 – 1e-9; the weakest real content, bicubic-interpolated noise in a widefield
#: image, at 1e-4 – 1e-3, and natural-image targets at ≥ 1e-2.  1e-6 lies between.
FRC_POWER_FLOOR = 1e-6
#: Width of the FRC edge taper at each end, as a fraction of each axis (a Tukey
#: window with α = 0.5): removes the edge discontinuity of the periodic FFT, which
#: both images share and would otherwise correlate at all frequencies.  Measured on
#: band-limited noise (hard cut-off k_c, in-band SNR 30): 1/4 biases the crossing
#: by 3–9 % beyond k_c through spectral leakage, 1/8 by 4–12 %, a full Hann 2–8 %.
FRC_TAPER_FRACTION = 1.0 / 4.0
#: Light smoothing of the FRC curve before the threshold search: binomial
#: [1, 2, 1]/4 over neighbouring rings (rings are 1 frequency pixel wide).
FRC_SMOOTHING_KERNEL = (0.25, 0.5, 0.25)

#: Decorrelation defaults of the paper's reference implementation (ImDecorr):
#: 50 radii in [0, 1] (normalised frequency), 10 high-pass filters, a cosine
#: edge apodisation over 20 pixels, and peaks below an amplitude of 0.05
#: discarded as insignificant.
DECORR_N_RADII = 50
DECORR_N_FILTERS = 10
DECORR_APODISATION_PX = 20
DECORR_MIN_AMPLITUDE = 0.05
#: A local maximum counts only if the curve drops at least this much after it
#: (peak significance against numerical noise, as in the reference code).
DECORR_PEAK_SIGNIFICANCE = 1e-3
#: Strongest high-pass filter: ``1 − exp(−2 g² R²)`` with g = 0.15 (R normalised).
DECORR_G_MIN = 0.15


# --------------------------------------------------------------------------- helpers

def _as_image(image: np.ndarray, name: str, min_size: int = 8) -> np.ndarray:
    """Validate a finite 2D image of at least ``min_size`` px per side; return float64."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"{name} must be a 2D image; got shape {image.shape}")
    if min(image.shape) < min_size:
        raise ValueError(f"{name} must be at least {min_size}×{min_size} px; got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return image


def _check_pixel_size(pixel_size_nm: float) -> float:
    pixel_size_nm = float(pixel_size_nm)
    if not (np.isfinite(pixel_size_nm) and pixel_size_nm > 0):
        raise ValueError(f"pixel_size_nm must be a positive number; got {pixel_size_nm}")
    return pixel_size_nm


def _cosine_edge(n: int, width: int) -> np.ndarray:
    """1D window: a raised-cosine ramp over ``width`` samples at both ends, 1 between."""
    window = np.ones(n)
    width = int(min(max(width, 0), n // 2))
    if width > 0:
        ramp = 0.5 * (1.0 - np.cos(np.pi * (np.arange(width) + 0.5) / width))
        window[:width] = ramp
        window[n - width:] = ramp[::-1]
    return window


def edge_taper(image: np.ndarray, width_px: tuple[int, int]) -> np.ndarray:
    """Mean-subtracted image times a separable raised-cosine edge window (rows, columns ramps)."""
    return (image - image.mean()) * _edge_window(image.shape, tuple(int(w) for w in width_px))


@read_only_cache
def _edge_window(shape: tuple[int, int], width_px: tuple[int, int]) -> np.ndarray:
    return np.outer(_cosine_edge(shape[0], width_px[0]), _cosine_edge(shape[1], width_px[1]))


# --------------------------------------------------------------------------- FRC

def _above_floor(power: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Rings whose mean power per pixel is at least ``FRC_POWER_FLOOR`` of the mean over
    rings 1 … (DC left out)."""
    density = power / np.maximum(pixels, 1)
    mean = power[1:].sum() / max(pixels[1:].sum(), 1)
    return density >= FRC_POWER_FLOOR * mean


def _frc_rings(a: np.ndarray, b: np.ndarray, pixel_size_nm: float,
               taper_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Ring frequencies (cycles/µm) and raw FRC for rings 1 … min(H, W)//2 (ring 0 = DC is left out).

    Rings are 1/min(H, W) cycles/px wide (one frequency pixel of the shorter
    axis), centred on their nominal radius; the last ring is the Nyquist limit
    of the shorter axis.  A ring where either image has no power gets FRC 0.
    """
    shape = a.shape
    widths = tuple(round(taper_fraction * n) for n in shape)
    # half-plane spectra of the real images, each column weighted by the full-plane pixels it stands for
    spec_a = sfft.rfft2(edge_taper(a, widths), workers=thread_budget())
    spec_b = sfft.rfft2(edge_taper(b, widths), workers=thread_budget())
    n_short = min(shape)
    ring_width_per_um = 1e3 / (n_short * pixel_size_nm)
    ring = np.rint(radial_freq_per_um(shape, pixel_size_nm, rfft=True) / ring_width_per_um).astype(np.int64).ravel()
    n_rings = n_short // 2 + 1
    keep = ring < n_rings
    ring, weights = ring[keep], half_plane_weights(shape).ravel()[keep]

    def ring_sums(values: np.ndarray) -> np.ndarray:
        return np.bincount(ring, values.ravel()[keep] * weights, minlength=n_rings)

    cross = ring_sums(spec_a.real * spec_b.real + spec_a.imag * spec_b.imag)
    power_a = ring_sums(spec_a.real**2 + spec_a.imag**2)
    power_b = ring_sums(spec_b.real**2 + spec_b.imag**2)
    pixels = np.bincount(ring, weights, minlength=n_rings)
    measurable = _above_floor(power_a, pixels) & _above_floor(power_b, pixels)
    denominator = np.sqrt(power_a * power_b)
    frc = np.divide(cross, denominator, out=np.zeros(n_rings), where=measurable & (denominator > 0))
    freqs = np.arange(n_rings) * ring_width_per_um
    return freqs[1:], frc[1:]


def frc_curve(a: np.ndarray, b: np.ndarray, pixel_size_nm: float, *,
              taper_fraction: float = FRC_TAPER_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Fourier ring correlation of two images of the same field.

    Each image is mean-subtracted and multiplied by a raised-cosine edge
    window (``taper_fraction`` of each axis at each end) before its FFT.
    Returns ``(frequency_per_um, frc)`` for rings 1 … Nyquist, 1 frequency
    pixel wide; FRC = Re Σ A·B* / sqrt(Σ|A|² Σ|B|²) per ring (unsmoothed; 0 on rings below
    the power floor).
    Raises ValueError for shape mismatch, non-2D, non-finite or tiny images.
    """
    a = _as_image(a, "a")
    b = _as_image(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"FRC needs images of equal shape; got {a.shape} and {b.shape}")
    return _frc_rings(a, b, _check_pixel_size(pixel_size_nm), taper_fraction)


def smooth_curve(values: np.ndarray) -> np.ndarray:
    """Binomial [1, 2, 1]/4 smoothing; the end points average with their one neighbour."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 3:
        return values.copy()
    k0, k1, k2 = FRC_SMOOTHING_KERNEL
    out = np.empty_like(values)
    out[1:-1] = k0 * values[:-2] + k1 * values[1:-1] + k2 * values[2:]
    out[0] = (k1 * values[0] + k2 * values[1]) / (k1 + k2)
    out[-1] = (k0 * values[-2] + k1 * values[-1]) / (k0 + k1)
    return out


def threshold_crossing_per_um(freqs: np.ndarray, curve: np.ndarray, threshold: float) -> float:
    """Frequency of the first drop of ``curve`` below ``threshold``, linearly interpolated.

    If the first ring is already below, that ring's frequency (the coarsest
    measurable); if the curve never drops below, the last frequency (Nyquist).
    """
    below = np.flatnonzero(curve < threshold)
    if below.size == 0:
        return float(freqs[-1])
    i = int(below[0])
    if i == 0:
        return float(freqs[0])
    f0, f1, c0, c1 = freqs[i - 1], freqs[i], curve[i - 1], curve[i]
    return float(f0 + (f1 - f0) * (c0 - threshold) / (c0 - c1))


@dataclass(frozen=True)
class FRCResult:
    """Outcome of :func:`frc_analysis`: the resolution and the curve it was read from."""

    resolution_nm: float
    threshold: float
    pixel_size_nm: float
    frequency_per_um: np.ndarray
    frc: np.ndarray
    frc_smoothed: np.ndarray
    #: False when the smoothed curve never drops below the threshold (``resolution_nm`` is
    #: then the Nyquist limit, a bound of the sampling, not a measured resolution)
    crossed: bool = True


def frc_analysis(a: np.ndarray, b: np.ndarray, pixel_size_nm: float,
                 threshold: float = FRC_THRESHOLD_INDEPENDENT, *,
                 taper_fraction: float = FRC_TAPER_FRACTION) -> FRCResult:
    """FRC curve and resolution; see :func:`frc_resolution_nm` for the definition."""
    if not 0 < threshold < 1:
        raise ValueError(f"FRC threshold must be in (0, 1); got {threshold}")
    a = _as_image(a, "a")
    b = _as_image(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"FRC needs images of equal shape; got {a.shape} and {b.shape}")
    pixel_size_nm = _check_pixel_size(pixel_size_nm)
    freqs, frc = _frc_rings(a, b, pixel_size_nm, taper_fraction)
    smoothed = smooth_curve(frc)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        resolution = float("nan")
    else:
        resolution = 1e3 / threshold_crossing_per_um(freqs, smoothed, threshold)
    return FRCResult(resolution, float(threshold), pixel_size_nm, freqs, frc, smoothed,
                     crossed=bool(np.any(smoothed < threshold)))


def frc_resolution_nm(a: np.ndarray, b: np.ndarray, pixel_size_nm: float,
                      threshold: float = FRC_THRESHOLD_INDEPENDENT, *,
                      taper_fraction: float = FRC_TAPER_FRACTION) -> float:
    """FRC resolution in nm: 1/k at the first crossing of the smoothed FRC below ``threshold``.

    Use 1/7 between two independent reconstructions, 0.5 against ground truth.  The FRC (:func:`frc_curve`) is smoothed with a binomial
    [1, 2, 1]/4 kernel over rings and the crossing interpolated linearly
    between rings.  If the FRC never drops below the threshold, the result is
    the Nyquist limit 2·pixel (``FRCResult.crossed`` is then False: the metrics flag it
    ``no_crossing``); if it is
    below already at the first ring, 1/(first ring) = the field of view.
    NaN only for degenerate input: either image constant (no signal to
    correlate).  Raises ValueError for shape mismatch, non-2D, non-finite or
    tiny images, a threshold outside (0, 1) or a non-positive pixel size.
    """
    return frc_analysis(a, b, pixel_size_nm, threshold, taper_fraction=taper_fraction).resolution_nm


# --------------------------------------------------------------------------- decorrelation

@dataclass(frozen=True)
class DecorrelationResult:
    """Outcome of :func:`decorrelation_analysis`.

    ``cutoff``: the largest significant peak radius k_max (normalised, 1 =
    Nyquist); ``resolution_nm`` = 2·pixel / k_max (NaN if no peak).
    ``amplitude``: A₀, the peak height of the unfiltered curve (an SNR proxy).
    ``radii``/``d0``: the unfiltered decorrelation curve; ``best_radii``/
    ``best_curve``: the curve whose peak gave k_max.
    """

    resolution_nm: float
    cutoff: float
    amplitude: float
    pixel_size_nm: float
    radii: np.ndarray
    d0: np.ndarray
    best_radii: np.ndarray
    best_curve: np.ndarray


class _DecorrelationSpectrum:
    """Spectrum of an apodised image, grouped by radius, for fast d(r) curves.

    With the phase-only spectrum In = I/|I| and the disc mask M_r = [R < r]:
    ``d(r) = Re Σ I_f·conj(In)·M_r / (‖I_f‖ · ‖In·M_r‖)``, where I_f is the
    (high-pass filtered) spectrum and ‖I_f‖ runs over the whole disc R < 1.
    Since Re(I_f·conj(In)) = hp(R)·|I| and |I_f|² = hp(R)²·|I|², only the sums of |I| and |I|²
    over the pixels of each radius are needed: the filters are evaluated once per distinct
    radius (tens of thousands) rather than once per pixel, with the same result.
    """

    def __init__(self, image: np.ndarray) -> None:
        rings = _rings(image.shape)
        magnitude = np.abs(sfft.fft2(image, workers=thread_budget())).ravel()[rings.order]
        self.radius = rings.radius
        self.radius_sq = rings.radius ** 2
        self.magnitude = np.add.reduceat(magnitude, rings.starts)
        self.power = np.add.reduceat(magnitude ** 2, rings.starts)
        self.count = np.cumsum(np.add.reduceat((magnitude > 0).astype(np.int64), rings.starts))

    def curve(self, radii: np.ndarray, g: float | None) -> np.ndarray:
        """d(r) at ``radii`` after the high-pass ``1 − exp(−2 g² R²)`` (None: unfiltered)."""
        high_pass = 1.0 if g is None else -np.expm1(-2.0 * g * g * self.radius_sq)
        norm = math.sqrt(float(np.sum(high_pass * high_pass * self.power)))
        cumulative = np.cumsum(high_pass * self.magnitude)
        n = np.searchsorted(self.radius, radii, side="left")  # radii (groups of pixels) with R < r
        d = np.zeros(len(radii))
        ok = (n > 0) & (norm > 0)
        counts = self.count[n[ok] - 1]
        d[ok] = cumulative[n[ok] - 1] / (norm * np.sqrt(np.maximum(counts, 1)))
        return d


@dataclass(frozen=True)
class _Rings:
    """The FFT pixels inside the disc 0 < R < 1 (R = |k| / Nyquist; DC left out: the mean is removed)
    sorted by R: their flat indices ``order``, the distinct radii ``radius`` and where each radius's
    pixels start in that order, ``starts``."""

    order: np.ndarray
    radius: np.ndarray
    starts: np.ndarray


@lru_cache(maxsize=8)
def _rings(shape: tuple[int, int]) -> _Rings:
    """:class:`_Rings` of an image shape (the same for every image of that shape)."""
    ny = np.fft.fftfreq(shape[0])[:, None] / 0.5
    nx = np.fft.fftfreq(shape[1])[None, :] / 0.5
    radius = np.hypot(ny, nx).ravel()
    inside = np.flatnonzero((radius < 1.0) & (radius > 0))
    order = inside[np.argsort(radius[inside], kind="stable")]
    sorted_radius = radius[order]
    starts = np.flatnonzero(np.r_[True, sorted_radius[1:] != sorted_radius[:-1]])
    return _Rings(order, sorted_radius[starts], starts)


def _local_max(curve: np.ndarray) -> tuple[int, float]:
    """Index and height of the highest significant local maximum of a d(r) curve.

    A point qualifies when the curve falls at least ``DECORR_PEAK_SIGNIFICANCE``
    below it somewhere further out (so a curve still rising at its last
    radius has no peak there).  Returns (0, 0.0) when nothing qualifies.
    """
    later_min = np.minimum.accumulate(curve[::-1])[::-1]
    qualifies = curve - later_min > DECORR_PEAK_SIGNIFICANCE
    if not qualifies.any():
        return 0, 0.0
    candidates = np.where(qualifies, curve, -np.inf)
    index = int(np.argmax(candidates))
    return index, float(curve[index])


def decorrelation_analysis(image: np.ndarray, pixel_size_nm: float, *,
                           n_radii: int = DECORR_N_RADII, n_filters: int = DECORR_N_FILTERS,
                           apodisation_px: int = DECORR_APODISATION_PX) -> DecorrelationResult:
    """Single-image resolution by decorrelation analysis (Descloux et al. 2019).

    Steps (defaults of the reference implementation, see the module constants):

    1. subtract the mean, apodise the edges with a raised cosine over
       ``apodisation_px`` pixels (capped at a quarter of the axis);
    2. Fourier transform; keep the disc R < 1 (R = |k| / Nyquist);
    3. d₀(r) for ``n_radii`` radii in [0, 1]; its highest significant local
       maximum is (r₀, A₀);
    4. d(r) after high-pass filters ``1 − exp(−2 g² R²)`` (equivalent to
       subtracting a real-space Gaussian blur of σ = 2g/π px) with g = N/4
       (N = rows) and ``n_filters`` values log-spaced from 2/r₀ down to 0.15;
       each curve's peak (r_i, A_i);
    5. refinement: ``n_filters`` filters log-spaced between the one giving the
       largest r_i and its stronger neighbour (its weaker one when it is the
       strongest; N and the first filter when the unfiltered curve won), on
       ``n_radii`` radii from that r_i − Δr to r_i + 0.4 (≤ 1);
    6. peaks with amplitude < 0.05 are discarded; k_max = the largest
       remaining r; resolution = 2·pixel / k_max.

    The resolution is NaN when no peak qualifies: a constant image, pure
    noise, or content all the way to the Nyquist limit (then the sampling,
    not the optics, limits the image and the method cannot tell).
    The method assumes noise that is white up to Nyquist (it separates signal
    from noise only by that); on interpolated images (e.g. a bicubic ×2
    widefield) the interpolated noise rolls off before Nyquist and the
    estimate can lock onto that roll-off instead of the optics (measured: 79 nm
    on one static-suite widefield image whose optics limit is 219 nm).
    Deviation from the reference code, documented: the image mean (DC) is
    removed instead of kept, so the result does not depend on an offset;
    frequencies are exact FFT frequencies (no odd-size cropping).
    """
    image = _as_image(image, "image", min_size=16)
    pixel_size_nm = _check_pixel_size(pixel_size_nm)
    if n_radii < 10 or n_filters < 2:
        raise ValueError("decorrelation analysis needs n_radii >= 10 and n_filters >= 2")
    width = min(int(apodisation_px), min(image.shape) // 4)
    spectrum = _DecorrelationSpectrum(edge_taper(image, (width, width)))

    radii0 = np.linspace(0.0, 1.0, n_radii)
    d0 = spectrum.curve(radii0, None)
    i0, amplitude0 = _local_max(d0)
    r0 = radii0[i0]
    peaks: list[tuple[float, float, np.ndarray, np.ndarray]] = [(r0, amplitude0, radii0, d0)]

    g_max = 2.0 / r0 if r0 > 0 else max(image.shape) / 2.0
    filters = np.concatenate([[image.shape[0] / 4.0], np.geomspace(g_max, DECORR_G_MIN, n_filters)])
    first_pass = []
    for g in filters:
        d = spectrum.curve(radii0, g)
        i, amplitude = _local_max(d)
        first_pass.append((radii0[i], amplitude, radii0, d))
    peaks.extend(first_pass)

    # refinement around the highest peak radius of the first pass (0 = unfiltered, j+1 = filters[j])
    valid = [p[0] if p[1] >= DECORR_MIN_AMPLITUDE else 0.0 for p in peaks]
    best = len(valid) - 1 - int(np.argmax(valid[::-1]))  # the last (strongest filter) among ties
    if best == 0:
        g_lo, g_hi = float(image.shape[0]), filters[0]
    else:
        j = best - 1
        g_lo, g_hi = (filters[j], filters[j + 1]) if j + 1 < len(filters) else (filters[j - 1], filters[j])
    r_best = peaks[best][0]
    step = radii0[1] - radii0[0]
    radii1 = np.linspace(max(r_best - step, 0.0), min(r_best + 0.4, 1.0), n_radii)
    for g in np.geomspace(g_lo, g_hi, n_filters):
        d = spectrum.curve(radii1, g)
        i, amplitude = _local_max(d)
        peaks.append((radii1[i], amplitude, radii1, d))

    significant = [p for p in peaks if p[1] >= DECORR_MIN_AMPLITUDE and p[0] > 0]
    if not significant:
        return DecorrelationResult(float("nan"), 0.0, amplitude0, pixel_size_nm, radii0, d0, radii0, d0)
    cutoff, _, best_radii, best_curve = max(significant, key=lambda p: p[0])
    return DecorrelationResult(resolution_nm=2.0 * pixel_size_nm / cutoff, cutoff=float(cutoff),
                               amplitude=amplitude0, pixel_size_nm=pixel_size_nm, radii=radii0, d0=d0,
                               best_radii=best_radii, best_curve=best_curve)


def decorrelation_resolution_nm(image: np.ndarray, pixel_size_nm: float) -> float:
    """Resolution (nm) of one image by decorrelation analysis: 2·pixel / k_max.

    NaN when the image shows no significant decorrelation peak (see
    :func:`decorrelation_analysis`).
    """
    return decorrelation_analysis(image, pixel_size_nm).resolution_nm


# --------------------------------------------------------------------------- metrics

def frc_measurement(result: FRCResult, sample: Sample | None) -> Measurement:
    """An FRC resolution as a metric value: flagged ``no_crossing`` when the curve never
    crossed; clamped to the SIM transmission limit of ``sample`` (when given) and flagged
    ``beyond_limit`` when finer."""
    if not result.crossed:
        return Measurement(result.resolution_nm, ("no_crossing",))
    if sample is not None:
        limit = sim_limit_nm(sample)
        if result.resolution_nm < limit:
            return Measurement(limit, ("beyond_limit",))
    return Measurement(result.resolution_nm)


def _frc_between_repeats(inputs: ScoreInput) -> Measurement:
    if inputs.repeat is None:
        raise ValueError("metric 'frc' needs the reconstruction of an independent repeat (ScoreInput.repeat)")
    result = frc_analysis(inputs.prediction, inputs.repeat, inputs.pixel_size_nm, FRC_THRESHOLD_INDEPENDENT)
    return frc_measurement(result, inputs.sample)


def _frc_against_target(inputs: ScoreInput) -> Measurement:
    result = frc_analysis(inputs.prediction, inputs.target, inputs.pixel_size_nm, FRC_THRESHOLD_GROUND_TRUTH)
    return frc_measurement(result, inputs.sample)


def _decorrelation(inputs: ScoreInput) -> Measurement:
    """Flagged ``unreliable`` without a significant peak; with the sample known, clamped to its SIM
    transmission limit and flagged ``beyond_limit`` when finer (as the FRC metrics)."""
    value = decorrelation_resolution_nm(inputs.prediction, inputs.pixel_size_nm)
    if not math.isfinite(value):
        return Measurement(value, ("unreliable",))
    if inputs.sample is not None and value < sim_limit_nm(inputs.sample):
        return Measurement(sim_limit_nm(inputs.sample), ("beyond_limit",))
    return Measurement(value)


RESOLUTION_METRICS: tuple[Metric, ...] = (
    Metric("frc", "lower", _frc_between_repeats, unit="nm", needs_repeat=True,
           description="FRC resolution between reconstructions of two independent noise realisations (1/7 "
                       "threshold): reproducibility, not correctness; flagged no_crossing / beyond_limit"),
    Metric("frc_gt", "lower", _frc_against_target, unit="nm",
           description="FRC resolution of the reconstruction against the ground truth (0.5 threshold); "
                       "flagged no_crossing / beyond_limit (clamped at the SIM limit 1/(k_c + k0))"),
    Metric("decorr", "lower", _decorrelation, unit="nm",
           description="Single-image resolution by decorrelation analysis (Descloux et al. 2019); flagged "
                       "unreliable without a peak, beyond_limit (clamped at 1/(k_c + k0)) when finer"),
)

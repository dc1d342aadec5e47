"""Resolution (FWHM) of an image or volume from its autocorrelation function (ACF).

Following Veatch et al. (PLoS ONE 7, e31457 (2012)): the ACF of an image of point-like emitters is
the autocorrelation of single PSFs (narrow) plus cross-correlations of neighbours
(broad).  The ACF of a Gaussian of width σ is a Gaussian of width σ√2, so the PSF
FWHM along an axis is the FWHM of the narrow component of the central ACF profile
along that axis divided by √2.

How, for each axis a (none of the reference implementation's defects):

* The volume's mean is subtracted and it is zero-padded to 2N along a, so the
  correlation is linear, not circular.
* The central profile (zero lag along the other axes) is ``Σ_other P`` transformed
  back along a, where ``P`` is the power spectrum: by Parseval this is the power of
  the 1D FFTs along a summed over all lines, so nothing is padded along the other
  axes.  Each lag τ is divided by its overlap N − |τ| (an unbiased estimate).
* Lags are integer samples times the voxel size (no interpolation, no (N−1)/N
  mis-scaling); every axis is measured, x and y separately, on any shape.
* Lag 0 is left out of the fit: white noise (Poisson, read noise) adds a spike
  there and nowhere else.
* One Gaussian plus an offset, and two Gaussians with a common centre plus an
  offset, are fitted to lags 1 … N/2; the two-Gaussian model is kept only when
  the Bayesian information criterion prefers it (no absolute amplitude threshold),
  and its narrower component is the single-PSF term.  Widths are bounded by the
  fitted lag range only.
* Every width comes with a per-sample uncertainty (a block jackknife over slabs of the
  volume) and is flagged ``unreliable`` when the fit cannot separate the PSF from noise or
  structure (:func:`reliability_problems`): a large uncertainty (low signal), a narrow term
  outweighed by the broad one (dense structure, e.g. a grating plane), or a narrow term as
  wide as the lags it is fitted on (a dense cloud read as one blob).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.fft as sfft

from simbench.metrics.base import Measurement, Metric, ScoreInput
from simbench.physics.threads import map_threads, thread_budget, threaded_map

#: FWHM of a Gaussian in units of its σ: 2√(2 ln 2)
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: the fewest samples along an axis the ACF can be fitted on (lags 1 … 4)
MIN_AXIS_SAMPLES = 8
#: narrowest ACF component fitted, in samples (a PSF σ of 0.7 samples: FWHM 1.7, below Nyquist)
MIN_ACF_SIGMA_SAMPLES = 1.0
#: the broad component is at least this much wider than the narrow one (else they are one)
BROAD_MIN_RATIO = 2.0
BROAD_MAX_RATIO = 50.0
#: a two-Gaussian fit counts only if its narrow term is at least this share of both amplitudes:
#: a weaker one fits noise or a truncated edge, and the single PSF is then the one Gaussian
NARROW_MIN_SHARE = 0.25
#: lines transformed at once (bounds memory on 512² × 120 volumes)
_CHUNK_VALUES = 1 << 22
#: the fit covers at least this many initial σ of the ACF (the narrow term down to ≈ 1 %)
FIT_MIN_SIGMAS = 3.0
#: the per-sample uncertainty is a block jackknife: the volume's lines along the axis in this many
#: contiguous slabs, the width refitted with each slab left out
JACKKNIFE_BLOCKS = 8
#: a width whose jackknife uncertainty exceeds this fraction of it is flagged unreliable.  Measured
#: on 20 Gaussian blobs with 2 photons/voxel background: at 300 photons per blob ±7 – 65 % (errors
#: −39 to +23 %), at 3000 photons ±0.3 – 1.3 % (errors ≤ 1.1 %); on axial chromatin targets
#: (137 loci) the lateral width is known to ±3 – 4 %, a widefield's to ±10 – 14 %
MAX_RELATIVE_UNCERTAINTY = 0.05
#: a two-Gaussian fit whose narrow (single-PSF) term holds less than this share of both amplitudes
#: is dominated by the structure (neighbours, the cloud) and flagged unreliable
RELIABLE_NARROW_SHARE = 0.5
_AXIS_NAMES_3D = ("z", "y", "x")


@dataclass(frozen=True)
class AxisFit:
    """The ACF fit along one axis; widths in nm, amplitudes relative to the lag-1 ACF."""

    fwhm_nm: float
    narrow_sigma_nm: float
    broad_sigma_nm: float | None
    narrow_amplitude: float
    broad_amplitude: float | None
    offset: float
    #: 1 or 2 Gaussian components kept by the information criterion
    components: int
    #: the largest lag fitted, nm
    fitted_range_nm: float = math.nan
    #: one standard deviation of ``fwhm_nm`` (block jackknife, :func:`measure_axis`); NaN if not estimated
    uncertainty_nm: float = math.nan
    #: why the width cannot be trusted (empty when it can): see :func:`reliability_problems`
    problems: tuple[str, ...] = ()


def acf_profile(volume: np.ndarray, axis: int) -> np.ndarray:
    """Linear autocorrelation of the mean-subtracted ``volume`` along ``axis`` at zero lag
    on the other axes, for lags 0 … N−1 samples, per voxel (not divided by the overlap N − τ)."""
    return acf_block_profiles(volume, axis, 1)[0]


def acf_block_profiles(volume: np.ndarray, axis: int, n_blocks: int) -> np.ndarray:
    """:func:`acf_profile` split into the contributions of ``n_blocks`` contiguous blocks of the
    lines along ``axis`` (slabs of the volume across the first other axis); shape (n_blocks, N),
    summing to the whole profile.  Fewer blocks when there are fewer slabs.  The lines are read
    from the volume a few slabs at a time (no copy of the volume) and transformed in the volume's
    own precision (float32 for float32 data, else float64); their powers are summed in float64.
    The blocks are worked on in parallel (:func:`threaded_map`), each summed in the same order
    as alone: the profile does not depend on the thread count."""
    data = np.asarray(volume)
    precision = np.float32 if data.dtype == np.float32 else np.float64
    mean = data.mean(dtype=np.float64)  # a float64 scalar: the subtraction below runs in float64
    moved = np.moveaxis(data, axis, -1)
    n = moved.shape[-1]
    slabs = moved.reshape(moved.shape[0], -1, n)  # (first other axis, lines in a slab, n): a view
    blocks = list(itertools.pairwise(np.linspace(0, len(slabs), min(n_blocks, len(slabs)) + 1).astype(int)))
    step = max(1, _CHUNK_VALUES // (slabs.shape[1] * n))
    workers = max(1, thread_budget() // map_threads(len(blocks), values=data.size))  # FFT threads per block thread

    def block_power(bounds: tuple[int, int]) -> np.ndarray:
        first, last = bounds
        power = np.zeros(n + 1)  # rfft of length 2n has n + 1 frequencies
        padded = np.zeros((min(step, last - first), slabs.shape[1], 2 * n), dtype=precision)  # 2n: linear
        for start in range(first, last, step):
            lines = padded[:min(step, last - start)]
            np.subtract(slabs[start:start + len(lines)], mean, out=lines[..., :n])
            squares = sfft.rfft(lines, axis=-1, workers=workers).view(precision)  # (re, im) pairs
            np.square(squares, out=squares)
            pairs = squares.reshape(-1, 2 * (n + 1)).sum(axis=0, dtype=np.float64)
            power += pairs.reshape(n + 1, 2).sum(axis=1)
        return power

    powers = threaded_map(block_power, blocks, values=data.size)
    correlation = sfft.irfft(np.array(powers), n=2 * n, axis=-1)[:, :n]
    return correlation / data.size


def _model(params: np.ndarray, lags: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``c·window + a1·exp(−τ²/2s1²) [+ a2·exp(−τ²/2(r·s1)²)]`` for params ``(c, a1, s1[, a2, r])``."""
    c, a1, s1 = params[:3]
    model = c * window + a1 * np.exp(-0.5 * (lags / s1) ** 2)
    if params.size == 5:
        model += params[3] * np.exp(-0.5 * (lags / (params[4] * s1)) ** 2)
    return model


def _fit(lags: np.ndarray, values: np.ndarray, window: np.ndarray, starts: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Best least-squares fit over several starts; returns parameters and residual sum of squares.
    The narrow amplitude is ≥ 0; the broad one may be negative (anti-correlation of neighbours
    that exclude each other, once the mean is subtracted)."""
    from scipy.optimize import least_squares  # here: scipy.optimize takes ~0.5 s to import, and most runs fit nothing

    lower = np.array([-np.inf, 0.0, MIN_ACF_SIGMA_SAMPLES, -np.inf, BROAD_MIN_RATIO])[:starts[0].size]
    upper = np.array([np.inf, np.inf, float(lags[-1]), np.inf, BROAD_MAX_RATIO])[:starts[0].size]
    best, best_rss = starts[0], np.inf
    for start in starts:
        result = least_squares(lambda p: _model(p, lags, window) - values, np.clip(start, lower, upper),
                               bounds=(lower, upper), x_scale="jac")
        rss = float(np.sum(result.fun**2))
        if rss < best_rss:
            best, best_rss = result.x, rss
    return best, best_rss


def _half_width_guess(values: np.ndarray) -> float:
    """σ (samples) of a Gaussian crossing half of its lag-1 height (above the tail) where the profile does."""
    tail = values[-1]
    below = np.nonzero(values - tail < 0.5 * (values[0] - tail))[0]
    half = float(below[0] + 1) if below.size else float(values.size)
    return max(half / math.sqrt(2.0 * math.log(2.0)), 1.0)


def _fit_range(values: np.ndarray, sigma_guess: float) -> int:
    """Lags fitted: up to where the smoothed profile first rises again (the next neighbours'
    correlation peak, which a Gaussian centred at zero cannot describe), but at least
    ``FIT_MIN_SIGMAS`` initial widths and at most N/2."""
    smooth = np.convolve(values, [0.25, 0.5, 0.25], mode="same")
    first = min(math.ceil(FIT_MIN_SIGMAS * sigma_guess), values.size - 1)
    rising = np.nonzero(np.diff(smooth[first - 1:-1]) > 0)[0]
    return first + int(rising[0]) if rising.size else values.size


def _fit_data(profile: np.ndarray, n_fit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Lags 1 … n_fit of ``profile`` relative to lag 1, with the lags, the triangular overlap
    window and the initial σ guess (samples); ``n_fit`` from :func:`_fit_range` unless given."""
    values = profile[1:profile.size // 2 + 1] / abs(profile[1])
    s0 = _half_width_guess(values)
    n_fit = _fit_range(values, s0) if n_fit is None else n_fit
    lags = np.arange(1, n_fit + 1, dtype=np.float64)
    return values[:n_fit], lags, 1.0 - lags / profile.size, s0


def _select_model(profile: np.ndarray) -> np.ndarray:
    """Parameters of the model the information criterion keeps for a valid ``profile``."""
    values, lags, window, s0 = _fit_data(profile)
    candidates = [_fit(lags, values, window, [np.array([values[-1], 1.0, s0])])]
    if lags.size > 5:  # two Gaussians and an offset need more lags than parameters
        starts = [np.array([values[-1], 1.0 - a, s0 * f, a, r]) for a, f, r in
                  ((0.3, 1.0, 3.0), (0.3, 0.7, 2.0), (0.2, 0.9, 6.0), (-0.1, 1.0, 2.0))]
        two = _fit(lags, values, window, starts)
        if two[0][1] >= NARROW_MIN_SHARE * (two[0][1] + abs(two[0][3])):
            candidates.append(two)
    floor = 1e-12 * float(np.sum(values**2))  # exact fits are ties, not infinitely good

    def bic(candidate: tuple[np.ndarray, float]) -> float:
        params, rss = candidate
        return lags.size * math.log(max(rss, floor) / lags.size) + params.size * math.log(lags.size)

    return min(candidates, key=bic)[0]


def _fwhm_nm(narrow_sigma_samples: float, spacing_nm: float) -> float:
    """PSF FWHM (nm) from the narrow ACF σ (samples): the ACF of a Gaussian is √2 wider."""
    return float(FWHM_PER_SIGMA * narrow_sigma_samples / math.sqrt(2.0) * spacing_nm)


def fit_axis(profile: np.ndarray, spacing_nm: float) -> AxisFit:
    """Fit one central ACF profile (lags 0 … N−1 samples) and return the PSF FWHM along it."""
    if not (abs(profile[1]) > 0 and np.all(np.isfinite(profile))):
        nan = float("nan")
        return AxisFit(nan, nan, None, nan, None, nan, 0, problems=("no signal",))
    params = _select_model(profile)
    a_narrow, s_narrow = params[1:3]
    broad = (params[3], params[4] * s_narrow) if params.size == 5 else None
    return AxisFit(
        fwhm_nm=_fwhm_nm(s_narrow, spacing_nm),
        narrow_sigma_nm=float(s_narrow * spacing_nm),
        broad_sigma_nm=None if broad is None else float(broad[1] * spacing_nm),
        narrow_amplitude=float(a_narrow),
        broad_amplitude=None if broad is None else float(broad[0]),
        offset=float(params[0]),
        components=1 if broad is None else 2,
        fitted_range_nm=float(_fit_data(profile)[1].size * spacing_nm),
    )


def _refit_fwhm_nm(profile: np.ndarray, fit: AxisFit, spacing_nm: float) -> float:
    """The FWHM of ``profile`` by the model of ``fit`` on its lags, started from its parameters."""
    n_fit = round(fit.fitted_range_nm / spacing_nm)
    values, lags, window, _ = _fit_data(profile, n_fit)
    start = [fit.offset, fit.narrow_amplitude, fit.narrow_sigma_nm / spacing_nm]
    if fit.broad_sigma_nm is not None:
        start += [fit.broad_amplitude, fit.broad_sigma_nm / fit.narrow_sigma_nm]
    return _fwhm_nm(_fit(lags, values, window, [np.array(start)])[0][2], spacing_nm)


def reliability_problems(fit: AxisFit) -> tuple[str, ...]:
    """Why ``fit`` cannot separate the PSF width from structure or noise (empty: it can).

    * ``uncertain``: the jackknife uncertainty exceeds ``MAX_RELATIVE_UNCERTAINTY`` of the width
      (low signal, or too few structures for a stable ACF);
    * ``structure dominates``: the narrow term holds less than ``RELIABLE_NARROW_SHARE`` of the
      two amplitudes (dense neighbours or a continuous object, e.g. a grating plane's texture);
    * ``truncated``: the narrow term does not decay within the lags the fit could use
      (``FIT_MIN_SIGMAS`` widths): its width is comparable to the structure, e.g. a dense cloud
      measured as one blob.
    """
    if not math.isfinite(fit.fwhm_nm):
        return ("no signal",)
    problems = []
    if not fit.uncertainty_nm <= MAX_RELATIVE_UNCERTAINTY * fit.fwhm_nm:
        problems.append("uncertain")
    if fit.broad_amplitude is not None and fit.narrow_amplitude < RELIABLE_NARROW_SHARE * (
            fit.narrow_amplitude + abs(fit.broad_amplitude)):
        problems.append("structure dominates")
    if FIT_MIN_SIGMAS * fit.narrow_sigma_nm > fit.fitted_range_nm:
        problems.append("truncated")
    return tuple(problems)


def measure_axis(data: np.ndarray, axis: int, spacing_nm: float) -> AxisFit:
    """:func:`fit_axis` of the whole volume's profile along ``axis``, with its block-jackknife
    uncertainty (``JACKKNIFE_BLOCKS`` slabs, each left out once) and :func:`reliability_problems`."""
    blocks = acf_block_profiles(data, axis, JACKKNIFE_BLOCKS)
    whole = blocks.sum(axis=0)
    fit = fit_axis(whole, spacing_nm)
    uncertainty = math.nan
    if math.isfinite(fit.fwhm_nm) and len(blocks) > 1:
        partial = np.array([_refit_fwhm_nm(whole - block, fit, spacing_nm) for block in blocks])
        g = len(blocks)
        uncertainty = float(math.sqrt((g - 1) / g * np.sum((partial - partial.mean()) ** 2)))
    fit = dataclasses.replace(fit, uncertainty_nm=uncertainty)
    return dataclasses.replace(fit, problems=reliability_problems(fit))


def _check(volume: np.ndarray, voxel_nm: tuple[float, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    data = np.asarray(volume)
    if data.ndim not in (2, 3):
        raise ValueError(f"ACF-FWHM needs a 2D image (y, x) or a volume (z, y, x); got shape {data.shape}")
    names = _AXIS_NAMES_3D[-data.ndim:]
    if len(voxel_nm) != data.ndim:
        raise ValueError(f"voxel_nm needs one size per axis ({', '.join(names)}); got {tuple(voxel_nm)}")
    for name, size in zip(names, voxel_nm):
        if not (isinstance(size, (int, float, np.floating)) and math.isfinite(size) and size > 0):
            raise ValueError(f"voxel size along {name} must be a positive number of nm; got {size!r}")
    for name, n in zip(names, data.shape):
        if n < MIN_AXIS_SAMPLES:
            raise ValueError(f"ACF-FWHM needs at least {MIN_AXIS_SAMPLES} samples along {name}; got {n}")
    if not np.issubdtype(data.dtype, np.number) or not np.all(np.isfinite(data)):
        raise ValueError("ACF-FWHM needs finite numbers (the volume contains NaN, inf or non-numbers)")
    return data, names


def acf_fwhm(volume: np.ndarray, voxel_nm: tuple[float, ...]) -> dict:
    """PSF FWHM in nm along every axis of an image or volume, from its autocorrelation.

    ``volume``: (z, y, x) or (y, x); ``voxel_nm``: the sample spacing along those axes,
    in the same order (nm).  Returns ``{"x": nm, "y": nm, "z": nm (volumes only),
    "fits": {axis: AxisFit as a dict}}`` (with each width's uncertainty and reliability
    problems); a constant input gives NaN widths.
    """
    data, names = _check(volume, tuple(voxel_nm))
    fits = {name: measure_axis(data, axis, float(voxel_nm[axis])) for axis, name in enumerate(names)}
    result: dict = {name: fits[name].fwhm_nm for name in reversed(names)}
    result["fits"] = {name: asdict(fits[name]) for name in reversed(names)}
    return result


def _fwhm_metric(axis_name: str) -> Callable[[ScoreInput], Measurement]:
    """The FWHM along one axis of ``inputs.prediction`` (2D (y, x) or 3D (z, y, x)); the lateral
    pixel is ``inputs.pixel_size_nm`` and the z step ``inputs.sample.target_z_step_nm``."""

    def fwhm(inputs: ScoreInput) -> Measurement:
        image = np.asarray(inputs.prediction)
        names = _AXIS_NAMES_3D[-image.ndim:] if image.ndim in (2, 3) else ()
        if axis_name not in names:
            raise ValueError(f"fwhm_{axis_name} needs an image with a {axis_name} axis; got shape {image.shape}")
        z_step = getattr(inputs.sample, "target_z_step_nm", None)
        if image.ndim == 3 and z_step is None:
            raise ValueError("fwhm needs the volume's z step (ScoreInput.sample.target_z_step_nm)")
        voxel = ((z_step,) if image.ndim == 3 else ()) + (inputs.pixel_size_nm, inputs.pixel_size_nm)
        data, _ = _check(image, voxel)
        axis = names.index(axis_name)
        fit = measure_axis(data, axis, float(voxel[axis]))
        return Measurement(fit.fwhm_nm, ("unreliable",) if fit.problems else (), fit.uncertainty_nm)

    return fwhm


ACF_METRICS: tuple[Metric, ...] = tuple(
    Metric(f"fwhm_{name}", "target", _fwhm_metric(name), unit="nm", on_target=True,
           description=f"PSF FWHM along {name} from the autocorrelation (two-Gaussian fit; Veatch et al. 2012), "
                       "with a jackknife uncertainty, flagged unreliable when the fit cannot separate the width "
                       "from structure or noise; closeness to the target's own FWHM")
    for name in ("x", "y", "z"))

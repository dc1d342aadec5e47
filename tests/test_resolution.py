"""Resolution metrics (FRC, decorrelation analysis) against theory, and their honesty rules."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from simbench.metrics.base import ScoreInput
from simbench.metrics.resolution import (
    FRC_THRESHOLD_GROUND_TRUTH,
    FRC_THRESHOLD_INDEPENDENT,
    RESOLUTION_METRICS,
    decorrelation_analysis,
    decorrelation_resolution_nm,
    frc_analysis,
    frc_curve,
    frc_resolution_nm,
)
from simbench.physics import otf2d, otf_profile, sim_limit_nm
from simbench.testing import mock_sample
from simbench.types import Optics

from conftest import SHARED_DATA

PIXEL_NM = 30.0


def band_limited_noise(shape: tuple[int, int], cutoff_per_px: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise low-passed with a hard circular cut-off (cycles/px), unit per-frequency power."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    spectrum = np.fft.fft2(rng.standard_normal(shape)) * (np.hypot(fy, fx) < cutoff_per_px)
    return np.real(np.fft.ifft2(spectrum))


def two_realisations(signal: np.ndarray, noise_sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return (signal + noise_sigma * rng.standard_normal(signal.shape),
            signal + noise_sigma * rng.standard_normal(signal.shape))


# --------------------------------------------------------------------------- FRC

@pytest.mark.parametrize("cutoff_per_px", [0.15, 0.25, 0.35])
@pytest.mark.parametrize("periodic", [True, False])
def test_frc_recovers_hard_band_limit(cutoff_per_px: float, periodic: bool) -> None:
    """Two noise realisations of an image band-limited at k_c: FRC = S/(S+N) inside, 0 outside,
    so the 1/7 crossing is at k_c.  Non-periodic crops exercise the edge taper."""
    rng = np.random.default_rng(int(cutoff_per_px * 100) + periodic)
    shape = (256, 256)
    field = band_limited_noise(shape if periodic else (384, 384), cutoff_per_px, rng)
    signal = field[:256, :256]
    # noise per frequency = signal power per in-band frequency / 4: FRC ≈ 0.8 in band
    per_frequency_signal = signal.var() / (np.pi * cutoff_per_px**2)
    a, b = two_realisations(signal, math.sqrt(per_frequency_signal / 4), rng)
    expected_nm = PIXEL_NM / cutoff_per_px
    assert frc_resolution_nm(a, b, PIXEL_NM) == pytest.approx(expected_nm, rel=0.10)
    freqs, frc = frc_curve(a, b, PIXEL_NM)
    inside = freqs < 0.8 * cutoff_per_px * 1e3 / PIXEL_NM
    outside = freqs > 1.2 * cutoff_per_px * 1e3 / PIXEL_NM
    assert np.median(frc[inside]) == pytest.approx(0.8, abs=0.05)
    assert abs(np.median(frc[outside])) < 0.05


def test_frc_of_identical_images_is_one_and_nyquist_limited() -> None:
    image = np.random.default_rng(0).random((128, 96))
    freqs, frc = frc_curve(image, image, PIXEL_NM)
    assert np.allclose(frc, 1.0, atol=1e-9)
    assert freqs[-1] == pytest.approx(1e3 / (2 * PIXEL_NM))  # the last ring is Nyquist (shorter axis)
    assert frc_resolution_nm(image, image, PIXEL_NM) == pytest.approx(2 * PIXEL_NM)
    assert not frc_analysis(image, image, PIXEL_NM).crossed  # Nyquist is a bound, not a reading


def test_frc_of_independent_noise_is_zero_and_coarse() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 256, 256))
    _, frc = frc_curve(a, b, PIXEL_NM)
    # zero mean, and the spread of a sum over n ≈ 2π·i random pixel pairs in ring i: σ = 1/√n
    ring = np.arange(1, frc.size + 1)
    assert abs(frc[10:].mean()) < 0.03
    assert 0.8 < np.sqrt(np.mean(frc[10:] ** 2 * 2 * np.pi * ring[10:])) < 1.4
    # the first crossing is among the first few rings: tens of pixels, not a real resolution
    assert frc_resolution_nm(a, b, PIXEL_NM) > 40 * PIXEL_NM


def test_frc_threshold_monotonic_and_pixel_scaling() -> None:
    """A Gaussian-shaped spectrum G(k) (unit white noise filtered) plus white noise σ in both
    images: FRC(k) = G²/(G² + σ²), so the 0.5 crossing is at G² = σ² and the 1/7 crossing at
    G² = σ²/6 (finer).  Doubling the pixel size doubles every length."""
    rng = np.random.default_rng(2)
    shape, width, sigma = (256, 256), 0.12, 0.05
    fy, fx = np.fft.fftfreq(256)[:, None], np.fft.fftfreq(256)[None, :]
    gain = np.exp(-np.hypot(fy, fx) ** 2 / (2 * width**2))
    signal = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) * gain))
    a, b = two_realisations(signal, sigma, rng)

    def crossing_nm(frc_value: float) -> float:  # G(k)² = σ²·F/(1 − F)
        k = width * math.sqrt(-math.log(sigma**2 * frc_value / (1 - frc_value)))
        return PIXEL_NM / k

    strict = frc_resolution_nm(a, b, PIXEL_NM, threshold=FRC_THRESHOLD_GROUND_TRUTH)
    loose = frc_resolution_nm(a, b, PIXEL_NM, threshold=FRC_THRESHOLD_INDEPENDENT)
    assert strict == pytest.approx(crossing_nm(FRC_THRESHOLD_GROUND_TRUTH), rel=0.05)
    assert loose == pytest.approx(crossing_nm(FRC_THRESHOLD_INDEPENDENT), rel=0.05)
    assert strict > 1.08 * loose
    assert frc_resolution_nm(a, b, 2 * PIXEL_NM) == pytest.approx(2 * loose, rel=1e-9)


def test_frc_degenerate_and_invalid_inputs() -> None:
    image = np.random.default_rng(3).random((64, 64))
    assert math.isnan(frc_resolution_nm(np.ones((64, 64)), image, PIXEL_NM))
    with pytest.raises(ValueError, match="equal shape"):
        frc_resolution_nm(image, image[:, :60], PIXEL_NM)
    with pytest.raises(ValueError, match="2D"):
        frc_resolution_nm(image[None], image[None], PIXEL_NM)
    with pytest.raises(ValueError, match="threshold"):
        frc_resolution_nm(image, image, PIXEL_NM, threshold=1.5)
    with pytest.raises(ValueError, match="pixel_size_nm"):
        frc_resolution_nm(image, image, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        frc_resolution_nm(np.where(image > 0.5, np.nan, image), image, PIXEL_NM)


# --------------------------------------------------------------------------- decorrelation

def otf_limited_image(n: int, optics: Optics, noise_rel: float, rng: np.random.Generator) -> np.ndarray:
    """A uniform random (white-spectrum) object blurred by the analytic OTF, plus white noise."""
    obj = rng.random((n, n))
    blurred = np.real(np.fft.ifft2(np.fft.fft2(obj) * otf2d((n, n), optics.pixel_size_nm, optics)))
    return blurred + noise_rel * blurred.std() * rng.standard_normal((n, n))


def decorrelation_peak_theory() -> float:
    """Where the method's strongest (∝ R²) high-pass puts the d(r) peak for a white object seen
    through the incoherent OTF, in units of k_c: d(r) ∝ ∫₀^r a(v) v dv / r with a(v) = OTF(v)·v²,
    maximal where a(r)·r² = ∫₀^r a v dv (the ring amplitude equals half the disc mean)."""
    def slope(r: float) -> float:
        v = np.linspace(0.0, r, 4001)
        return otf_profile(np.array(r)) * r**4 - np.trapezoid(otf_profile(v) * v**3, v)

    return brentq(slope, 0.5, 0.999)


@pytest.mark.parametrize("cutoff_fraction_of_nyquist", [0.3, 0.573])
def test_decorrelation_recovers_otf_band_limit(cutoff_fraction_of_nyquist: float) -> None:
    """OTF-limited image with mild noise: decorrelation resolution vs λ/(2NA).

    The method's own theory puts its estimate at k ≈ 0.88·k_c for an incoherent OTF (the spectrum
    vanishes smoothly at k_c), i.e. ≈ 13 % coarser than λ/(2NA): the estimate must match that
    prediction within 5 %, lie within 15 % of λ/(2NA), and never be finer than the band limit.
    """
    rng = np.random.default_rng(4)
    na, wavelength = 1.2, 525.0
    pixel = cutoff_fraction_of_nyquist * wavelength / (4 * na)  # k_c = fraction · 1/(2·pixel)
    optics = Optics(na=na, wavelength_nm=wavelength, refractive_index=1.33, pixel_size_nm=pixel)
    image = otf_limited_image(256, optics, noise_rel=0.02, rng=rng)
    result = decorrelation_analysis(image, pixel)
    band_limit_nm = wavelength / (2 * na)
    predicted_nm = band_limit_nm / decorrelation_peak_theory()
    assert result.resolution_nm == pytest.approx(predicted_nm, rel=0.05)
    assert 0.98 * band_limit_nm <= result.resolution_nm <= 1.15 * band_limit_nm
    assert result.amplitude > 0.5  # high-SNR image: a strong unfiltered peak
    assert result.cutoff == pytest.approx(2 * pixel / result.resolution_nm)


def test_decorrelation_pixel_scaling_and_degenerate_input() -> None:
    rng = np.random.default_rng(5)
    optics = Optics(na=1.2, wavelength_nm=525.0, refractive_index=1.33, pixel_size_nm=40.0)
    image = otf_limited_image(128, optics, noise_rel=0.05, rng=rng)
    base = decorrelation_resolution_nm(image, 40.0)
    assert np.isfinite(base)
    assert decorrelation_resolution_nm(image, 80.0) == pytest.approx(2 * base, rel=1e-9)
    # a constant image and pure white noise have no decorrelation peak
    assert math.isnan(decorrelation_resolution_nm(np.full((64, 64), 3.0), 40.0))
    assert math.isnan(decorrelation_resolution_nm(rng.standard_normal((128, 128)), 40.0))
    with pytest.raises(ValueError, match="2D"):
        decorrelation_resolution_nm(image[None], 40.0)


def test_decorrelation_on_reference_test_image() -> None:
    """The ImDecorr test image (510², 15.34 nm/px, microtubules, NA 1.4): report the value."""
    path = SHARED_DATA / "decorr-test-image" / "test_image.tif"
    if not path.is_file():
        pytest.skip(f"reference image not available: {path} is absent")
    from simbench.io import read_image

    image, pixel = read_image(path)
    assert pixel == pytest.approx(15.34, rel=1e-3)
    result = decorrelation_analysis(image, pixel)
    print(f"decorrelation resolution of the ImDecorr test image: {result.resolution_nm:.1f} nm "
          f"(k_max {result.cutoff:.3f} × Nyquist, A0 {result.amplitude:.3f})")
    # a real, well-sampled image: a finite resolution between Nyquist and the field of view
    assert 2 * pixel < result.resolution_nm < 50 * pixel
    assert 0.05 < result.amplitude < 1


# --------------------------------------------------------------------------- metric objects

def test_resolution_metric_objects() -> None:
    metrics = {m.name: m for m in RESOLUTION_METRICS}
    assert set(metrics) == {"frc", "frc_gt", "decorr"}
    for metric in metrics.values():
        assert metric.direction == "lower" and metric.unit == "nm" and metric.description
    assert metrics["frc"].needs_repeat and not metrics["frc_gt"].needs_repeat and not metrics["decorr"].needs_repeat

    rng = np.random.default_rng(6)
    pixel = 31.3
    optics = Optics(na=1.2, wavelength_nm=525.0, refractive_index=1.33, pixel_size_nm=pixel)
    target = rng.random((128, 128))
    blurred = np.real(np.fft.ifft2(np.fft.fft2(target) * otf2d(target.shape, pixel, optics)))
    noise_sigma = 0.1 * target.std()  # object and noise both white: per-frequency SNR = OTF²·100
    prediction = blurred + noise_sigma * rng.standard_normal(target.shape)
    repeat = blurred + noise_sigma * rng.standard_normal(target.shape)
    inputs = ScoreInput(prediction=prediction, target=target, pixel_size_nm=pixel, repeat=repeat)

    # against the truth, FRC = 1/sqrt(1 + N/(OTF²·S)) = 0.5 where OTF² = (N/S)/3;
    # between repeats, FRC = OTF²S/(OTF²S + N) = 1/7 where OTF² = (N/S)/6
    def radius_where_otf_squared(value: float) -> float:
        v = brentq(lambda u: otf_profile(np.array(u)) ** 2 - value, 0.0, 1.0)
        return 1e3 / (v * optics.cutoff_per_um)

    assert metrics["frc_gt"](inputs) == pytest.approx(radius_where_otf_squared(0.01 / 3), rel=0.10)
    assert metrics["frc"](inputs) == pytest.approx(radius_where_otf_squared(0.01 / 6), rel=0.10)
    assert np.isfinite(metrics["decorr"](inputs))
    with pytest.raises(ValueError, match="repeat"):
        metrics["frc"](ScoreInput(prediction=prediction, target=target, pixel_size_nm=pixel))


# --------------------------------------------------------------------------- honesty: floor, no crossing, limit

def _low_passed(image: np.ndarray, cutoff_per_px: float) -> np.ndarray:
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(image) * (np.hypot(fy, fx) < cutoff_per_px)))


@pytest.mark.parametrize("texture_rel, crossed", [(1e-6, True), (1e-2, False)])
def test_frc_power_floor_and_fixed_texture(texture_rel: float, crossed: bool) -> None:
    """Two repeats band-limited at 0.2 cycles/px share a fixed white texture.  At 1e-6 of the
    image's amplitude (power density ~1e-11 of the mean) its rings are below the power floor and
    count as FRC 0, so the crossing stays at the band limit (without the floor these perfectly
    correlated rings would never cross); at 1 % it is real, reproducible
    content: the curve never crosses and the metric says so instead of showing Nyquist."""
    rng = np.random.default_rng(11)
    field = band_limited_noise((256, 256), 0.2, rng)
    texture = texture_rel * field.std() * rng.standard_normal(field.shape)
    noise = [0.1 * field.std() * _low_passed(rng.standard_normal(field.shape), 0.2) for _ in range(2)]
    a, b = (field + n + texture for n in noise)
    result = frc_analysis(a, b, PIXEL_NM, FRC_THRESHOLD_INDEPENDENT)
    assert result.crossed is crossed
    metric = {m.name: m for m in RESOLUTION_METRICS}["frc"]
    measured = metric.measure(ScoreInput(a, a, PIXEL_NM, repeat=b))
    if crossed:
        # at the band limit, up to the few rings the edge taper's leakage spreads it over
        assert measured.flags == () and PIXEL_NM / 0.26 < measured.value <= PIXEL_NM / 0.2
    else:
        assert measured.flags == ("no_crossing",) and not measured.valid
        assert measured.value == pytest.approx(2 * PIXEL_NM)


def test_frc_gt_no_crossing_and_sim_limit() -> None:
    """On a 2D SIM sample: the target against itself never crosses (flagged, invalid); a
    prediction that matches the target up to 0.9 × Nyquist (finer than k_c + k0 transmits) is
    clamped to the SIM limit 1/(k_c + k0) and flagged beyond_limit; a widefield-like one is not."""
    sample = mock_sample()
    pixel, limit = sample.target_pixel_size_nm, sim_limit_nm(sample)
    assert limit == pytest.approx(1e3 / (sample.raw.optics.cutoff_per_um
                                         + sample.truth["pattern"]["frequency_per_um"]))
    metric = {m.name: m for m in RESOLUTION_METRICS}["frc_gt"]

    def measure(prediction: np.ndarray):
        return metric.measure(ScoreInput(prediction, sample.target, pixel, sample=sample))

    itself = measure(sample.target)
    assert itself.flags == ("no_crossing",) and not itself.valid
    sharp = measure(_low_passed(sample.target, 0.45))
    assert sharp.flags == ("beyond_limit",) and sharp.valid and sharp.value == pytest.approx(limit)
    widefield_cutoff = sample.raw.optics.cutoff_per_um * pixel * 1e-3  # cycles/px
    blurred = measure(_low_passed(sample.target, widefield_cutoff))
    assert blurred.flags == () and blurred.value > 1.5 * limit

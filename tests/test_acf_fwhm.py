"""ACF-FWHM on Gaussian blobs of known σ (also at low signal), axial dip/contrast, 3D fidelity metrics."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from simbench.metrics.acf import (
    ACF_METRICS,
    FIT_MIN_SIGMAS,
    FWHM_PER_SIGMA,
    MAX_RELATIVE_UNCERTAINTY,
    acf_fwhm,
    acf_profile,
    fit_axis,
    measure_axis,
)
from simbench.metrics.axial import grating_contrast, two_point_dip
from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.metrics.fidelity import mse, ssim

SHAPE = (96, 128, 128)
VOXEL_NM = (120.0, 50.0, 40.0)  # z, y, x: anisotropic, so a mis-scaled axis shows


def render(shape: tuple[int, ...], sigmas: tuple[float, ...], centres: np.ndarray) -> np.ndarray:
    """Sum of separable Gaussian blobs (σ in samples) at continuous centres."""
    volume = np.zeros(shape)
    for centre in centres:
        profiles = [np.exp(-0.5 * ((np.arange(n) - c) / s) ** 2) for n, c, s in zip(shape, centre, sigmas)]
        volume += math.prod(np.ix_(*profiles))
    return volume


def separated(shape: tuple[int, ...], sigmas: tuple[float, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random centres, ≥ 3σ from the edges and ≥ 6σ (in σ units per axis) from each other."""
    sig, centres = np.asarray(sigmas), []
    while len(centres) < n:
        c = rng.uniform(3 * sig, np.asarray(shape) - 3 * sig)
        if all(np.linalg.norm((c - o) / sig) >= 6.0 for o in centres):
            centres.append(c)
    return np.array(centres)


def ratios(result: dict, sigmas: tuple[float, ...], names: str = "zyx") -> np.ndarray:
    """Measured FWHM / (2.355 σ) per axis."""
    return np.array([result[a] / (FWHM_PER_SIGMA * s * v) for a, s, v in zip(names, sigmas, VOXEL_NM[-len(names):])])


# FWHM in samples per axis (z, y, x): from ≈ 2.5 samples up to 1/8 of the axis
ISOLATED = [(2.5, 2.5, 3.0), (6.0, 8.0, 5.0), (SHAPE[0] / 8, SHAPE[1] / 8, SHAPE[2] / 8), (12.0, 3.0, 16.0)]


@pytest.mark.parametrize("fwhm_px", ISOLATED)
def test_isolated_blob_fwhm_within_2_percent(fwhm_px) -> None:
    sigmas = tuple(f / FWHM_PER_SIGMA for f in fwhm_px)
    centre = np.array(SHAPE) / 2 + np.array([0.3, -0.2, 0.45])  # off-grid
    result = acf_fwhm(render(SHAPE, sigmas, [centre]), VOXEL_NM)
    np.testing.assert_allclose(ratios(result, sigmas), 1.0, atol=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fwhm_fraction", [1 / 16, 1 / 12])
def test_crowded_blobs_fwhm_within_2_percent(seed: int, fwhm_fraction: float) -> None:
    """27 blobs of FWHM up to 1/12 of each axis, ≥ 2.5 FWHM apart: neighbours' cross-correlation
    must not bias the narrow component."""
    sigmas = tuple(n * fwhm_fraction / FWHM_PER_SIGMA for n in SHAPE)
    rng = np.random.default_rng(seed)
    result = acf_fwhm(render(SHAPE, sigmas, separated(SHAPE, sigmas, 27, rng)), VOXEL_NM)
    np.testing.assert_allclose(ratios(result, sigmas), 1.0, atol=0.02)


def central_line_terms(shape: tuple[int, ...], sigmas: tuple[float, ...], centres: np.ndarray,
                       axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``acf_profile(render(shape, sigmas, centres), axis)`` split exactly into three sums (lags 0 … N−1,
    per voxel): every blob with itself, every blob with every other one, and what the subtracted mean adds.
    The blobs are separable, so each term is a product of 1D sums across the other axes and a 1D
    correlation along ``axis``."""
    blobs = [[np.exp(-0.5 * ((np.arange(n) - c) / s) ** 2) for n, c, s in zip(shape, centre, sigmas)]
             for centre in centres]
    n, voxels, ones = shape[axis], math.prod(shape), np.ones(shape[axis])
    other = [b for b in range(len(shape)) if b != axis]

    def correlate(first: np.ndarray, second: np.ndarray) -> np.ndarray:  # Σ_t first(t)·second(t + τ), τ ≥ 0
        return np.correlate(second, first, mode="full")[n - 1:]

    mean = sum(math.prod(line.sum() for line in blob) for blob in blobs) / voxels
    own, cross = np.zeros(n), np.zeros(n)
    from_mean = mean**2 * math.prod(shape[b] for b in other) * correlate(ones, ones)
    for i, p in enumerate(blobs):
        across = math.prod(p[b].sum() for b in other)
        from_mean -= mean * across * (correlate(p[axis], ones) + correlate(ones, p[axis]))
        for j, q in enumerate(blobs):
            term = math.prod(p[b] @ q[b] for b in other) * correlate(p[axis], q[axis])
            if i == j:
                own += term
            else:
                cross += term
    return own / voxels, cross / voxels, from_mean / voxels


def test_crowding_at_one_eighth_is_limited_by_the_neighbours_cross_correlation() -> None:
    """Why crowded blobs of FWHM 1/8 of the axis are not measured to 2 % (1/12 is, above).

    Dense enough: 25 exclusion spheres of radius 3σ (blobs ≥ 6σ apart) fill 42 % of a box 8 FWHM
    = 18.8σ on a side, more than random sequential placement ever reaches (jamming at ≈ 38 %),
    so ≥ 25 such blobs at 1/8 sit close to the 3 × 3 × 3 lattice of pitch 8/3 FWHM = 6.3σ used here.

    The central ACF line along an axis is exactly (checked below) the blobs' own autocorrelations, a
    Gaussian of width σ_acf = √2·σ at lag 0 (the narrow term, whose width is the answer), plus each
    pair's cross-correlation, a Gaussian of the SAME width σ_acf centred at the pair's separation
    along the axis and weighted by exp(−Δ⊥²/4σ²) for the separation across it, plus what the
    subtracted mean adds (a broad, curved term).  Neighbours on a line along the axis (Δ⊥ ≈ 0) put a
    peak two thirds as high as the narrow term at 4.4 σ_acf; its flank reaches back into the lags where the
    narrow term is fitted: at 2 σ_acf it is ≈ 20 % of the self term, and it overtakes the self term at
    ≈ 2.4 σ_acf, inside the FIT_MIN_SIGMAS = 3 σ_acf the narrow term needs to decay to ≈ 1 %.  A
    shifted copy of the narrow Gaussian is not a broad Gaussian centred at zero, and on the line alone
    nothing tells it from the PSF's own tail, so the two-Gaussian fit reads it as a wider PSF (+17 to
    +21 %), while the same fit of the self term alone is exact.  For the 1/16 configuration of the
    crowded test the flank is ≈ 1 % of the self term at 2 σ_acf (1/12: up to 5 %, error ≈ 1–3 %).

    Changing the estimator to cut the fit at the dip before a neighbour peak (the fix this would need)
    moves values on real volumes: the two-point confocal target's own axial ACF has such a peak
    (its two emitters), as do HexSim reconstructions (side lobes), so committed axial results would
    change (by up to +98 % on an axial/twopoint quick target); the estimator is kept as it is.
    """
    sigmas = tuple(n / 8 / FWHM_PER_SIGMA for n in SHAPE)
    assert 25 * 4 / 3 * math.pi * 3.0**3 / (8 * FWHM_PER_SIGMA) ** 3 > 0.383
    grid = np.stack(np.meshgrid(*[np.arange(3) + 0.5] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    centres = grid * np.array(SHAPE) / 3 + np.array([0.3, -0.2, 0.45])
    volume = render(SHAPE, sigmas, centres)
    rng = np.random.default_rng(0)  # the 1/16 configuration of test_crowded_blobs_fwhm_within_2_percent[seed 0]
    sparse_sigmas = tuple(n / 16 / FWHM_PER_SIGMA for n in SHAPE)
    sparse_centres = separated(SHAPE, sparse_sigmas, 27, rng)
    for axis in range(3):
        own, cross, from_mean = central_line_terms(SHAPE, sigmas, centres, axis)
        profile = acf_profile(volume, axis)
        np.testing.assert_allclose(own + cross + from_mean, profile, rtol=0, atol=1e-9 * profile[0])
        acf_sigma = math.sqrt(2.0) * sigmas[axis]
        lag = round(2 * acf_sigma)
        assert cross[lag] > 0.15 * own[lag]
        overtaken = 1 + np.nonzero(cross[1:] > own[1:])[0][0]
        assert overtaken < FIT_MIN_SIGMAS * acf_sigma
        truth = FWHM_PER_SIGMA * sigmas[axis]
        assert fit_axis(own, 1.0).fwhm_nm == pytest.approx(truth, rel=0.02)
        assert fit_axis(profile, 1.0).fwhm_nm > 1.10 * truth

        own, cross, _ = central_line_terms(SHAPE, sparse_sigmas, sparse_centres, axis)
        lag = round(2 * math.sqrt(2.0) * sparse_sigmas[axis])
        assert cross[lag] < 0.02 * own[lag]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crowded_anisotropic_blobs_within_2_percent(seed: int) -> None:
    sigmas = (3.4, 1.5, 4.53)  # FWHM 8, 3.5 and 10.7 samples
    rng = np.random.default_rng(seed)
    result = acf_fwhm(render(SHAPE, sigmas, separated(SHAPE, sigmas, 27, rng)), VOXEL_NM)
    np.testing.assert_allclose(ratios(result, sigmas), 1.0, atol=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_200_photons_per_blob_within_5_percent(seed: int) -> None:
    """Shot noise adds a spike at zero lag only; the fit leaves lag 0 out."""
    sigmas = (1.7, 1.7, 1.7)
    rng = np.random.default_rng(seed)
    clean = render(SHAPE, sigmas, separated(SHAPE, sigmas, 60, rng))
    counts = rng.poisson(clean * (200.0 * 60 / clean.sum()))
    result = acf_fwhm(counts, VOXEL_NM)
    np.testing.assert_allclose(ratios(result, sigmas), 1.0, atol=0.05)


def test_zero_lag_noise_spike_would_collapse_a_naive_fit() -> None:
    """The noisy ACF's lag 0 stands far above lag 1 (the spike the fit must leave out)."""
    from simbench.metrics.acf import acf_profile

    rng = np.random.default_rng(4)
    clean = render(SHAPE, (1.7, 1.7, 1.7), separated(SHAPE, (1.7, 1.7, 1.7), 60, rng))
    profile = acf_profile(rng.poisson(clean * (200.0 * 60 / clean.sum())), axis=2)
    assert profile[0] > 2 * profile[1]


def test_2d_image_gives_x_and_y_only() -> None:
    sigmas = (2.0, 3.0)
    rng = np.random.default_rng(5)
    image = render((256, 256), sigmas, separated((256, 256), sigmas, 30, rng))
    result = acf_fwhm(image, (50.0, 40.0))
    assert set(result) == {"x", "y", "fits"}
    assert result["y"] == pytest.approx(FWHM_PER_SIGMA * 2.0 * 50.0, rel=0.02)
    assert result["x"] == pytest.approx(FWHM_PER_SIGMA * 3.0 * 40.0, rel=0.02)


def test_linear_not_circular_correlation() -> None:
    """A blob cut by the volume's edge must not correlate with the opposite edge: a circular
    ACF of a blob at z = 0 would see a second copy across the boundary."""
    sigmas = (3.0, 3.0, 3.0)
    volume = render((32, 64, 64), sigmas, [np.array([1.0, 32.0, 32.0]), np.array([30.0, 32.0, 32.0])])
    from simbench.metrics.acf import acf_profile

    profile = acf_profile(volume, axis=0)
    assert profile[29] > 0.3 * profile[1]  # the two blobs, 29 planes apart
    assert profile[3] < 0.6 * profile[1]  # no wrap-around copy at 32 − 29 = 3 planes


@pytest.mark.parametrize("bad, match", [
    (np.zeros((1, 64, 64)), "at least 8 samples along z"),
    (np.full((16, 16, 16), np.nan), "NaN"),
    (np.zeros((4, 4, 4, 4)), "2D image"),
])
def test_bad_volumes_are_rejected(bad, match) -> None:
    with pytest.raises(ValueError, match=match):
        acf_fwhm(bad, (100.0, 50.0, 50.0)[-min(bad.ndim, 3):])


def test_bad_voxel_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="one size per axis"):
        acf_fwhm(np.zeros((16, 16, 16)), (50.0, 50.0))
    with pytest.raises(ValueError, match="positive"):
        acf_fwhm(np.zeros((16, 16, 16)), (0.0, 50.0, 50.0))


def test_constant_volume_gives_nan() -> None:
    assert math.isnan(acf_fwhm(np.ones((16, 16, 16)), (1.0, 1.0, 1.0))["z"])


def test_fwhm_metrics_read_z_step_from_the_sample(registry) -> None:
    sigmas = (4.0, 2.0, 2.0)
    rng = np.random.default_rng(6)
    volume = render((48, 64, 64), sigmas, separated((48, 64, 64), sigmas, 10, rng))
    inputs = ScoreInput(volume, volume, 50.0, sample=SimpleNamespace(target_z_step_nm=120.0))
    scores = {m.name: registry.metric(m.name)(inputs) for m in ACF_METRICS}
    assert scores["fwhm_z"] == pytest.approx(FWHM_PER_SIGMA * 4.0 * 120.0, rel=0.02)
    assert scores["fwhm_x"] == pytest.approx(FWHM_PER_SIGMA * 2.0 * 50.0, rel=0.02)
    assert all(registry.metric(m.name).direction == "target" and m.unit == "nm" for m in ACF_METRICS)
    with pytest.raises(ValueError, match="z step"):
        registry.metric("fwhm_z")(ScoreInput(volume, volume, 50.0))
    with pytest.raises(ValueError, match="z axis"):
        registry.metric("fwhm_z")(ScoreInput(volume[0], volume[0], 50.0))


# ------------------------------------------------------------------ low signal: within 5 % or flagged

POISSON_SHAPE = (48, 96, 96)
POISSON_FWHM_PX = (3.0, 4.0, 5.0)


def _poisson_blobs(photons_per_blob: float, background: float, seed: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """20 separated Gaussian blobs of ``photons_per_blob`` expected photons each on a uniform
    ``background`` (photons/voxel), Poisson-sampled; returns the volume and the σ per axis."""
    sigmas = tuple(f / FWHM_PER_SIGMA for f in POISSON_FWHM_PX)
    rng = np.random.default_rng(seed)
    clean = render(POISSON_SHAPE, sigmas, separated(POISSON_SHAPE, sigmas, 20, rng))
    expected = clean * (photons_per_blob * 20 / clean.sum()) + background
    return rng.poisson(expected).astype(np.float64), sigmas


@pytest.mark.parametrize("photons, seeds", [(300.0, (0, 1, 2)), (3000.0, (0, 1))])
def test_low_signal_fwhm_is_within_5_percent_or_flagged(registry, photons: float, seeds: tuple[int, ...]) -> None:
    """Blobs of known size with Poisson noise and 2 photons/voxel background: at 300 photons per
    blob the fit is off by up to ±40 %, and every such width is flagged unreliable with a large
    uncertainty; at 3000 photons the widths are within 5 %, unflagged, with an uncertainty that
    covers the error.  Never a confident number that is off."""
    flagged = 0
    for seed in seeds:
        volume, sigmas = _poisson_blobs(photons, 2.0, seed)
        sample = SimpleNamespace(target_z_step_nm=VOXEL_NM[0])
        for axis, (name, sigma, voxel) in enumerate(zip("zyx", sigmas, VOXEL_NM)):
            fit = measure_axis(volume, axis, voxel)
            error = fit.fwhm_nm / (FWHM_PER_SIGMA * sigma * voxel) - 1.0
            assert fit.problems or abs(error) <= 0.05, (photons, seed, name, error, fit)
            flagged += bool(fit.problems)
            if fit.problems:
                assert fit.uncertainty_nm > MAX_RELATIVE_UNCERTAINTY * fit.fwhm_nm or "uncertain" not in fit.problems
            else:
                assert abs(error) * fit.fwhm_nm <= 3 * fit.uncertainty_nm + 0.01 * fit.fwhm_nm
            if seed == seeds[0]:  # the metric (one lateral pixel size: y's) carries the same flag and uncertainty
                measured = registry.metric(f"fwhm_{name}").measure(ScoreInput(volume, volume, VOXEL_NM[1],
                                                                              sample=sample))
                spacing = VOXEL_NM[0] if name == "z" else VOXEL_NM[1]
                assert measured.value == pytest.approx(fit.fwhm_nm * spacing / voxel)
                assert ("unreliable" in measured.flags) == bool(fit.problems)
                assert math.isfinite(measured.uncertainty)
    assert flagged == (3 * len(seeds) if photons == 300.0 else 0)


def test_dense_cloud_is_flagged_not_read_as_resolution() -> None:
    """Blobs packed into a ball (a sphere-cloud sample in miniature): the fit reads the cloud, 3 – 6×
    the blob width, and says so (the flag names why) instead of reporting a resolution."""
    shape, sigma = (48, 64, 64), 1.5
    rng = np.random.default_rng(0)
    for n in (300, 3000):
        directions = rng.normal(size=(n, 3))
        radii = 12.0 * rng.uniform(0.0, 1.0, (n, 1)) ** (1 / 3)
        centres = np.array(shape) / 2 + directions / np.linalg.norm(directions, axis=1)[:, None] * radii
        result = acf_fwhm(render(shape, (sigma,) * 3, centres), (100.0, 100.0, 100.0))
        for axis in "zyx":
            assert result[axis] > 2.0 * FWHM_PER_SIGMA * sigma * 100.0
            assert result["fits"][axis]["problems"], (n, axis)


# ------------------------------------------------------------------ axial test objects

def _gaussian_profile(z: np.ndarray, centres: list[float], fwhm: float) -> np.ndarray:
    sigma = fwhm / FWHM_PER_SIGMA
    return sum(np.exp(-0.5 * ((z - c) / sigma) ** 2) for c in centres)


def test_two_point_dip_matches_sum_of_gaussians() -> None:
    """Two Gaussians of FWHM w at separation d: I_mid/I_peak has a closed form."""
    z = np.arange(0.0, 4000.0, 10.0)
    w, d = 800.0, 900.0
    sigma = w / FWHM_PER_SIGMA
    g = lambda t: np.exp(-0.5 * (t / sigma) ** 2)
    expected = 100 * (1 - 2 * g(d / 2) / (1 + g(d)))
    dip = two_point_dip(_gaussian_profile(z, [1550.0, 2450.0], w), z, (1550.0, 2450.0))
    assert dip == pytest.approx(expected, abs=0.5)
    # unresolved: the profile peaks between the points, a negative raw dip (the metric clips it to 0)
    assert two_point_dip(_gaussian_profile(z, [1800.0, 2200.0], w), z, (1800.0, 2200.0)) < 0.0


def test_grating_contrast_matches_closed_form_and_rises_with_separation() -> None:
    z = np.arange(0.0, 10000.0, 10.0)
    w = 800.0
    g = lambda t: np.exp(-0.5 * (t * FWHM_PER_SIGMA / w) ** 2)
    contrasts = []
    for s in (600, 900, 1200, 2000):
        planes = np.array([5000.0 - s, 5000.0, 5000.0 + s])
        contrasts.append(grating_contrast(_gaussian_profile(z, list(planes), w), z, planes))
        peak = (2 * (1 + g(s) + g(2 * s)) + (1 + 2 * g(s))) / 3  # two outer planes and the middle one
        valley = 2 * g(s / 2) + g(3 * s / 2)
        expected = (peak - valley) / (peak + valley)
        if expected > 0.05:  # resolved: peaks at the planes, valleys midway
            assert contrasts[-1] == pytest.approx(expected, abs=0.01)
    assert all(np.diff(contrasts) > 0)


def test_axial_functions_reject_bad_input() -> None:
    z = np.arange(10.0)
    with pytest.raises(ValueError, match="same length"):
        two_point_dip(np.ones(5), z, (2.0, 5.0))
    with pytest.raises(ValueError, match="inside"):
        grating_contrast(np.ones(10), z, np.array([2.0, 50.0]))


# ------------------------------------------------------------------ fidelity on volumes

def test_mse_and_ssim_work_on_volumes() -> None:
    rng = np.random.default_rng(7)
    target = render((24, 32, 32), (2.0, 2.0, 2.0), rng.uniform(4, 20, size=(8, 3)))
    config = MetricConfig()
    assert ssim(target, target, config) == pytest.approx(1.0)
    assert mse(target, target, config) == pytest.approx(0.0, abs=1e-20)
    noisy = target + 0.05 * target.max() * rng.standard_normal(target.shape)
    assert 0 < ssim(noisy, target, config) < 0.99
    # least squares shrinks the noisy prediction by var_t / (var_t + σ²): the residual is σ²·var_t / (var_t + σ²)
    low, high = np.percentile(target, [config.percentile_low, config.percentile_high])
    var_t, noise = target.var() / (high - low) ** 2, (0.05 * target.max() / (high - low)) ** 2
    assert mse(noisy, target, config) == pytest.approx(noise * var_t / (var_t + noise), rel=0.1)

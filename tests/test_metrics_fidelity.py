"""Fidelity metrics checked against closed-form expectations (SCIENCE.md §2)."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.metrics.fidelity import FIDELITY_METRICS, mse, prepare, psnr, ssim, structural_similarity, support

NORMALISED = MetricConfig()
PAPER = MetricConfig(convention="paper")
METRIC_FUNCTIONS = (psnr, ssim, mse)


def smooth_image(shape: tuple[int, ...] = (64, 64), seed: int = 0) -> np.ndarray:
    """A positive, smooth, structured test image (sum of Gaussian blobs)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    image = np.full(shape, 0.1)
    for _ in range(12):
        centre = rng.uniform(0, shape)
        width = rng.uniform(2.0, 8.0)
        radius2 = sum((g - c) ** 2 for g, c in zip(grids, centre))
        image += rng.uniform(0.2, 1.0) * np.exp(-radius2 / (2 * width**2))
    return image


def self_normalised(image: np.ndarray, config: MetricConfig = NORMALISED) -> np.ndarray:
    """Rescale so the metric's percentile normalisation is the identity."""
    low, high = np.percentile(image, [config.percentile_low, config.percentile_high])
    return (image - low) / (high - low)


def noisy(image: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    return image + np.random.default_rng(seed).normal(0.0, sigma, image.shape)


def gaussian_ssim_by_hand(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """Wang et al. SSIM: 11×11 Gaussian window (σ 1.5), population moments, valid region."""
    taps = np.arange(-5, 6, dtype=np.float64)
    g = np.exp(-taps**2 / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def local_mean(image: np.ndarray) -> np.ndarray:
        return np.einsum("ijkl,kl->ij", sliding_window_view(image, window.shape), window)

    mx, my = local_mean(x), local_mean(y)
    vx, vy = local_mean(x * x) - mx**2, local_mean(y * y) - my**2
    cxy = local_mean(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(ssim_map.mean())


def test_psnr_of_gaussian_noise_matches_theory() -> None:
    target = self_normalised(smooth_image((128, 128)))
    sigma = 0.01
    data_range = target.max() - target.min()
    expected = 10 * np.log10(data_range**2 / sigma**2)
    assert psnr(noisy(target, sigma), target, NORMALISED) == pytest.approx(expected, abs=0.1)


def test_normalisation_is_identity_on_self_normalised_target() -> None:
    target = self_normalised(smooth_image())
    _, target_n, data_range = prepare(target, target, NORMALISED)
    np.testing.assert_allclose(target_n, target, atol=1e-12)
    assert data_range == pytest.approx(target.max() - target.min())


@pytest.mark.parametrize("metric", METRIC_FUNCTIONS)
@pytest.mark.parametrize("scale, offset", [(3.7, 12.0), (0.02, -5.0), (-1.5, 2.0)])
def test_normalised_is_invariant_to_affine_prediction(metric, scale: float, offset: float) -> None:
    target = smooth_image()
    prediction = noisy(target, 0.05)
    reference = metric(prediction, target, NORMALISED)
    assert metric(scale * prediction + offset, target, NORMALISED) == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize("metric", METRIC_FUNCTIONS)
@pytest.mark.parametrize("scale, offset", [(250.0, 100.0), (1e-3, -0.4)])
def test_normalised_is_invariant_to_affine_target(metric, scale: float, offset: float) -> None:
    target = smooth_image()
    prediction = noisy(target, 0.05)
    reference = metric(prediction, target, NORMALISED)
    assert metric(prediction, scale * target + offset, NORMALISED) == pytest.approx(reference, rel=1e-6)


def test_least_squares_fit_is_optimal() -> None:
    target = smooth_image()
    prediction = 4.0 * np.tanh(noisy(target, 0.1)) + 2.0  # nonlinear: the fit cannot be exact
    fitted, target_n, _ = prepare(prediction, target, NORMALISED)
    best = np.mean((fitted - target_n) ** 2)
    prediction_n = self_normalised(prediction)  # any affine copy spans the same fits
    for delta in (1e-3, -1e-3):
        assert np.mean((fitted + delta - target_n) ** 2) > best  # offset perturbed
        assert np.mean((fitted + delta * prediction_n - target_n) ** 2) > best  # scale perturbed


@pytest.mark.parametrize("config", [NORMALISED, PAPER], ids=["normalised", "paper"])
def test_identical_images_are_perfect(config: MetricConfig) -> None:
    target = 500.0 * smooth_image() + 30.0
    assert ssim(target, target, config) == pytest.approx(1.0, abs=1e-12)
    assert mse(target, target, config) == 0.0
    assert psnr(target, target, config) == float("inf")


@pytest.mark.parametrize("config", [NORMALISED, PAPER], ids=["normalised", "paper"])
def test_ssim_decreases_monotonically_with_noise(config: MetricConfig) -> None:
    target = self_normalised(smooth_image())
    scores = [ssim(noisy(target, sigma), target, config) for sigma in (0.005, 0.02, 0.05, 0.1, 0.3, 1.0)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores


@pytest.mark.parametrize("config", [NORMALISED, PAPER], ids=["normalised", "paper"])
def test_ssim_of_independent_noise_is_near_zero(config: MetricConfig) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(2, 128, 128))
    assert abs(ssim(a, b, config)) < 0.1


def test_ssim_matches_hand_written_formula() -> None:
    rng = np.random.default_rng(3)
    target = rng.uniform(size=(24, 20))
    prediction = target + rng.normal(0.0, 0.2, target.shape)
    pred_p, target_p, data_range = prepare(prediction, target, NORMALISED)
    expected = gaussian_ssim_by_hand(pred_p, target_p, data_range)
    assert ssim(prediction, target, NORMALISED) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("shape", [(64, 80), (512, 384), (12, 13, 14), (21, 30, 19), (50, 150, 200)])
def test_ssim_equals_skimage_on_random_images(shape: tuple[int, ...]) -> None:
    """Our tiled SSIM is scikit-image's Gaussian SSIM (Wang et al.), on images and volumes; a volume
    larger than one tile (24 × 96 × 96) is computed tile by tile, also over a sparse mask."""
    from skimage.metrics import structural_similarity as skimage_ssim

    rng = np.random.default_rng(len(shape) + shape[0])
    target = rng.uniform(size=shape)
    prediction = 0.7 * target + 0.3 * rng.uniform(size=shape)
    kwargs = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03)
    expected, ssim_map = skimage_ssim(prediction, target, full=True, **kwargs)
    assert structural_similarity(prediction, target, 1.0) == pytest.approx(expected, abs=1e-5)
    where = rng.uniform(size=shape) < 0.2
    inner = (slice(5, -5),) * len(shape)
    assert where[inner].any()
    on_mask = ssim_map[inner][where[inner]].mean()
    assert structural_similarity(prediction, target, 1.0, where) == pytest.approx(on_mask, abs=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_percentiles_are_numpys(dtype: type) -> None:
    from simbench.metrics.fidelity import _percentiles

    values = (np.random.default_rng(5).standard_normal((7, 33, 41)) * 300).astype(dtype)
    q = (0.1, 50.0, 99.9, 100.0)
    np.testing.assert_allclose(_percentiles(values, q), np.percentile(values.astype(np.float64), q), rtol=1e-14)


def test_support_is_the_maximum_filter_of_the_bright_voxels() -> None:
    from scipy.ndimage import maximum_filter

    rng = np.random.default_rng(4)
    target = np.where(rng.uniform(size=(30, 40, 50)) < 0.002, 1000.0, 0.0)
    prediction = np.where(rng.uniform(size=target.shape) < 0.002, 1000.0, 0.0)
    where = support(prediction, target, 1000.0, NORMALISED)
    level = NORMALISED.support_level * 1000.0
    bright = (target > level) | (prediction > level)
    np.testing.assert_array_equal(where, maximum_filter(bright, size=2 * NORMALISED.support_margin_px + 1))


def test_ssim_works_for_3d_volumes() -> None:
    target = smooth_image((16, 32, 32))
    assert 0.0 < ssim(noisy(target, 0.1), target, NORMALISED) < ssim(noisy(target, 0.01), target, NORMALISED) < 1.0


def test_paper_crop_ignores_border() -> None:
    target = smooth_image()
    prediction = noisy(target, 0.05)
    crop = PAPER.paper_crop_px
    border = np.ones(target.shape, dtype=bool)
    border[crop:-crop, crop:-crop] = False
    scrambled = prediction.copy()
    scrambled[border] = np.random.default_rng(5).uniform(-100.0, 100.0, border.sum())
    for metric in METRIC_FUNCTIONS:
        assert metric(scrambled, target, PAPER) == metric(prediction, target, PAPER)
    assert mse(scrambled, target, NORMALISED) > mse(prediction, target, NORMALISED)  # the border matters otherwise


def test_paper_images_are_on_the_8bit_grid() -> None:
    target = smooth_image((40, 48))
    pred_p, target_p, data_range = prepare(noisy(target, 0.05), target, PAPER)
    crop = PAPER.paper_crop_px
    assert data_range == 255.0
    for image in (pred_p, target_p):
        assert image.shape == (40 - 2 * crop, 48 - 2 * crop)
        np.testing.assert_array_equal(image, np.round(image))
        assert image.min() == 0.0 and image.max() == 255.0


def test_paper_psnr_matches_hand_computation() -> None:
    target = smooth_image()
    prediction = noisy(target, 0.05)
    crop = PAPER.paper_crop_px

    def to_uint8(image: np.ndarray) -> np.ndarray:
        image = image[crop:-crop, crop:-crop]
        return np.rint(255 * (image - image.min()) / (image.max() - image.min())).astype(np.uint8)

    error = np.mean((to_uint8(prediction).astype(float) - to_uint8(target).astype(float)) ** 2)
    assert psnr(prediction, target, PAPER) == pytest.approx(20 * np.log10(255 / np.sqrt(error)), rel=1e-12)
    assert mse(prediction, target, PAPER) == pytest.approx(error, rel=1e-12)


@pytest.mark.parametrize("metric", METRIC_FUNCTIONS)
def test_shape_mismatch_names_both_shapes(metric) -> None:
    with pytest.raises(ValueError, match=r"\(32, 32\).*\(32, 30\)"):
        metric(np.ones((32, 32)), smooth_image((32, 30)), NORMALISED)


@pytest.mark.parametrize("which", ["prediction", "target"])
def test_non_finite_input_is_rejected(which: str) -> None:
    images = {"prediction": smooth_image(), "target": smooth_image(seed=1)}
    images[which][3, 4] = np.nan
    with pytest.raises(ValueError, match=f"{which} contains NaN/inf"):
        psnr(images["prediction"], images["target"], NORMALISED)


@pytest.mark.parametrize("config", [NORMALISED, PAPER], ids=["normalised", "paper"])
def test_constant_target_is_rejected(config: MetricConfig) -> None:
    with pytest.raises(ValueError, match="constant target|target is constant"):
        ssim(smooth_image(), np.full((64, 64), 3.0), config)


def test_wrong_dimensionality_is_rejected() -> None:
    with pytest.raises(ValueError, match="2D or 3D"):
        mse(np.ones(16), np.ones(16), NORMALISED)


def test_constant_prediction_gets_a_finite_poor_score() -> None:
    target = smooth_image()
    constant = np.full(target.shape, 5.0)
    assert np.isfinite(psnr(constant, target, NORMALISED))
    assert mse(constant, target, NORMALISED) == pytest.approx(np.var(prepare(target, target, NORMALISED)[1]))


def test_fidelity_metric_names_and_directions() -> None:
    by_name = {metric.name: metric for metric in FIDELITY_METRICS}
    assert list(by_name) == ["psnr", "ssim", "mse"]
    assert [by_name[n].direction for n in by_name] == ["higher", "higher", "lower"]
    assert by_name["psnr"].unit == "dB"
    assert all("percentile" in m.description and "least-squares" in m.description for m in FIDELITY_METRICS)
    target = smooth_image()
    prediction = noisy(target, 0.05)
    inputs = ScoreInput(prediction, target, pixel_size_nm=31.3, config=NORMALISED)
    assert by_name["mse"](inputs) == mse(prediction, target, NORMALISED)


# --------------------------------------------------------------------------- sparse targets

def _points_volume(shape: tuple[int, int, int], centres: list[tuple[float, float, float]],
                   sigma: tuple[float, float, float]) -> np.ndarray:
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(np.exp(-0.5 * sum(((g - c) / s) ** 2 for g, c, s in zip(grids, centre, sigma)))
               for centre in centres)


def test_sparse_target_is_scored_on_its_support() -> None:
    """Three points in an otherwise empty volume: averaged over every voxel, a sharp and a blurred
    prediction both score SSIM > 0.99 and PSNR > 45 dB (the empty background decides); on the
    support (the points and their surroundings) they separate, in the right order, and a
    prediction that invents a point far from the objects is caught by its own bright voxels."""
    shape, centres = (48, 128, 128), [(20, 40, 40), (20, 80, 84), (28, 64, 50)]
    target = _points_volume(shape, centres, (1.2, 0.8, 0.8))
    sharp = _points_volume(shape, centres, (1.5, 1.0, 1.0))
    blurred = _points_volume(shape, centres, (4.0, 3.0, 3.0))
    ghost = sharp + _points_volume(shape, [(12, 110, 110)], (1.5, 1.0, 1.0))
    whole = MetricConfig(sparse_max_fraction=0.0)  # the support rule off
    assert min(ssim(sharp, target, whole), ssim(blurred, target, whole)) > 0.99
    assert min(psnr(sharp, target, whole), psnr(blurred, target, whole)) > 45.0
    scores = {name: (ssim(p, target, NORMALISED), psnr(p, target, NORMALISED))
              for name, p in (("sharp", sharp), ("blurred", blurred), ("ghost", ghost))}
    assert scores["sharp"][0] > scores["blurred"][0] + 0.05 and scores["sharp"][0] < 0.99
    assert scores["sharp"][1] > scores["blurred"][1] + 5.0
    assert scores["ghost"][0] < scores["sharp"][0] - 0.02 and scores["ghost"][1] < scores["sharp"][1] - 3.0
    assert ssim(target, target, NORMALISED) == pytest.approx(1.0)
    # a dense target (the 2D suites) is averaged over every pixel, as before
    image = smooth_image()
    assert ssim(noisy(image, 0.05), image, NORMALISED) == ssim(noisy(image, 0.05), image, whole)

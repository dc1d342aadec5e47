"""Reference-free metrics against theory: SQUIRREL consistency, negative lobes, bead FWHM ratio,
decorrelation clamped at the SIM limit."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft as sfft

from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.metrics.beads import bead_fwhm_ratio, upsample_fourier
from simbench.metrics.reference_free import NEGATIVE_DEPTH, negative_share
from simbench.metrics.resolution import RESOLUTION_METRICS
from simbench.metrics.squirrel import squirrel
from simbench.physics import nominal_pattern
from simbench.physics.fourier import crop_rfft2, freq_grid_per_um
from simbench.types import Optics, RawStack, Sample

FINE_NM, COARSE_NM = 30.0, 60.0
SIGMA_NM = 100.0


def gaussian_blur(image: np.ndarray, pixel_nm: float, sigma_nm: float) -> np.ndarray:
    fy, fx = freq_grid_per_um(image.shape, pixel_nm, rfft=True)
    transfer = np.exp(-2 * math.pi ** 2 * (sigma_nm * 1e-3) ** 2 * (fy ** 2 + fx ** 2))
    return sfft.irfft2(sfft.rfft2(image) * transfer, s=image.shape)


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Fourier crop onto a ``factor`` × coarser grid (same field, same mean)."""
    small = (image.shape[0] // factor, image.shape[1] // factor)
    weight = np.full((small[0], small[1] // 2 + 1), 1.0 / factor ** 2)
    return sfft.irfft2(crop_rfft2(sfft.rfft2(image), small, weight), s=small)


def blobs(shape: tuple[int, int], n: int, seed: int, sigma_px: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros(shape)
    rows, cols = rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)
    np.add.at(image, (rows, cols), rng.uniform(0.5, 1.0, n))
    return gaussian_blur(image, 1.0, sigma_px)


@pytest.fixture(scope="module")
def scene():
    """(object on the fine grid, its widefield image: blurred by σ = 100 nm, 2× coarser)."""
    obj = blobs((256, 256), 300, 1) + 0.05
    return obj, downsample(gaussian_blur(obj, FINE_NM, SIGMA_NM), 2)


def test_squirrel_of_the_object_itself_finds_the_blur_and_no_error(scene):
    obj, widefield = scene
    result = squirrel(3.0 * obj + 7.0, widefield, COARSE_NM, SIGMA_NM)  # any gain and offset
    assert result.sigma_nm == pytest.approx(SIGMA_NM, rel=0.02)
    assert result.rse < 1e-4 and result.rsp > 0.99999
    assert result.gain == pytest.approx(1 / 3, rel=1e-3)
    assert np.nanmax(result.error_map) < 1e-3 * np.ptp(widefield)


def test_squirrel_exposes_invented_structure(scene):
    obj, widefield = scene
    honest = squirrel(obj, widefield, COARSE_NM, SIGMA_NM)
    invented = squirrel(obj + blobs(obj.shape, 40, 2), widefield, COARSE_NM, SIGMA_NM)
    assert invented.rse > 50 * honest.rse and invented.rsp < honest.rsp
    # the error map is large where the invented blobs are, not elsewhere
    fake = downsample(blobs(obj.shape, 40, 2), 2)
    where = fake > 0.3 * fake.max()
    inner = np.isfinite(invented.error_map)
    assert np.nanmean(invented.error_map[where & inner]) > 5 * np.nanmean(invented.error_map[~where & inner])


def test_the_widefield_image_is_consistent_by_construction(scene):
    """The loophole the real-data ranking closes: a reconstruction that is the widefield image
    (Fourier-interpolated) needs no blur and scores rse ≈ 0."""
    _, widefield = scene
    result = squirrel(upsample_fourier(widefield, 2), widefield, COARSE_NM, SIGMA_NM)
    assert result.sigma_nm < 1.0 and result.rse < 1e-6


def test_negative_share_counts_lobes_deeper_than_the_threshold(scene):
    _, widefield = scene
    fit = squirrel(np.kron(widefield, np.ones((2, 2))), widefield, COARSE_NM, SIGMA_NM)
    positive = np.kron(widefield, np.ones((2, 2)))
    assert negative_share(positive, widefield, fit, 99.9) == 0.0
    background, high = np.percentile(widefield, (1.0, 99.9))
    lobes = positive.copy()
    deep = background - 2 * NEGATIVE_DEPTH * (high - background)
    lobes.flat[:500] = (deep - fit.offset) / fit.gain  # 500 pixels twice as deep as the threshold
    assert negative_share(lobes, widefield, fit, 99.9) == pytest.approx(500 / lobes.size)


def _beads(shape: tuple[int, int], pixel_nm: float, sigma_nm: float, positions_nm: np.ndarray) -> np.ndarray:
    yy, xx = (np.arange(n) * pixel_nm for n in shape)
    image = np.zeros(shape)
    for y, x in positions_nm:
        image += np.exp(-((yy[:, None] - y) ** 2 + (xx[None, :] - x) ** 2) / (2 * sigma_nm ** 2))
    return image


def test_bead_fwhm_ratio_matches_the_ratio_of_the_blurs():
    rng = np.random.default_rng(3)
    grid = np.stack(np.meshgrid(np.arange(8), np.arange(8), indexing="ij"), -1).reshape(-1, 2)
    positions = (grid + 1) * 850.0 + rng.uniform(-100, 100, grid.shape)  # isolated, 850 nm apart
    widefield = _beads((128, 128), COARSE_NM, SIGMA_NM, positions) + 0.1
    sharp = _beads((256, 256), FINE_NM, 0.5 * SIGMA_NM, positions)
    result = bead_fwhm_ratio(sharp, widefield, FINE_NM, 2.3548 * SIGMA_NM)
    assert result.n_matched >= 20
    assert result.ratio == pytest.approx(0.5, abs=0.02)
    assert result.widefield_fwhm_nm == pytest.approx(2.3548 * SIGMA_NM, rel=0.03)
    same = bead_fwhm_ratio(np.kron(widefield, np.ones((2, 2))), widefield, FINE_NM, 2.3548 * SIGMA_NM)
    assert same.ratio == pytest.approx(1.0, abs=0.05)


def test_decorrelation_is_clamped_at_the_sim_limit_of_the_sample():
    """With optics of a tiny NA the SIM limit 1/(k_c + k0) is far coarser than the image's
    resolution: the value is the limit, flagged beyond_limit."""
    optics = Optics(na=0.05, wavelength_nm=500.0, refractive_index=1.0, pixel_size_nm=60.0)
    image = blobs((256, 256), 400, 4, sigma_px=1.5) + np.random.default_rng(5).normal(0, 0.01, (256, 256))
    raw = RawStack(frames=np.zeros((9, 128, 128), np.float32), optics=optics, pattern=nominal_pattern(optics),
                   frame_patterns=tuple(range(9)))
    sample = Sample(id="s", raw=raw, target=None, target_pixel_size_nm=30.0)
    decorr = next(m for m in RESOLUTION_METRICS if m.name == "decorr")
    limit = 1e3 / (optics.cutoff_per_um + raw.pattern.frequency_per_um)
    measured = decorr.measure(ScoreInput(image, None, 30.0, MetricConfig(), sample=sample))
    assert measured.flags == ("beyond_limit",) and measured.value == pytest.approx(limit)
    free = decorr.measure(ScoreInput(image, None, 30.0, MetricConfig()))
    assert free.flags == () and free.value < limit

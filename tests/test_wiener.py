"""Method ``wiener``: generalised Wiener SIM (SCIENCE.md §6) against theory and baselines."""
from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np
import pytest
from scipy import ndimage, optimize
from simbench_plugins import wiener as wiener_module
from simbench_plugins.widefield import Widefield
from simbench_plugins.wiener import Wiener

import simbench
from simbench.metrics.fidelity import psnr, ssim
from simbench.physics import (
    NoiseModel,
    default_optics,
    fft_freqs_per_um,
    jitter_pattern,
    nominal_pattern,
    simulate_sim2d,
)
from simbench.suites.static import StaticSuite

from conftest import SHARED_DATA

REAL_BEADS = SHARED_DATA / "real-sim-beads"
#: real-sim-beads/record.txt: NA 1.49, emission 515 nm, pixel 86.7 nm; oil immersion n = 1.515
REAL_OPTICS = simbench.Optics(na=1.49, wavelength_nm=515.0, refractive_index=1.515, pixel_size_nm=86.7)
FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))


@cache
def quick_sample(index: int) -> simbench.Sample:
    return StaticSuite().make_sample(index, "quick", 0)


def raw_stack(frames: np.ndarray, optics: simbench.Optics) -> simbench.RawStack:
    return simbench.RawStack(frames=np.asarray(frames, dtype=np.float32), optics=optics,
                             pattern=nominal_pattern(optics), frame_patterns=tuple(range(len(frames))))


# --------------------------------------------------------------------------- bead analysis


def isolated_peaks(image: np.ndarray, separation_px: int, threshold: float, border_px: int) -> np.ndarray:
    """(y, x) of local maxima above ``threshold`` with no other such maximum within
    ``separation_px`` and at least ``border_px`` from the edges."""
    local_max = (image == ndimage.maximum_filter(image, size=5)) & (image > threshold)
    peaks = np.argwhere(local_max)
    inside = np.all((peaks >= border_px) & (peaks < np.array(image.shape) - border_px), axis=1)
    keep = []
    for y, x in peaks[inside]:
        if np.sum(np.hypot(*(peaks - (y, x)).T) < separation_px) == 1:
            keep.append((y, x))
    return np.array(keep, dtype=int).reshape(-1, 2)


def gaussian_fwhm_px(image: np.ndarray, y: int, x: int, half: int) -> float:
    """FWHM (pixels) of a symmetric 2D Gaussian plus offset fitted to a (2·half + 1)² window."""
    window = image[y - half:y + half + 1, x - half:x + half + 1].astype(np.float64)
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]

    def residual(p: np.ndarray) -> np.ndarray:
        amplitude, y0, x0, sigma, offset = p
        return (amplitude * np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * sigma ** 2)) + offset - window).ravel()

    start = [window.max() - np.median(window), 0.0, 0.0, half / 3, np.median(window)]
    fit = optimize.least_squares(residual, start, bounds=([0, -half / 2, -half / 2, 0.3, -np.inf],
                                                         [np.inf, half / 2, half / 2, half, np.inf]))
    return FWHM_PER_SIGMA * fit.x[3]


def fwhm_pairs(widefield: np.ndarray, sim: np.ndarray, peaks: np.ndarray, half_wf: int,
               half_sim: int) -> np.ndarray:
    """(widefield FWHM, SIM FWHM) in pixels of the 2× grid for each bead."""
    return np.array([(gaussian_fwhm_px(widefield, y, x, half_wf), gaussian_fwhm_px(sim, y, x, half_sim))
                     for y, x in peaks]).reshape(-1, 2)


# --------------------------------------------------------------------------- tests


def test_fourier_support_extends_to_kc_plus_k0():
    """A noise-free white-noise object makes the reconstruction's transfer function
    T(f) = R̃(f)/S̃(f) measurable.  Along each pattern direction it stays significant
    beyond k_c, where widefield has none, out to ≈ k_c + k₀: support extension
    (k_c + k₀)/k_c ≈ 1.87 here (SCIENCE.md §6).  T is close to real and positive in the
    side bands: every band was moved to the right place with the right phase."""
    optics = default_optics()
    rng = np.random.default_rng(11)
    obj = rng.random((384, 384), dtype=np.float32)
    nominal = nominal_pattern(optics)
    # jittered angles and phases, the nominal frequency k₀ = 0.859·k_c
    true = dataclasses.replace(jitter_pattern(nominal, rng), frequency_per_um=nominal.frequency_per_um)
    raw = raw_stack(simulate_sim2d(obj, optics.pixel_size_nm / 2, optics, true, range(9)), optics)
    result = Wiener().reconstruct(raw)
    spectrum = np.fft.fft2(obj)
    transfers = {"wiener": np.fft.fft2(result.image) / spectrum,
                 "widefield": np.fft.fft2(Widefield().reconstruct(raw)) / spectrum}
    k_c = optics.cutoff_per_um
    freqs = fft_freqs_per_um(obj.shape[0], optics.pixel_size_nm / 2)
    radius = np.hypot(freqs[:, None], freqs[None, :]) / k_c
    theta = np.arctan2(freqs[:, None], freqs[None, :])
    k0 = float(np.mean(result.info["pattern"]["frequencies_fraction_of_cutoff"]))
    edges = []
    for angle in result.info["pattern"]["angles_rad"]:
        wedge = np.abs(np.angle(np.exp(2j * (theta - angle)))) / 2 < math.radians(3)
        beyond = wedge & (radius > 1.1) & (radius < 1.4)
        bins = np.arange(0.3, 2.5, 0.02)
        level = np.array([np.median(np.abs(transfers["wiener"][wedge & (radius >= b) & (radius < b + 0.02)]))
                          for b in bins])
        reference = level[(bins > 0.3) & (bins < 0.5)].mean()
        # support edge: where the transfer has fallen to (numerically) nothing
        edges.append(bins[np.flatnonzero((bins > 0.5) & (level < 1e-4 * reference))[0]])
        assert np.median(np.abs(transfers["wiener"][beyond])) > 0.1 * reference  # significant beyond k_c
        assert np.median(np.abs(transfers["widefield"][beyond])) < 0.01 * reference  # widefield: nothing
        # one side band only (towards +k): a phase error Δφ of the band shows as arg T = Δφ
        ahead = beyond & (np.cos(theta - angle) > 0)
        assert abs(np.median(np.angle(transfers["wiener"][ahead]))) < math.radians(10)
    extension = float(np.mean(edges))  # widefield support: k_c (the frames' OTF)
    print(f"\nsupport edge / k_c along the pattern directions: {np.round(edges, 2)}; extension {extension:.2f} "
          f"(theory (k_c + k0)/k_c = {1 + k0:.2f})")
    assert 1.7 <= extension <= 2.0
    assert extension == pytest.approx(1 + k0, abs=0.06)


def test_simulated_beads_are_0p5_to_0p65_of_widefield_fwhm():
    """Sparse sub-resolution beads, default optics, jittered pattern, suite-level noise:
    median Gaussian FWHM of Wiener SIM / widefield in 0.5–0.65 (SCIENCE.md §6)."""
    optics = default_optics()
    rng = np.random.default_rng(3)
    obj = np.full((384, 384), 0.002, dtype=np.float32)
    placed: list[np.ndarray] = []
    while len(placed) < 40:
        p = rng.uniform(20, obj.shape[0] - 20, 2)
        if all(np.hypot(*(p - q)) > 30 for q in placed):
            placed.append(p)
            obj[int(p[0]), int(p[1])] += 1.0
    true = jitter_pattern(nominal_pattern(optics), rng)
    frames, _ = NoiseModel().apply(simulate_sim2d(obj, optics.pixel_size_nm / 2, optics, true, range(9)), rng)
    raw = raw_stack(frames, optics)
    widefield, sim = Widefield().reconstruct(raw), Wiener().reconstruct(raw).image
    peaks = isolated_peaks(widefield, separation_px=16, threshold=0.3 * widefield.max(), border_px=12)
    pairs = fwhm_pairs(widefield, sim, peaks, half_wf=8, half_sim=6) * optics.pixel_size_nm / 2
    ratio = float(np.median(pairs[:, 1] / pairs[:, 0]))
    print(f"\nsimulated beads: {len(pairs)} beads, FWHM widefield {np.median(pairs[:, 0]):.0f} nm, "
          f"wiener {np.median(pairs[:, 1]):.0f} nm, ratio {ratio:.3f}")
    assert len(pairs) >= 30
    assert np.median(pairs[:, 0]) == pytest.approx(simbench.physics.airy_fwhm_nm(optics), rel=0.1)
    assert 0.5 <= ratio <= 0.65


def load_real_beads() -> np.ndarray:
    if not REAL_BEADS.is_dir():
        pytest.skip(f"real bead data not found at {REAL_BEADS} (shared reference data absent)")
    tifffile = pytest.importorskip("tifffile")
    return np.stack([tifffile.imread(REAL_BEADS / f"1_X{i}.tif") for i in range(1, 10)]).astype(np.float32)


def test_real_beads_wiener_halves_the_widefield_fwhm():
    """Real beads: isolated beads fitted in widefield (frame mean, bicubic ×2) and Wiener;
    median FWHM ratio ≤ 0.60 (an independent implementation: 212 → 106 nm, 0.50)."""
    frames = load_real_beads()
    raw = raw_stack(frames, REAL_OPTICS)
    widefield = Widefield().reconstruct(raw)
    sim = Wiener().reconstruct(raw).image
    bright = np.percentile(widefield, 99.9)
    peaks = isolated_peaks(widefield, separation_px=12, threshold=0.3 * bright, border_px=24)
    peaks = peaks[widefield[peaks[:, 0], peaks[:, 1]] < 0.95 * frames.max()][:80]  # unsaturated
    pairs = fwhm_pairs(widefield, sim, peaks, half_wf=7, half_sim=5) * REAL_OPTICS.pixel_size_nm / 2
    ratio = float(np.median(pairs[:, 1] / pairs[:, 0]))
    print(f"\nreal beads: {len(pairs)} isolated beads, FWHM widefield {np.median(pairs[:, 0]):.0f} nm, "
          f"wiener {np.median(pairs[:, 1]):.0f} nm, ratio {ratio:.3f}")
    assert len(pairs) >= 20
    assert ratio <= 0.60


def test_real_beads_without_pattern_are_not_made_sharper():
    """Nine pattern-free frames (widefield mean + fresh shot noise) are refused, not
    reconstructed with an invented pattern (which would fake a resolution gain)."""
    frames = load_real_beads()
    widefield = frames.mean(axis=0)
    shot = np.random.default_rng(4).poisson(np.clip(widefield, 0, None), size=frames.shape)
    with pytest.raises(simbench.EstimationError, match="no carrier"):
        Wiener().reconstruct(raw_stack(shot, REAL_OPTICS))


def test_quick_samples_beat_widefield_and_record_the_pattern():
    """On the static quick samples Wiener beats widefield in mean PSNR and SSIM; each
    result records the estimated pattern; with the true pattern (oracle) it is as good."""
    config = simbench.MetricConfig()
    scores = {"widefield": [], "wiener": [], "oracle": []}
    for index in range(6):
        sample = quick_sample(index)
        result = Wiener().reconstruct(sample.raw)
        assert result.info["oracle"] is False
        pattern = result.info["pattern"]
        assert pattern["source"] == "estimated" and len(pattern["angles_deg"]) == 3
        true = simbench.StripePattern.from_dict(sample.truth["pattern"])
        assert pattern["frequency_per_um"] == pytest.approx(true.frequency_per_um, rel=5e-3)
        oracle = Wiener().reconstruct(dataclasses.replace(sample.raw, pattern=true, oracle=True))
        assert oracle.info["oracle"] is True and oracle.info["pattern"]["source"] == "oracle"
        for name, image in (("widefield", Widefield().reconstruct(sample.raw)), ("wiener", result.image),
                            ("oracle", oracle.image)):
            scores[name].append((psnr(image, sample.target, config), ssim(image, sample.target, config)))
    mean = {name: np.mean(values, axis=0) for name, values in scores.items()}
    print("\nquick samples, mean PSNR / SSIM: " + ", ".join(f"{n} {m[0]:.2f} dB / {m[1]:.3f}" for n, m in mean.items()))
    assert mean["wiener"][0] > mean["widefield"][0] + 1.0
    assert mean["wiener"][1] > mean["widefield"][1]
    assert mean["oracle"][0] >= mean["wiener"][0] - 0.1
    assert mean["oracle"][1] >= mean["wiener"][1] - 0.005


def test_output_shape_dtype_and_frame_order():
    """Non-square frames: (2H, 2W) float32, finite; frames in another order (with
    frame_patterns saying which is which) give the same image."""
    optics = default_optics()
    rng = np.random.default_rng(8)
    obj = rng.random((192, 256), dtype=np.float32)
    true = jitter_pattern(nominal_pattern(optics), rng)
    frames, _ = NoiseModel().apply(simulate_sim2d(obj, optics.pixel_size_nm / 2, optics, true, range(9)), rng)
    raw = raw_stack(frames, optics)
    image = Wiener().reconstruct(raw).image
    assert image.shape == (192, 256) and image.dtype == np.float32 and np.isfinite(image).all()
    order = rng.permutation(9)
    shuffled = dataclasses.replace(raw, frames=frames[order], frame_patterns=tuple(int(i) for i in order))
    np.testing.assert_allclose(Wiener().reconstruct(shuffled).image, image, atol=1e-4 * np.abs(image).max())
    assert Wiener.accepts_any_pattern_order


def test_uniform_object_comes_out_flat_at_the_filters_dc_gain():
    """A uniform object comes out flat at the mean frame's level times the filter's gain at
    f = 0: Σ att·H_b² / (Σ att·H_b² + w²) over band 0 of each angle (att = 1 − s there)
    and the six side bands (H_b = ½m·OTF(k₀)); the spectral regulariser is 0 at f = 0.  The
    border (32 px) is left out: the simulator's stripes are not periodic across the
    wrap-around (real stripes have no wrap), and the filter rings from that seam inwards."""
    optics = default_optics()
    true = jitter_pattern(nominal_pattern(optics), np.random.default_rng(2))
    frames = simulate_sim2d(np.full((128, 128), 3.0, dtype=np.float32), optics.pixel_size_nm / 2, optics, true,
                            range(9))
    raw = dataclasses.replace(raw_stack(frames, optics), pattern=true, oracle=True)
    image = Wiener().reconstruct(raw).image[32:-32, 32:-32]
    otf_k0 = float(simbench.physics.otf_profile(np.array(true.frequency_per_um / optics.cutoff_per_um)))
    sigma = Wiener.attenuation_fwhm_per_um / (2 * math.sqrt(2 * math.log(2)))
    att_k0 = 1 - Wiener.attenuation_strength * math.exp(-0.5 * (true.frequency_per_um / sigma) ** 2)
    bands = 3 * (1 - Wiener.attenuation_strength) + 6 * att_k0 * (0.5 * true.modulation * otf_k0) ** 2
    gain = bands / (bands + Wiener.wiener_constant ** 2)
    assert image.std() < 3e-3 * image.mean()
    assert image.mean() == pytest.approx(gain * frames.mean(), rel=0.01)


def test_clear_errors_for_wrong_input():
    optics = default_optics()
    frames = np.random.default_rng(0).random((7, 32, 32), dtype=np.float32)
    with pytest.raises(ValueError, match="needs 9 frames.*got 7"):
        Wiener().reconstruct(raw_stack(frames, optics))
    other = dataclasses.replace(raw_stack(np.zeros((9, 32, 32), np.float32), optics), modality="hex-3d")
    with pytest.raises(ValueError, match="reconstructs .*sim2d.*got 'hex-3d'"):
        Wiener().reconstruct(other)


def test_plugin_hook_provides_the_method():
    assert wiener_module.simbench_methods() == [Wiener]
    assert Wiener.name == "wiener" and Wiener.modalities == (simbench.MODALITY_SIM2D,)

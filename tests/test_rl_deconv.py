"""Richardson–Lucy method ``rl-deconv``: operator, deconvolution of beads, benchmark sanity."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit
from simbench_plugins.rl_deconv import (
    DEFAULT_ITERATIONS,
    RichardsonLucy,
    richardson_lucy,
    simbench_methods,
)
from simbench_plugins.widefield import Widefield

import simbench
from simbench.metrics.fidelity import psnr
from simbench.suites.static import StaticSuite

OPTICS = simbench.physics.default_optics()
FINE_PIXEL_NM = OPTICS.pixel_size_nm / 2
BEADS = [(r, c) for r in (24, 64, 104) for c in (24, 64, 104)]


@pytest.fixture(scope="module")
def bead_widefield() -> np.ndarray:
    """Noise-free widefield image (64², default optics) of 9 point beads on the 128² fine grid."""
    obj = np.zeros((128, 128), np.float32)
    for r, c in BEADS:
        obj[r, c] = 1.0
    return simbench.physics.simulate_widefield(obj, FINE_PIXEL_NM, OPTICS, downsample=2)


def bead_fwhm_nm(image: np.ndarray, half: int = 7) -> float:
    """Mean FWHM (nm) of isotropic Gaussian + offset fits around the known bead positions."""
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]

    def model(_: object, amplitude: float, y0: float, x0: float, sigma: float, offset: float) -> np.ndarray:
        return (amplitude * np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * sigma**2)) + offset).ravel()

    widths = []
    for r, c in BEADS:
        window = image[r - half:r + half + 1, c - half:c + half + 1].astype(np.float64)
        params, _ = curve_fit(model, None, window.ravel(), p0=(window.max(), 0.0, 0.0, 2.0, 0.0))
        widths.append(2 * np.sqrt(2 * np.log(2)) * abs(params[3]) * FINE_PIXEL_NM)
    return float(np.mean(widths))


def test_undersampled_real_optics_are_deconvolved() -> None:
    """Real data can be sampled slightly below Nyquist (NA 1.49, 515 nm, 86.7 nm pixels: 0.502 cycles/px);
    the shared forward model and its adjoint (tested in test_physics_forward) serve them too."""
    rng = np.random.default_rng(1)
    beads = simbench.Optics(na=1.49, wavelength_nm=515.0, refractive_index=1.518, pixel_size_nm=86.7)
    x = rng.random((80, 112)).astype(np.float32)
    y = simbench.physics.simulate_widefield(x, 86.7 / 2, beads)
    out = richardson_lucy(y + 0.01 * rng.standard_normal((40, 56)).astype(np.float32), beads, 20)
    assert out.shape == (80, 112) and out.dtype == np.float32 and np.isfinite(out).all()


def test_rl_narrows_beads_and_preserves_flux(bead_widefield: np.ndarray) -> None:
    bicubic = simbench.upsample_bicubic(bead_widefield, 2)
    fwhm_widefield = bead_fwhm_nm(bicubic)
    # sanity against theory: the Airy FWHM 0.5145·λ/NA (Gaussian fit of the sampled PSF)
    assert fwhm_widefield == pytest.approx(simbench.physics.airy_fwhm_nm(OPTICS), rel=0.05)
    restored = richardson_lucy(bead_widefield, OPTICS)
    fwhm_rl = bead_fwhm_nm(restored)
    print(f"bead FWHM: bicubic widefield {fwhm_widefield:.1f} nm, RL ({DEFAULT_ITERATIONS} it.) {fwhm_rl:.1f} nm")
    assert fwhm_rl < 0.9 * fwhm_widefield
    # flux: the fine grid has 4 pixels per raw pixel, H conserves intensity
    assert restored.sum() / 4 == pytest.approx(bead_widefield.sum(), rel=0.02)
    assert restored.min() >= 0


def test_rl_iterations_behave(bead_widefield: np.ndarray) -> None:
    """0 iterations = the clipped bicubic start; more iterations fit the data better and narrow beads."""
    start = richardson_lucy(bead_widefield, OPTICS, iterations=0)
    floor = 1e-3 * float(bead_widefield.max() - bead_widefield.min())
    assert np.allclose(start, np.maximum(simbench.upsample_bicubic(bead_widefield, 2), floor))
    counts = (1, 10, DEFAULT_ITERATIONS)
    estimates = [richardson_lucy(bead_widefield, OPTICS, iterations=n) for n in counts]
    misfits = [np.linalg.norm(simbench.physics.simulate_widefield(x, OPTICS.pixel_size_nm / 2, OPTICS) - bead_widefield)
               for x in estimates]
    widths = [bead_fwhm_nm(x) for x in estimates]
    assert misfits[0] > misfits[1] > misfits[2]
    assert bead_fwhm_nm(start) > widths[0] > widths[1] > widths[2]
    with pytest.raises(ValueError, match="iterations"):
        RichardsonLucy(iterations=-1)


def test_method_contract_and_registration() -> None:
    assert simbench_methods() == [RichardsonLucy]
    assert RichardsonLucy.name == "rl-deconv"
    assert RichardsonLucy.modalities == (simbench.MODALITY_SIM2D, simbench.MODALITY_LSSIM3D)
    assert RichardsonLucy().iterations is None  # the modality's default: DEFAULT_ITERATIONS in 2D
    assert RichardsonLucy(iterations=3).iterations == 3


def test_rl_on_static_quick_samples_beats_widefield() -> None:
    """On the static suite's quick samples (noisy, may be negative), RL's output is (2H, 2W)
    float32, finite and non-negative, and its mean PSNR is not below the widefield baseline's.
    40 iterations keep the test fast; the default (more) only adds PSNR here (see the plugin)."""
    suite = StaticSuite()
    config = simbench.MetricConfig()
    method = RichardsonLucy(iterations=40)
    rl_scores, widefield_scores = [], []
    for index in range(suite.n_samples("quick")):
        sample = suite.make_sample(index, "quick", 0)
        out = method.reconstruct(sample.raw)
        height, width = sample.raw.frames.shape[1:]
        assert out.shape == (2 * height, 2 * width) and out.dtype == np.float32
        assert np.isfinite(out).all() and out.min() >= 0
        rl_scores.append(psnr(out, sample.target, config))
        widefield_scores.append(psnr(Widefield().reconstruct(sample.raw), sample.target, config))
    print(f"mean PSNR on static/quick: RL (40 it.) {np.mean(rl_scores):.2f} dB, "
          f"widefield {np.mean(widefield_scores):.2f} dB")
    assert np.mean(rl_scores) >= np.mean(widefield_scores) - 0.2

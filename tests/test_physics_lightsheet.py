"""Hexagonal light-sheet SIM forward model and confocal target against theory (SCIENCE.md §4)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from simbench.physics.lightsheet import (
    LightSheetParams,
    hex_components,
    hex_illumination,
    shot_noise,
    simulate_confocal_target,
    simulate_lightsheet,
)
from simbench.physics.optics3d import gaussian_sheet, intensity_psf

#: fine grids (4× and 3× finer than the camera) so that a Gaussian fit sees the PSF core
FINE = LightSheetParams(pixel_size_nm=6500 / 60 / 4, shape=(96, 96), n_planes=20)
FINE_TARGET = LightSheetParams(pixel_size_nm=6500 / 60 / 3, shape=(48, 48), n_planes=30, z_step_nm=120)
POINT = np.array([[0.0123, -0.0311, 0.0417]])  # µm, off-grid on purpose


def _gaussian_fwhm(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """FWHM and centre of a Gaussian fitted to the samples above 20 % of the peak (the core)."""
    keep = y >= 0.2 * y.max()
    (_, centre, sigma), _ = curve_fit(lambda t, a, m, s: a * np.exp(-0.5 * ((t - m) / s) ** 2), x[keep], y[keep],
                                      p0=(y.max(), x[np.argmax(y)], 2 * (x[1] - x[0])))
    return 2 * math.sqrt(2 * math.log(2)) * abs(sigma), centre


def _axes(params: LightSheetParams, target: bool) -> tuple[np.ndarray, np.ndarray]:
    n = params.target_shape[1] if target else params.shape[0]
    px = (params.target_pixel_size_nm if target else params.pixel_size_nm) * 1e-3
    return (np.arange(n) - n / 2) * px, params.target_z_um() if target else params.frame_z_um()


@pytest.fixture(scope="module")
def widefield_point() -> np.ndarray:
    # uniform light: the 7 frames of a plane are a z-scan in steps of 50 nm
    return simulate_lightsheet(POINT, FINE, None, photons_per_emitter=700.0)


def test_point_lateral_fwhm_and_position(widefield_point):
    x, _ = _axes(FINE, target=False)
    iz, iy, ix = np.unravel_index(np.argmax(widefield_point), widefield_point.shape)
    fwhm_x, cx = _gaussian_fwhm(x, widefield_point[iz, iy])
    fwhm_y, cy = _gaussian_fwhm(x, widefield_point[iz, :, ix])
    # theory: Airy disc 0.5145·λ/NA = 246 nm (a Gaussian fit of its core reads ≈ 2 % less)
    assert fwhm_x * 1e3 == pytest.approx(246, rel=0.05)
    assert fwhm_y * 1e3 == pytest.approx(246, rel=0.05)
    assert (cx, cy) == pytest.approx((POINT[0, 0], POINT[0, 1]), abs=0.003)  # continuous position, no snapping


def test_point_axial_fwhm_is_detection_psf_times_sheet(widefield_point):
    """The light sheet (FWHM 3 µm) narrows the detection PSF's 811 nm: the system's axial
    profile is |h(0, z)|²·s(z), whose FWHM is 784 nm (≈ 1/√(1/811² + 1/3000²) for Gaussians)."""
    _, z = _axes(FINE, target=False)
    _, iy, ix = np.unravel_index(np.argmax(widefield_point), widefield_point.shape)
    fwhm_z, cz = _gaussian_fwhm(z, widefield_point[:, iy, ix])
    zz = np.linspace(-3, 3, 601)
    theory, _ = _gaussian_fwhm(zz, intensity_psf([0.0], zz, FINE.optics)[:, 0] * gaussian_sheet(zz, 3000.0))
    assert fwhm_z == pytest.approx(theory, rel=0.02)
    assert fwhm_z * 1e3 == pytest.approx(811, rel=0.05)
    assert cz == pytest.approx(POINT[0, 2], abs=0.01)


def test_confocal_target_point_fwhm():
    target = simulate_confocal_target(POINT, FINE_TARGET)
    x, z = _axes(FINE_TARGET, target=True)
    iz, iy, ix = np.unravel_index(np.argmax(target), target.shape)
    assert _gaussian_fwhm(x, target[iz, iy])[0] * 1e3 == pytest.approx(125, rel=0.05)
    assert _gaussian_fwhm(x, target[iz, :, ix])[0] * 1e3 == pytest.approx(125, rel=0.05)
    fwhm_z, cz = _gaussian_fwhm(z, target[:, iy, ix])
    assert fwhm_z * 1e3 == pytest.approx(412, rel=0.05)
    assert cz == pytest.approx(POINT[0, 2], abs=0.01)
    assert target.sum() == pytest.approx(1.0, rel=0.03)  # ∫ PSF = 1 (tails beyond ±1.8 µm excepted)


def test_pattern_components_match_the_closed_form_and_have_hexagonal_carriers():
    params = LightSheetParams()
    pattern = params.nominal_pattern(angle_rad=0.3, phase_offsets_rad=(0.4, -1.1))
    k, amplitudes = hex_components(pattern)
    xy = np.random.default_rng(0).uniform(-5, 5, (2, 50))
    for j in range(7):
        from_components = (amplitudes[j] * np.exp(2j * np.pi * (np.outer(xy[0], k[:, 0]) + np.outer(xy[1], k[:, 1])))).sum(1)
        np.testing.assert_allclose(3 * from_components.real, hex_illumination(pattern, xy[0], xy[1], j), atol=1e-12)
    carriers = k[1:4]
    np.testing.assert_allclose(np.hypot(*carriers.T), params.carrier_fraction * params.optics.cutoff_per_um)
    angles = np.sort(np.degrees(np.arctan2(carriers[:, 1], carriers[:, 0])) % 180)
    np.testing.assert_allclose(np.diff(angles), 60, atol=1e-9)
    # the 7 steps sum to a uniform light: every carrier's phase steps cover the 7 roots of unity
    np.testing.assert_allclose(np.abs(amplitudes[:, 1:].sum(axis=0)), 0, atol=1e-12)


def test_raw_frames_show_the_carriers_and_keep_the_photon_budget():
    params = LightSheetParams(shape=(64, 64), n_planes=2)
    pattern = params.nominal_pattern(angle_rad=0.2)
    rng = np.random.default_rng(1)
    n = 4000  # dense: the object's spectrum is dominated by its mean, so a band peaks at its carrier
    points = np.column_stack([rng.uniform(-3.4, 3.4, (n, 2)), np.full(n, params.plane_z_um()[1])])
    frames = simulate_lightsheet(points, params, pattern, photons_per_emitter=70.0).reshape(2, 7, 64, 64)
    # step j's focal plane is j·50 nm past the emitters (the continuous scan): the sheet there
    # is s(j·50 nm); every plane of the PSF holds all its light, so frame j's total is
    # 70/7 photons × I_j(emitter)/3 × s(j·50 nm), and 70 photons per emitter at s = 1
    sheet = gaussian_sheet(np.arange(7) * 0.05, params.sheet_fwhm_nm)
    expected = [10.0 * sheet[j] * hex_illumination(pattern, points[:, 0], points[:, 1], j).sum() / 3 for j in range(7)]
    np.testing.assert_allclose(frames[1].sum(axis=(1, 2)), expected, rtol=1e-3)
    assert (frames[1].sum(axis=(1, 2)) / sheet).sum() == pytest.approx(70.0 * n, rel=1e-3)
    # the band of DFT index 2 over the steps (beam pair 3) peaks at that carrier in the Fourier domain
    band = np.fft.fft(frames[1], axis=0)[2]
    spectrum = np.abs(np.fft.fft2(band))
    spectrum[0, 0] = 0
    iy, ix = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    f = np.fft.fftfreq(64, params.pixel_size_nm * 1e-3)
    k, _ = hex_components(pattern)
    assert np.hypot(f[ix] - k[3, 0], f[iy] - k[3, 1]) < 1.5 * abs(f[1])


def test_shot_noise_is_poisson_and_simulation_is_deterministic():
    params = LightSheetParams(shape=(32, 32), n_planes=2)
    points = np.array([[0.1, 0.2, 0.0], [-0.5, 0.3, 0.2]])
    a = simulate_lightsheet(points, params, params.nominal_pattern(), 500.0)
    assert a.tobytes() == simulate_lightsheet(points, params, params.nominal_pattern(), 500.0).tobytes()
    lam = np.full(200_000, 3.7, dtype=np.float32)
    counts = shot_noise(lam, np.random.default_rng(5))
    assert counts.mean() == pytest.approx(3.7, rel=0.01) and counts.var() == pytest.approx(3.7, rel=0.02)
    assert np.array_equal(counts, np.round(counts))
    assert shot_noise(a, np.random.default_rng(3)).tobytes() == shot_noise(a, np.random.default_rng(3)).tobytes()


@pytest.mark.parametrize("points, match", [(np.zeros((0, 3)), "empty"), (np.array([[0, np.nan, 0]]), "NaN"),
                                           (np.array([[40.0, 0, 0]]), "field of view"), (np.zeros((3, 2)), r"\(N, 3\)")])
def test_bad_point_clouds_are_refused(points, match):
    with pytest.raises(ValueError, match=match):
        simulate_lightsheet(points, LightSheetParams(shape=(32, 32), n_planes=2), None, 10.0)


def test_sample_bytes_do_not_depend_on_the_blas_thread_count():
    """OpenBLAS splits a product's sums by thread count; the simulator fixes the count, so a machine
    with one core (or OMP_NUM_THREADS=1) regenerates the committed manifest's bytes."""
    from threadpoolctl import threadpool_limits

    from simbench.harness.digest import sample_digest
    from simbench.suites.axial import AxialTwoPoint

    digests = set()
    for threads in (1, 3):
        with threadpool_limits(limits=threads, user_api="blas"):
            digests.add(sample_digest(AxialTwoPoint().make_sample(0, "quick", 0)))
    assert len(digests) == 1

"""hexsim: 3D hexagonal light-sheet SIM reconstruction; widefield on the same stacks (SCIENCE.md §4, §6)."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit
from simbench_plugins.hexsim import HexSim
from simbench_plugins.widefield import Widefield

from simbench import MODALITY_LSSIM3D, MODALITY_SIM2D, RawStack
from simbench.io import read_image, write_image
from simbench.physics import LightSheetParams, hex_components, shot_noise, simulate_lightsheet

from conftest import hex_plane, run_cli

PARAMS = LightSheetParams(shape=(128, 128), n_planes=12)
PATTERN = PARAMS.nominal_pattern(angle_rad=0.1, phase_offsets_rad=(0.5, 1.0))


@pytest.fixture(scope="module")
def stack() -> tuple[RawStack, np.ndarray]:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-5, 5, (50, 2)), rng.uniform(-1.5, 1.5, 50)])
    frames = shot_noise(simulate_lightsheet(points, PARAMS, PATTERN, photons_per_emitter=2000.0), rng)
    raw = RawStack(frames=frames, optics=PARAMS.optics, pattern=PARAMS.nominal_pattern(),
                   frame_patterns=tuple(range(7)) * PARAMS.n_planes, modality=MODALITY_LSSIM3D,
                   z_step_nm=PARAMS.z_step_nm)
    return raw, points


def _median_lateral_fwhm_nm(volume: np.ndarray, points: np.ndarray, px_um: float, dz_um: float) -> float:
    """Median FWHM (Gaussian fit of the core) along x through each point's brightest voxel."""
    n_z, height, width = volume.shape
    widths = []
    for x, y, z in points:
        iz, iy, ix = round(z / dz_um + n_z / 2), round(y / px_um + height / 2), round(x / px_um + width / 2)
        sub = volume[iz - 1:iz + 2, iy - 2:iy + 3, ix - 2:ix + 3]
        dz, dy, dx = np.unravel_index(np.argmax(sub), sub.shape)
        profile = volume[iz - 1 + dz, iy - 2 + dy, ix - 8 + dx:ix + 5 + dx].astype(np.float64)
        offsets = (np.arange(len(profile)) - 6) * px_um
        keep = profile >= 0.2 * profile.max()
        (_, _, sigma), _ = curve_fit(lambda t, a, m, s: a * np.exp(-0.5 * ((t - m) / s) ** 2), offsets[keep],
                                     profile[keep], p0=(profile.max(), 0.0, 2 * px_um))
        widths.append(2 * math.sqrt(2 * math.log(2)) * abs(sigma) * 1e3)
    return float(np.median(widths))


def test_estimated_carriers_are_near_the_truth(stack):
    raw, _ = stack
    carriers = HexSim().reconstruct(raw).info["carriers"]
    truth, _ = hex_components(PATTERN)
    for carrier in carriers:
        error = np.min(np.hypot(*(truth[1:] - np.array(carrier["k_vector_per_um"])).T))
        assert error < 0.005 * PARAMS.carrier_per_um
        assert carrier["amplitude"] == pytest.approx(1 / 6, rel=0.1)  # each pair's cosine: −1/3 of the mean 3


def test_hexsim_is_laterally_finer_than_widefield(stack):
    raw, points = stack
    px, dz = PARAMS.target_pixel_size_nm * 1e-3, PARAMS.target_z_step_nm * 1e-3
    sim = HexSim().reconstruct(raw).image
    wide = Widefield().reconstruct(raw)
    assert sim.shape == wide.shape == PARAMS.target_shape
    inside = (np.abs(points[:, 2]) < 1.3)
    fwhm_sim = _median_lateral_fwhm_nm(sim, points[inside], px, dz)
    fwhm_wide = _median_lateral_fwhm_nm(wide, points[inside], px, dz)
    assert fwhm_wide / fwhm_sim >= 1.5, (fwhm_wide, fwhm_sim)


def test_oracle_carriers_reconstruct_alike(stack):
    raw, _ = stack
    oracle = HexSim().reconstruct(dataclasses.replace(raw, pattern=PATTERN, oracle=True))
    estimated = HexSim().reconstruct(raw)
    assert oracle.info["oracle"] and np.isinf(oracle.info["carriers"][0]["peak_ratio"])
    correlation = np.corrcoef(oracle.image.ravel(), estimated.image.ravel())[0, 1]
    assert correlation > 0.95


def test_hexsim_refuses_other_data(stack):
    raw, _ = stack
    with pytest.raises(ValueError, match="lssim3d"):
        HexSim().reconstruct(dataclasses.replace(raw, modality=MODALITY_SIM2D))
    with pytest.raises(ValueError, match="7 steps"):
        HexSim().reconstruct(dataclasses.replace(raw, frames=raw.frames[:-1], frame_patterns=raw.frame_patterns[:-1]))


def test_a_single_hexagonal_plane_reconstructs_from_the_command_line(tmp_path):
    """7 frames of one thin plane in focus (hexagonal pattern, rotated and phase-shifted): the
    carriers hexsim estimates through `simbench reconstruct` are within 1 % of the true ones."""
    from simbench.types import HexPattern

    params = LightSheetParams(shape=(128, 128))
    optics = params.optics
    fine = params.pixel_size_nm / 2
    pattern = HexPattern(frequency_per_um=0.85 * optics.cutoff_per_um, angle_rad=0.3, phase_offsets_rad=(0.4, -1.1),
                         sheet_fwhm_nm=params.sheet_fwhm_nm)
    frames = hex_plane(pattern, params, np.random.default_rng(7))
    write_image(tmp_path / "hex.tif", frames, params.pixel_size_nm)
    res = run_cli("reconstruct", "--method", "hexsim", str(tmp_path / "hex.tif"), "-o", str(tmp_path / "out.tif"),
                  "--na", str(optics.na), "--wavelength", str(optics.wavelength_nm), "--refractive-index",
                  str(optics.refractive_index), "--params-json", str(tmp_path / "carriers.json"))
    assert res.returncode == 0, res.stderr
    image, pixel = read_image(tmp_path / "out.tif")
    assert image.shape == (256, 256) and pixel == pytest.approx(fine, rel=1e-6)
    estimated = [np.array(c["k_vector_per_um"]) for c in json.loads((tmp_path / "carriers.json").read_text())["carriers"]]
    true = hex_components(pattern)[0][1:4]
    for k in true:  # each true carrier (up to sign) has an estimate within 1 % of |k|
        error = min(min(np.linalg.norm(e - k), np.linalg.norm(e + k)) for e in estimated)
        assert error < 0.01 * np.linalg.norm(k), (k, estimated)

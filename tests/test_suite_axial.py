"""Suite group ``axial`` (SCIENCE.md §4–5): samples, determinism, pools, sweeps, axial acceptance,
the target's reference scores, and rl-deconv on light-sheet stacks."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from simbench_plugins.hexsim import HexSim
from simbench_plugins.rl_deconv import RichardsonLucy
from simbench_plugins.widefield import Widefield

from simbench import MODALITY_LSSIM3D, RawStack
from simbench.harness.digest import sample_digest
from simbench.harness.leaderboard import REFERENCE_METHOD, render
from simbench.harness.manifest import blas_kernel, expected, load_manifest
from simbench.harness.evaluation import as_image, reference_scores
from simbench.harness.runner import RunRequest, run
from simbench.metrics.acf import acf_fwhm
from simbench.metrics.axial import AXIAL_METRICS, central_axial_profile, grating_contrast
from simbench.metrics.base import MetricConfig, ScoreInput
from simbench.physics import LightSheetParams, StackOperator, simulate_confocal_target, simulate_lightsheet
from simbench.plugin.manager import PluginManager
from simbench.suites.axial import (
    AxialChromatin,
    AxialNoise,
    AxialSpheres,
    AxialTwoPoint,
    light_sheet_sample,
)

PARAMS = LightSheetParams()
TWO_POINT_METRICS = {m.name: m for m in AXIAL_METRICS}


@pytest.fixture(scope="module")
def twopoint():
    """axial/twopoint sample 0: two points 900 nm apart on the axis (full size)."""
    return AxialTwoPoint().make_sample(0, "quick", 0)


def _score(metric_name: str, volume: np.ndarray, sample) -> float:
    return TWO_POINT_METRICS[metric_name](ScoreInput(volume, sample.target, sample.target_pixel_size_nm,
                                                     sample=sample))


def test_group_registered_with_sizes_and_metrics():
    registry = PluginManager(autoload=False).load()
    members = registry.suite_group("axial")
    assert [s.name for s in members] == [f"axial/{n}" for n in
                                         ("chromatin", "spheres", "microtubules", "gratings", "twopoint", "noise")]
    for suite in members:
        assert suite.modality == MODALITY_LSSIM3D
        assert {"mse", "ssim"} <= set(suite.metrics) and set(suite.primary_metrics) <= set(suite.metrics)
        assert suite.sizes["quick"] <= suite.sizes["full"]
        if suite.name not in ("axial/gratings", "axial/twopoint"):
            assert {"fwhm_x", "fwhm_y", "fwhm_z"} <= set(suite.metrics)
    # only the metrics valid on each: no FWHM of grating planes, no axial FWHM across two points
    assert registry.suite("axial/twopoint").metrics == ("two_point_dip", "fwhm_x", "fwhm_y", "mse", "ssim")
    assert registry.suite("axial/gratings").metrics == ("grating_contrast", "mse", "ssim")
    # ranked by the MSE on the support: a pointwise power of a stack improves FWHM, SSIM, dip, contrast
    assert all(suite.primary_metrics == ("mse",) for suite in members)


def test_sample_shapes_voxels_truth_and_determinism(twopoint):
    sample = twopoint
    assert sample.raw.frames.shape == (280, 256, 256) and sample.raw.frames.dtype == np.float32
    assert sample.raw.z_step_nm == pytest.approx(350.0) and sample.raw.optics.pixel_size_nm == pytest.approx(108.33, 1e-3)
    assert sample.raw.frame_patterns == tuple(range(7)) * 40
    assert sample.target.shape == (120, 512, 512)
    assert sample.target_pixel_size_nm == pytest.approx(54.17, 1e-3)
    assert sample.target_z_step_nm == pytest.approx(116.67, 1e-3)
    assert sample.truth["pattern"] != sample.raw.pattern.to_dict()  # the true pattern is not the nominal one
    assert sample.meta["sweep"] == {"separation_nm": 900.0}
    assert sample.meta["axial_profile"]["positions_nm"] == [-450.0, 450.0]
    assert load_manifest("axial-twopoint") is not None, "datasets/axial-twopoint.json is missing: run simbench manifest"
    committed = expected(AxialTwoPoint(), "quick", 0)
    if committed is None:  # light-sheet bytes are per BLAS kernel (simbench.harness.manifest)
        pytest.skip(f"the manifest holds no digests made with this CPU's BLAS kernel ({blas_kernel()})")
    assert committed.digests[sample.id] == sample_digest(sample)


def test_sweeps_share_everything_but_the_swept_value():
    suite = AxialNoise()
    low, high = (suite.make_sample(i, "quick", 0) for i in range(2))
    assert low.meta["sweep"] == {"photons_per_emitter": 16.0} and high.meta["sweep"] == {"photons_per_emitter": 64.0}
    np.testing.assert_array_equal(low.target, high.target)  # the same structure
    assert low.truth == high.truth  # the same pattern
    assert high.raw.frames.sum() == pytest.approx(4 * low.raw.frames.sum(), rel=0.05)


def test_train_pools_are_disjoint_from_the_test_samples():
    for cls in (AxialChromatin, AxialSpheres):
        suite = cls()
        test = [suite.make_sample(i, "quick", 0) for i in range(suite.sizes["quick"])]
        train = [suite.make_train_sample(i, 0) for i in range(2)]
        assert all(s.meta["pool"] == "train" and "sweep" not in s.meta for s in train)
        digests = {sample_digest(s) for s in test}
        assert not digests & {sample_digest(s) for s in train}
        assert not any(np.array_equal(a.target, b.target) for a in test for b in train)


def test_two_points_900_nm_target_dip_deeper_than_hexsim(twopoint):
    """SCIENCE.md §4: the target resolves two points 900 nm apart (dip ≥ 26 %), deeper than hexsim;
    every method's dip is a number."""
    target_dip = _score("two_point_dip", twopoint.target, twopoint)
    dips = {cls.name: _score("two_point_dip", as_image(cls().reconstruct(twopoint.raw), twopoint.target.shape)[0],
                             twopoint) for cls in (Widefield, HexSim)}
    print(f"two points 900 nm: dip target {target_dip:.1f} %, " + ", ".join(f"{k} {v:.1f} %" for k, v in dips.items()))
    assert target_dip >= 26.0
    assert target_dip > dips["hexsim"]
    assert all(np.isfinite(v) and 0 <= v <= 100 for v in dips.values())


def test_target_grating_contrast_rises_with_separation():
    """SCIENCE.md §4: the confocal target's axial grating contrast rises monotonically with the
    separation.  Planes of 1 × 1 µm at 400 points/µm² (not the suite's 10 000: the contrast depends
    on the planes' positions, not their texture) keep the test fast."""
    from simbench.phantoms.pointclouds import axial_grating

    small = LightSheetParams(shape=(64, 64), n_planes=16)
    contrasts = []
    for separation in (600.0, 900.0, 1200.0, 2000.0):
        points = axial_grating(np.random.default_rng(0), separation, density_per_um2=400.0)
        profile, z_nm = central_axial_profile(simulate_confocal_target(points, small), small.target_pixel_size_nm,
                                              small.target_z_step_nm, 165.0)
        contrasts.append(grating_contrast(profile, z_nm, np.unique(points[:, 2]) * 1e3))
    print("target grating contrast at 600, 900, 1200, 2000 nm:", np.round(contrasts, 3))
    assert np.all(np.diff(contrasts) > 0)


def test_reference_scores_and_leaderboard_row(tmp_path):
    """The runner records the target's own scores for metrics that measure an image alone, and the
    leaderboard shows them as a reference row after the methods (also in the sweep tables)."""
    registry = PluginManager(autoload=False).load()
    run(registry, RunRequest(methods=["widefield"], suite="axial/twopoint", size="quick", results_dir=tmp_path,
                             progress=False))
    text = render(tmp_path, "axial", "md", {})
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert REFERENCE_METHOD in text and "two_point_dip ◎ vs separation_nm" in text
    table = [r for r in rows if "widefield" in r or REFERENCE_METHOD in r][:2]
    assert REFERENCE_METHOD in table[1]  # after the methods
    assert "—" in table[1]  # mse and ssim need a target to compare with


def test_reference_scores_skip_comparative_metrics(twopoint):
    registry = PluginManager(autoload=False).load()
    metrics = [registry.metric(m) for m in AxialTwoPoint.metrics]
    fields = reference_scores(twopoint, metrics, MetricConfig())
    scores = fields["reference"]
    assert set(scores) == {"fwhm_x", "fwhm_y", "two_point_dip"}
    assert scores["fwhm_x"] == pytest.approx(125.0, rel=0.1)  # the confocal target (theory: 125 nm)
    assert set(fields.get("reference_uncertainty", {})) <= {"fwhm_x", "fwhm_y"}  # the ACF's jackknife


def test_bad_input_errors(twopoint):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="empty"):
        light_sheet_sample("x", np.zeros((0, 3)), rng, 100.0, {})
    with pytest.raises(ValueError, match="NaN"):
        light_sheet_sample("x", np.array([[0.0, 0.0, np.nan]]), rng, 100.0, {})
    with pytest.raises(ValueError, match="photons"):
        light_sheet_sample("x", np.zeros((1, 3)), rng, 0.0, {})
    one_plane = twopoint.target[:1]
    with pytest.raises(ValueError, match="samples along z"):
        acf_fwhm(one_plane, (116.67, 54.17, 54.17))
    with pytest.raises(ValueError, match="shape"):  # fitted to the target first: it must match its grid
        _score("two_point_dip", one_plane, twopoint)
    with pytest.raises(ValueError, match="planes"):
        central_axial_profile(one_plane, twopoint.target_pixel_size_nm, twopoint.target_z_step_nm, 55.0)
    with pytest.raises(ValueError, match="voxel_nm"):
        acf_fwhm(twopoint.target, (54.17, 54.17))  # mismatched voxel sizes: two for a volume
    with pytest.raises(ValueError, match="axial_profile"):
        _score("two_point_dip", twopoint.target, dataclasses.replace(twopoint, meta={}))


def test_stack_operator_is_the_forward_model_and_its_adjoint():
    """H x of points on the target grid equals the simulator's plane means; <Hx, r> = <x, Hᵀr>."""
    small = LightSheetParams(shape=(64, 64), n_planes=16)
    op = StackOperator.create((16, 64, 64), small.optics, small.sheet_fwhm_nm, small.z_step_nm)
    rng = np.random.default_rng(1)
    x, r = rng.random(op.fine_shape).astype(np.float32), rng.random(op.raw_shape).astype(np.float32)
    assert np.vdot(op.forward(x).astype(np.float64), r) == pytest.approx(np.vdot(x.astype(np.float64), op.adjoint(r)),
                                                                         rel=1e-5)
    volume, points = np.zeros(op.fine_shape, np.float32), []
    for iz, iy, ix in ((24, 30, 33), (20, 50, 10)):
        volume[iz, iy, ix] = 1.0
        points.append(((ix - 64) * small.target_pixel_size_nm * 1e-3, (iy - 64) * small.target_pixel_size_nm * 1e-3,
                       (iz - 24) * small.target_z_step_nm * 1e-3))
    simulated = simulate_lightsheet(np.array(points), small, None, 7.0).reshape(16, 7, 64, 64).mean(axis=1)
    assert np.abs(op.forward(volume) - simulated).max() < 2e-3 * simulated.max()


def test_rl_deconv_on_stacks_is_finer_than_widefield():
    """rl-deconv accepts light-sheet stacks: output on the target grid, laterally and axially finer
    than the widefield baseline (ACF-FWHM of a few points)."""
    small = LightSheetParams(shape=(64, 64), n_planes=16)
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.uniform(-2.5, 2.5, (12, 2)), rng.uniform(-1.0, 1.0, 12)])
    frames = np.random.default_rng(4).poisson(simulate_lightsheet(points, small, small.nominal_pattern(), 4000.0))
    raw = RawStack(frames=frames.astype(np.float32), optics=small.optics, pattern=small.nominal_pattern(),
                   frame_patterns=tuple(range(7)) * 16, modality=MODALITY_LSSIM3D, z_step_nm=small.z_step_nm)
    voxel = (small.target_z_step_nm, small.target_pixel_size_nm, small.target_pixel_size_nm)
    rl, wide = RichardsonLucy().reconstruct(raw), Widefield().reconstruct(raw)
    assert rl.shape == wide.shape == small.target_shape and rl.dtype == np.float32 and rl.min() >= 0
    fwhm_rl, fwhm_wide = acf_fwhm(rl, voxel), acf_fwhm(wide, voxel)
    print("FWHM x/z: rl", round(fwhm_rl["x"]), round(fwhm_rl["z"]), "widefield", round(fwhm_wide["x"]),
          round(fwhm_wide["z"]))
    assert fwhm_rl["x"] < 0.85 * fwhm_wide["x"] and fwhm_rl["z"] < 0.85 * fwhm_wide["z"]
    with pytest.raises(ValueError, match="z step"):
        RichardsonLucy().reconstruct(dataclasses.replace(raw, z_step_nm=None))

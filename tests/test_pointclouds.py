"""Point-cloud samples against their specifications (SCIENCE.md §4) and the real chromatin ensemble."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from simbench.phantoms.pointclouds import (
    PointCloudError,
    axial_grating,
    chromatin,
    load_points,
    microtubules,
    sphere,
    two_points,
)

from conftest import SHARED_DATA

CHROMATIN_FILE = SHARED_DATA / "chromatin-wang2015" / "50100.mat"


def radius_of_gyration(points: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))


def nearest_neighbour_um(points: np.ndarray) -> np.ndarray:
    return cKDTree(points).query(points, k=2)[0][:, 1]


def test_chromatin_shape_scale_and_determinism() -> None:
    a = chromatin(np.random.default_rng(3))
    assert a.shape == (137, 3) and a.dtype == np.float64
    assert np.abs(a).max() == pytest.approx(10.0, rel=0.25)  # 10 µm before z centring
    assert a[:, 2].mean() == pytest.approx(0.0, abs=1e-12)
    assert chromatin(np.random.default_rng(3)).tobytes() == a.tobytes()
    assert chromatin(np.random.default_rng(4)).tobytes() != a.tobytes()


@pytest.mark.skipif(not CHROMATIN_FILE.is_file(), reason="real chromatin ensemble ../shared/data absent")
def test_chromatin_statistics_match_the_real_ensemble() -> None:
    real = [load_points(CHROMATIN_FILE, index=i) for i in range(100)]
    ours = [chromatin(np.random.default_rng(seed)) for seed in range(100)]
    for stat in (lambda s: np.mean([radius_of_gyration(p) for p in s]),
                 lambda s: np.median(np.concatenate([nearest_neighbour_um(p) for p in s]))):
        assert stat(ours) == pytest.approx(stat(real), rel=0.2)


@pytest.mark.parametrize("n", [1000, 17000])
def test_sphere_is_uniform_in_the_ball(n: int) -> None:
    points = sphere(np.random.default_rng(0), n)
    r = np.linalg.norm(points, axis=1)  # z centring moves the ball by its sample mean z only
    assert points.shape == (n, 3) and np.hypot(points[:, 0], points[:, 1]).max() <= 5.0
    # uniform in a ball: P(r < R/2) = 1/8, mean r = 3R/4
    assert np.mean(r < 2.5) == pytest.approx(1 / 8, abs=4 / np.sqrt(n))
    assert r.mean() == pytest.approx(3.75, rel=0.03)
    assert sphere(np.random.default_rng(0), n, z_scale=0.5)[:, 2].std() == pytest.approx(points[:, 2].std() / 2,
                                                                                          rel=1e-9)


@pytest.mark.parametrize("n", [8000, 13000])
def test_microtubules_are_shallow_thin_filaments(n: int) -> None:
    points = microtubules(np.random.default_rng(1), n)
    assert points.shape == (n, 3)
    assert np.ptp(points[:, 2]) < 1.5
    assert min(np.ptp(points[:, 0]), np.ptp(points[:, 1])) > 3.0  # a field of several µm
    # points crowd on lines: nearest neighbours far closer than for the same count spread uniformly
    uniform = np.random.default_rng(2).uniform(points.min(axis=0), points.max(axis=0), points.shape)
    assert np.median(nearest_neighbour_um(points)) < 0.3 * np.median(nearest_neighbour_um(uniform))


def test_axial_grating_planes_density_and_separation() -> None:
    points = axial_grating(np.random.default_rng(0), 900.0)
    assert points.shape == (30000, 3)
    np.testing.assert_allclose(np.unique(points[:, 2]), [-0.9, 0.0, 0.9])
    assert np.all(np.abs(points[:, :2]) <= 0.5)
    assert axial_grating(np.random.default_rng(0), 900.0).tobytes() == points.tobytes()


def test_two_points_are_axial() -> None:
    np.testing.assert_allclose(two_points(900.0), [[0, 0, -0.45], [0, 0, 0.45]])


def test_csv_loader_units_and_header(tmp_path) -> None:
    path = tmp_path / "cloud.csv"
    path.write_text("x,y,z\n100,200,300\n-100,0,50\n")
    np.testing.assert_allclose(load_points(path, unit="nm"), [[0.1, 0.2, 0.3], [-0.1, 0.0, 0.05]])
    bare = tmp_path / "bare.csv"
    bare.write_text("1,2,3\n")
    np.testing.assert_allclose(load_points(bare), [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("content, match", [
    ("x,y,z\n", "empty"),
    ("1,2,nan\n", "NaN"),
    ("1,2\n3,4\n", "columns"),
    ("a,b,c\nfoo,bar,baz\n", "CSV"),
])
def test_bad_csv_is_a_clear_error(tmp_path, content: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(PointCloudError, match=match) as info:
        load_points(path)
    assert "bad.csv" in str(info.value)


def test_bad_files_and_units(tmp_path) -> None:
    with pytest.raises(PointCloudError, match="no such file"):
        load_points(tmp_path / "missing.csv")
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"not a mat file")
    with pytest.raises(PointCloudError, match="junk.mat"):
        load_points(junk)
    with pytest.raises(PointCloudError, match="unit"):
        load_points(junk, unit="inch")


def test_mat_loader_reads_an_ensemble(tmp_path) -> None:
    from scipy.io import savemat

    ensemble = np.random.default_rng(0).normal(size=(2, 50, 3)) * 300
    savemat(tmp_path / "e.mat", {"Ensemble": ensemble})
    points = load_points(tmp_path / "e.mat", index=1)
    expected = ensemble[1] * 10 / np.abs(ensemble[1]).max()
    np.testing.assert_allclose(points[:, :2], expected[:, :2])
    assert points[:, 2].mean() == pytest.approx(0.0, abs=1e-12)
    savemat(tmp_path / "other.mat", {"Points": ensemble})
    with pytest.raises(PointCloudError, match="Ensemble"):
        load_points(tmp_path / "other.mat")

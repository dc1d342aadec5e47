"""Point-cloud samples for the axial suites (SCIENCE.md §4): (N, 3) float64 arrays of
(x, y, z) in µm, continuous positions, z centred; randomness only through ``rng``."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from simbench.errors import SimbenchError

#: chromatin structures are rescaled so max |coord| = 10 µm (SCIENCE.md §4, Boland et al.)
CHROMATIN_MAX_COORD_UM = 10.0
#: confined worm-like chain, in units of the mean bond: confinement radius, distance of the
#: confinement centre from the first locus (which sits at the origin, as in the Wang et al.
#: ensemble, so that max |coord| scaling sizes it alike), and the turning noise per bond
#: (mean cos of the bond angle ≈ 0.66, as measured on that ensemble); the bond lengths are
#: log-normal (σ 0.6: coefficient of variation ≈ 0.65, as measured)
_WLC_CONFINEMENT = 18.0
_WLC_CENTRE_OFFSET = 0.9
_WLC_TURN = 0.6
_WLC_BOND_SIGMA = 0.6
#: microtubule tube radius (SCIENCE.md §4: SMLM MT1 data, ≈ 12.5 nm) and geometry
MICROTUBULE_RADIUS_UM = 0.0125
_MT_FIELD_UM = 6.0
_MT_Z_RANGE_UM = 1.2
_MT_FILAMENTS = 6


class PointCloudError(SimbenchError):
    """A point cloud that cannot be used (empty, NaN, wrong columns, unreadable)."""


def _z_centred(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    points[:, 2] -= points[:, 2].mean()
    return points


def chromatin(rng: np.random.Generator, n_loci: int = 137) -> np.ndarray:
    """A chromatin-like polymer: a worm-like chain of ``n_loci`` loci reflected inside a sphere,
    scaled to max |coord| = 10 µm, z centred (statistics matched to Wang et al. 2015)."""
    centre = rng.standard_normal(3)
    centre *= _WLC_CENTRE_OFFSET * _WLC_CONFINEMENT / np.linalg.norm(centre)
    bonds = rng.lognormal(0.0, _WLC_BOND_SIGMA, n_loci - 1)
    turns = rng.standard_normal((n_loci - 1, 3)) * _WLC_TURN
    direction = rng.standard_normal(3)
    points = np.zeros((n_loci, 3))
    for i in range(1, n_loci):
        direction = direction / np.linalg.norm(direction) + turns[i - 1]
        direction /= np.linalg.norm(direction)
        outward = points[i - 1] + bonds[i - 1] * direction - centre
        if np.linalg.norm(outward) > _WLC_CONFINEMENT:  # reflect off the confining wall
            normal = outward / np.linalg.norm(outward)
            direction = direction - 2.0 * max(float(direction @ normal), 0.0) * normal
        points[i] = points[i - 1] + bonds[i - 1] * direction
    return _z_centred(points * (CHROMATIN_MAX_COORD_UM / np.abs(points).max()))


def sphere(rng: np.random.Generator, n_points: int, radius_um: float = 5.0, z_scale: float = 1.0) -> np.ndarray:
    """``n_points`` uniform in a ball of ``radius_um`` (SCIENCE.md §4: 1 000 – 17 000 points);
    ``z_scale`` 0.5 reproduces the reference code's halved z."""
    direction = rng.standard_normal((n_points, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    points = direction * (radius_um * rng.uniform(size=(n_points, 1)) ** (1.0 / 3.0))
    points[:, 2] *= z_scale
    return _z_centred(points)


def microtubules(rng: np.random.Generator, n_points: int) -> np.ndarray:
    """SMLM-like microtubules: a few long, gently curved filaments across a 6 µm field,
    points on tubes of radius 12.5 nm, z range < 1.5 µm (SCIENCE.md §4: ≈ 8 000 / 13 000 points)."""
    t = np.linspace(0.0, 1.0, 400)
    paths = []
    for _ in range(_MT_FILAMENTS):
        start, end = rng.uniform(-_MT_FIELD_UM / 2, _MT_FIELD_UM / 2, (2, 2))
        bend = rng.normal(0.0, 0.6, 2)  # lateral sag at the middle, µm
        xy = start + np.outer(t, end - start) + np.outer(np.sin(np.pi * t), bend)
        z = rng.uniform(-0.4, 0.4) * _MT_Z_RANGE_UM + 0.1 * _MT_Z_RANGE_UM * np.sin(np.pi * t * rng.uniform(1, 2))
        paths.append(np.column_stack([xy, z]))
    lengths = np.array([np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in paths])
    which = rng.choice(len(paths), size=n_points, p=lengths / lengths.sum())
    u = rng.uniform(size=n_points)
    points = np.empty((n_points, 3))
    for k, path in enumerate(paths):
        chosen = which == k
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
        s = u[chosen] * arc[-1]
        points[chosen] = np.column_stack([np.interp(s, arc, path[:, i]) for i in range(3)])
    angle = rng.uniform(0.0, 2.0 * np.pi, n_points)  # on the tube wall, in the plane ⟂ z (shallow filaments)
    points[:, 0] += MICROTUBULE_RADIUS_UM * np.cos(angle)
    points[:, 2] += MICROTUBULE_RADIUS_UM * np.sin(angle)
    return _z_centred(points)


def axial_grating(rng: np.random.Generator, separation_nm: float, n_planes: int = 3,
                  density_per_um2: float = 10_000.0, size_um: float = 1.0) -> np.ndarray:
    """``n_planes`` planes of ``size_um`` × ``size_um`` at ``density_per_um2`` points, ``separation_nm``
    apart along z, centred (SCIENCE.md §4: 1 × 1 µm, 10 000 points/µm², 3 planes 900 nm apart)."""
    per_plane = round(density_per_um2 * size_um**2)
    planes = []
    for k in range(n_planes):
        xy = rng.uniform(-size_um / 2, size_um / 2, (per_plane, 2))
        z = np.full((per_plane, 1), (k - (n_planes - 1) / 2) * separation_nm / 1e3)
        planes.append(np.hstack([xy, z]))
    return np.vstack(planes)


def two_points(separation_nm: float) -> np.ndarray:
    """Two points on the optical axis, ``separation_nm`` apart, centred (SCIENCE.md §4: 900 nm)."""
    half = separation_nm / 2e3
    return np.array([[0.0, 0.0, -half], [0.0, 0.0, half]])


def _validated(points: np.ndarray, path: Path) -> np.ndarray:
    if points.size == 0:
        raise PointCloudError(f"{path}: the point cloud is empty")
    if points.ndim != 2 or points.shape[1] != 3:
        raise PointCloudError(f"{path}: expected (x, y, z) columns; got an array of shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise PointCloudError(f"{path}: contains NaN or infinite coordinates")
    return points


_UNITS_UM = {"nm": 1e-3, "um": 1.0, "µm": 1.0}


def load_points(path: str | Path, unit: str = "um", index: int = 0) -> np.ndarray:
    """Read a user's point cloud as (N, 3) µm: a CSV of x, y, z columns (an optional header
    line) in ``unit`` ("nm" or "um"), or a MATLAB file with an ``Ensemble`` array of shape
    (structures, points, 3) like the Wang et al. chromatin file (structure ``index``, rescaled
    to max |coord| = 10 µm as Boland et al. did).  The coordinates are returned as stored
    (z not re-centred) for CSV."""
    path = Path(path)
    if unit not in _UNITS_UM:
        raise PointCloudError(f"unknown unit {unit!r}; choose from nm, um")
    if not path.is_file():
        raise PointCloudError(f"cannot read {path}: no such file")
    if path.suffix.lower() == ".mat":
        return _load_ensemble(path, index)
    try:
        with warnings.catch_warnings():  # an empty file is reported below, not warned about
            warnings.simplefilter("ignore", UserWarning)
            points = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=_header_lines(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PointCloudError(f"cannot read {path} as CSV of x, y, z: {exc}") from None
    return _validated(points, path) * _UNITS_UM[unit]


def _header_lines(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        first = handle.readline().split(",")[0].strip()
    try:
        float(first)
    except ValueError:
        return 1
    return 0


def _load_ensemble(path: Path, index: int) -> np.ndarray:
    from scipy.io import loadmat

    try:
        contents = loadmat(path, variable_names=["Ensemble"])
    except Exception as exc:  # noqa: BLE001 - scipy raises many kinds for a bad file
        raise PointCloudError(f"cannot read {path} as a MATLAB file: {exc}") from None
    if "Ensemble" not in contents:
        raise PointCloudError(f"{path}: no 'Ensemble' variable")
    ensemble = np.asarray(contents["Ensemble"], dtype=np.float64)
    if ensemble.ndim != 3 or ensemble.shape[2] != 3:
        raise PointCloudError(f"{path}: 'Ensemble' must be (structures, points, 3); got {ensemble.shape}")
    if not 0 <= index < ensemble.shape[0]:
        raise PointCloudError(f"{path}: structure {index} out of range (0 … {ensemble.shape[0] - 1})")
    points = _validated(ensemble[index], path)
    if not np.abs(points).max() > 0:
        raise PointCloudError(f"{path}: structure {index} has all coordinates 0")
    return _z_centred(points * (CHROMATIN_MAX_COORD_UM / np.abs(points).max()))

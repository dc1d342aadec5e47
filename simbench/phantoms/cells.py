"""Procedural fluorescence-like cell scenes (ground truth for 2D SIM).

A scene shows part of one cell: its plasma membrane (a closed smooth outline
scaled to the field, so every scene has inside, boundary and outside),
microtubules (curved, 25 nm wide), actin bundles (straighter, one width of
50-150 nm per scene), organelle outlines (0.3-1.2 um, up to 3:1 elongated),
vesicles (rings of 100-300 nm or filled puncta of 50-150 nm radius) and a weak
diffuse cytoplasm.  All physical sizes are in nm and become pixels through
``pixel_size_nm``; object counts scale with the field area in um^2.

Rendering is anti-aliased and never loops over pixels: every structure is
sampled as points (0.25 px apart) with weights, the points are splatted
bilinearly onto the grid and each layer is blurred once by a Gaussian of the
structure's width.

Train and test scenes come from disjoint seed streams, not from different
images: :func:`scene_rng` seeds ``SeedSequence([seed, POOL_KEY[pool],
index])`` and the pool keys differ, so no train scene equals a test scene.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.ndimage import gaussian_filter

#: Pool -> seed-stream key used by :func:`scene_rng` (distinct per pool).
POOL_KEY: dict[str, int] = {"train": 0x5EED_7A11, "test": 0x5EED_7E57}

#: Gaussian full width at half maximum per standard deviation.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Distance between sample points along outlines and filaments (pixels).
POINT_SPACING_PX = 0.25
#: Width of microtubules, membranes and vesicle labels (nm).
THIN_WIDTH_NM = 25.0
#: Range of actin-bundle widths, one drawn per scene (nm).
BUNDLE_WIDTH_NM = (50.0, 150.0)
#: Vesicles per um^2; ring radii and punctum radii (nm).
VESICLE_DENSITY_PER_UM2 = 0.4
RING_RADIUS_NM = (100.0, 300.0)
PUNCTUM_RADIUS_NM = (50.0, 150.0)
#: Organelles per um^2 and their mean radii (nm).
ORGANELLE_DENSITY_PER_UM2 = 0.02
ORGANELLE_RADIUS_NM = (300.0, 1200.0)
#: Cytoplasm level (fraction of a bright structure) and its correlation length (nm).
CYTOPLASM_LEVEL = (0.03, 0.08)
CYTOPLASM_CORRELATION_NM = 800.0


@dataclass(frozen=True)
class _FilamentKind:
    """Statistics of one filament family; lengths in um, curvature in 1/um."""

    density_per_um2: float
    length_um: tuple[float, float]
    curvature_per_um: float
    bend_period_um: tuple[float, float]


MICROTUBULES = _FilamentKind(0.06, (4.0, 15.0), 0.4, (1.5, 6.0))
ACTIN_BUNDLES = _FilamentKind(0.03, (3.0, 10.0), 0.1, (3.0, 10.0))


def scene_rng(seed: int, pool: str, index: int) -> np.random.Generator:
    """Generator for scene ``index`` of ``pool``; train and test streams never coincide."""
    if pool not in POOL_KEY:
        raise ValueError(f"unknown pool {pool!r}; expected one of {sorted(POOL_KEY)}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative; got {seed}, {index}")
    return np.random.default_rng(np.random.SeedSequence([seed, POOL_KEY[pool], index]))


@dataclass(frozen=True)
class _Contour:
    """Closed star-shaped outline around (cy, cx), densely sampled; pixels."""

    y: np.ndarray
    x: np.ndarray
    cy: float
    cx: float

    def arc_lengths(self) -> np.ndarray:
        """Outline length represented by each sample (pixels)."""
        return 0.5 * np.hypot(np.roll(self.y, -1) - np.roll(self.y, 1),
                              np.roll(self.x, -1) - np.roll(self.x, 1))

    @functools.cached_property
    def _polar_edge(self) -> tuple[np.ndarray, np.ndarray]:
        """Outline as (angle, radius) sorted by angle and wrapped by one sample each side."""
        phi = np.arctan2(self.y - self.cy, self.x - self.cx)
        order = np.argsort(phi)
        phi, rho = phi[order], np.hypot(self.y - self.cy, self.x - self.cx)[order]
        return (np.concatenate([[phi[-1] - 2 * np.pi], phi, [phi[0] + 2 * np.pi]]),
                np.concatenate([[rho[-1]], rho, [rho[0]]]))

    def inside(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Anti-aliased inside fraction in [0, 1] at positions (y, x) in pixels."""
        edge = np.interp(np.arctan2(y - self.cy, x - self.cx), *self._polar_edge)
        return np.clip(edge - np.hypot(y - self.cy, x - self.cx) + 0.5, 0.0, 1.0)


class _Canvas:
    """Weighted sample points rendered as one layer blurred to ``fwhm_px``."""

    def __init__(self, shape: tuple[int, int], fwhm_px: float) -> None:
        self.shape = shape
        self.sigma_px = fwhm_px / FWHM_PER_SIGMA
        self._points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_line(self, y: np.ndarray, x: np.ndarray, lengths_px: np.ndarray,
                 brightness: np.ndarray | float) -> None:
        """Line samples with ``lengths_px`` each; peak ≈ ``brightness`` after rendering."""
        # Bilinear splat (variance 1/6 px^2) and blur give a peak of 1/sqrt(2*pi*var).
        peak_norm = np.sqrt(2.0 * np.pi * (self.sigma_px ** 2 + 1.0 / 6.0))
        self._points.append((y, x, lengths_px * peak_norm * brightness))

    def add_area(self, y: np.ndarray, x: np.ndarray, areas_px2: np.ndarray,
                 brightness: np.ndarray | float) -> None:
        """Area samples with ``areas_px2`` each; level ``brightness`` inside."""
        self._points.append((y, x, areas_px2 * brightness))

    def render(self) -> np.ndarray:
        """Splat all points bilinearly and blur; float32 (H, W)."""
        y, x, w = (np.concatenate(parts) for parts in zip(*self._points))
        return gaussian_filter(_splat(self.shape, y, x, w), self.sigma_px)


def _splat(shape: tuple[int, int], y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bilinear splat of weights ``w`` at pixel positions (y, x); float32 (H, W)."""
    height, width = shape
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    fy, fx = y - y0, x - x0
    rows = np.concatenate([y0, y0, y0 + 1, y0 + 1])
    cols = np.concatenate([x0, x0 + 1, x0, x0 + 1])
    weights = np.concatenate([w * (1 - fy) * (1 - fx), w * (1 - fy) * fx,
                              w * fy * (1 - fx), w * fy * fx])
    ok = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    flat = np.bincount(rows[ok] * width + cols[ok], weights=weights[ok], minlength=height * width)
    return flat.reshape(shape).astype(np.float32)


def _random_blob(rng: np.random.Generator, cy: float, cx: float, radius_px: float,
                 max_aspect: float, roughness: float) -> _Contour:
    """Smooth closed outline of mean radius ``radius_px``, elongated up to ``max_aspect``."""
    aspect = rng.uniform(1.0, max_aspect)
    angle = rng.uniform(0.0, np.pi)
    orders = np.arange(2, 6)
    amplitudes = rng.normal(0.0, roughness, orders.size) / orders
    phases = rng.uniform(0.0, 2.0 * np.pi, orders.size)
    stretch = np.sqrt(aspect) * (1 + np.sum(orders * np.abs(amplitudes)))
    n_points = max(16, int(np.ceil(2 * np.pi * radius_px * stretch / POINT_SPACING_PX)))
    t = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    wobble = 1.0 + amplitudes @ np.cos(np.outer(orders, t) + phases[:, None])
    r = radius_px * np.maximum(wobble, 0.2)
    u, v = r * np.sqrt(aspect) * np.cos(t), r / np.sqrt(aspect) * np.sin(t)
    return _Contour(y=cy + u * np.sin(angle) + v * np.cos(angle),
                    x=cx + u * np.cos(angle) - v * np.sin(angle), cy=cy, cx=cx)


def _disc_points(cy: float, cx: float,
                 radius_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concentric-ring samples filling a disc: (y, x, area per sample in px^2)."""
    n_rings = max(1, int(np.ceil(radius_px / POINT_SPACING_PX)))
    dr = radius_px / n_rings
    radii = (np.arange(n_rings) + 0.5) * dr
    counts = np.maximum(3, np.ceil(2 * np.pi * radii / POINT_SPACING_PX)).astype(np.int64)
    ring = np.repeat(np.arange(n_rings), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    t = 2 * np.pi * step / counts[ring]
    areas = dr * 2 * np.pi * radii[ring] / counts[ring]
    return cy + radii[ring] * np.sin(t), cx + radii[ring] * np.cos(t), areas


def _random_filament(rng: np.random.Generator, kind: _FilamentKind, cy: float, cx: float,
                     um_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth curve through (cy, cx): (y, x, arc position) in pixels.

    Curvature is a sum of three sinusoids in arc length; its integral (the
    heading) is taken analytically.  ``um_px`` is pixels per um.
    """
    length = rng.uniform(*kind.length_um) * um_px
    s = np.arange(-0.5 * length, 0.5 * length, POINT_SPACING_PX)
    periods = rng.uniform(*kind.bend_period_um, 3) * um_px
    amplitudes = rng.normal(0.0, kind.curvature_per_um / um_px / np.sqrt(3.0), 3)
    phases = rng.uniform(0.0, 2.0 * np.pi, 3)
    arg = 2 * np.pi * np.outer(s, 1.0 / periods) + phases
    heading = rng.uniform(0.0, 2.0 * np.pi) - np.cos(arg) @ (amplitudes * periods / (2 * np.pi))
    y = np.cumsum(np.sin(heading)) * POINT_SPACING_PX
    x = np.cumsum(np.cos(heading)) * POINT_SPACING_PX
    mid = s.size // 2
    return cy + y - y[mid], cx + x - x[mid], s


def _uniform_positions(rng: np.random.Generator, shape: tuple[int, int], n: int) -> np.ndarray:
    """``n`` uniform (y, x) positions over the field, shape (n, 2), pixels."""
    return rng.uniform(0.0, 1.0, (n, 2)) * np.asarray(shape) - 0.5


def _count(rng: np.random.Generator, density_per_um2: float, area_um2: float) -> int:
    """Poisson object count for a field of ``area_um2``, at least one."""
    return int(rng.poisson(density_per_um2 * area_um2)) + 1


def _add_filaments(canvas: _Canvas, rng: np.random.Generator, kind: _FilamentKind,
                   cell: _Contour, area_um2: float, um_px: float) -> None:
    """Filaments centred anywhere in the field, kept inside the cell."""
    n = _count(rng, kind.density_per_um2, area_um2)
    for cy, cx in _uniform_positions(rng, canvas.shape, n):
        y, x, s = _random_filament(rng, kind, cy, cx, um_px)
        # Labelling density varies slowly along the filament (period 0.5-2 um).
        labelling = 1.0 + 0.3 * np.sin(2 * np.pi * s / (rng.uniform(0.5, 2.0) * um_px)
                                       + rng.uniform(0.0, 2.0 * np.pi))
        brightness = rng.uniform(0.4, 1.0) * labelling * cell.inside(y, x)
        canvas.add_line(y, x, np.full(s.shape, POINT_SPACING_PX), brightness)


def _inside_positions(rng: np.random.Generator, cell: _Contour, shape: tuple[int, int],
                      n: int) -> np.ndarray:
    """Of ``n`` uniform field positions, those inside the cell; (m, 2) pixels."""
    positions = _uniform_positions(rng, shape, n)
    return positions[cell.inside(positions[:, 0], positions[:, 1]) > 0.5]


def _add_organelles(canvas: _Canvas, rng: np.random.Generator, cell: _Contour,
                    area_um2: float, nm_px: float) -> None:
    """Membrane outlines of organelles (0.3-1.2 um, up to 3:1), clipped to the cell."""
    n = _count(rng, ORGANELLE_DENSITY_PER_UM2, area_um2)
    for cy, cx in _inside_positions(rng, cell, canvas.shape, n):
        radius = rng.uniform(*ORGANELLE_RADIUS_NM) * nm_px
        blob = _random_blob(rng, cy, cx, radius, max_aspect=3.0, roughness=0.1)
        brightness = rng.uniform(0.3, 0.8) * cell.inside(blob.y, blob.x)
        canvas.add_line(blob.y, blob.x, blob.arc_lengths(), brightness)


def _add_vesicles(canvas: _Canvas, rng: np.random.Generator, cell: _Contour,
                  area_um2: float, nm_px: float) -> None:
    """Vesicles in the cell, clipped to it: half rings (membrane label), half filled puncta."""
    n = _count(rng, VESICLE_DENSITY_PER_UM2, area_um2)
    for cy, cx in _inside_positions(rng, cell, canvas.shape, n):
        brightness = rng.uniform(0.4, 1.0)
        if rng.random() < 0.5:
            radius = rng.uniform(*RING_RADIUS_NM) * nm_px
            ring = _random_blob(rng, cy, cx, radius, max_aspect=1.3, roughness=0.03)
            brightness = brightness * cell.inside(ring.y, ring.x)
            canvas.add_line(ring.y, ring.x, ring.arc_lengths(), brightness)
        else:
            y, x, areas = _disc_points(cy, cx, rng.uniform(*PUNCTUM_RADIUS_NM) * nm_px)
            canvas.add_area(y, x, areas, brightness * cell.inside(y, x))


def _random_cell(rng: np.random.Generator, shape: tuple[int, int]) -> _Contour:
    """Cell outline scaled to the field (pixels).

    Centre in the middle 60 % of each axis; mean radius 0.55-0.95 half-diagonals.
    """
    height, width = shape
    half_diagonal = 0.5 * np.hypot(height, width)
    cy, cx = rng.uniform(0.2, 0.8, 2) * (height, width)
    radius = rng.uniform(0.55, 0.95) * half_diagonal
    return _random_blob(rng, cy, cx, radius, max_aspect=1.5, roughness=0.1)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian-correlated noise (correlation ``sigma_px``); float32."""
    white = rng.standard_normal(shape, dtype=np.float32)
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fy ** 2 + fx ** 2))
    field = scipy.fft.irfft2(scipy.fft.rfft2(white) * transfer, s=shape)
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def _cytoplasm(rng: np.random.Generator, cell: _Contour, shape: tuple[int, int],
               nm_px: float) -> np.ndarray:
    """Weak diffuse fluorescence inside the cell; float32 (H, W)."""
    rows = np.arange(shape[0], dtype=np.float32)[:, None]
    cols = np.arange(shape[1], dtype=np.float32)[None, :]
    mask = cell.inside(rows, cols).astype(np.float32)
    texture = 1.0 + 0.5 * _smooth_noise(rng, shape, CYTOPLASM_CORRELATION_NM * nm_px)
    return rng.uniform(*CYTOPLASM_LEVEL) * mask * np.maximum(texture, 0.0)


def _validate(shape: tuple[int, int], pixel_size_nm: float) -> tuple[int, int]:
    """Check the field (H, W) pixels and the pixel size (nm)."""
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be two positive ints (H, W); got {shape}")
    if not np.isfinite(pixel_size_nm) or pixel_size_nm <= 0:
        raise ValueError(f"pixel_size_nm must be positive; got {pixel_size_nm}")
    return int(shape[0]), int(shape[1])


def render_cell_scene(shape: tuple[int, int], rng: np.random.Generator,
                      pixel_size_nm: float = 31.3) -> np.ndarray:
    """Render a cell-like fluorescence scene of ``shape`` (H, W) pixels.

    ``pixel_size_nm`` sets the physical scale (default 31.3 nm, half of a
    62.67 nm raw pixel).  Returns float32 in [0, 1] with maximum 1;
    deterministic given the state of ``rng``.
    """
    shape = _validate(shape, pixel_size_nm)
    nm_px = 1.0 / pixel_size_nm
    area_um2 = shape[0] * shape[1] * (pixel_size_nm * 1e-3) ** 2
    cell = _random_cell(rng, shape)
    thin = _Canvas(shape, THIN_WIDTH_NM * nm_px)
    bundles = _Canvas(shape, rng.uniform(*BUNDLE_WIDTH_NM) * nm_px)
    thin.add_line(cell.y, cell.x, cell.arc_lengths(), rng.uniform(0.5, 1.0))
    _add_filaments(thin, rng, MICROTUBULES, cell, area_um2, 1e3 * nm_px)
    _add_filaments(bundles, rng, ACTIN_BUNDLES, cell, area_um2, 1e3 * nm_px)
    _add_organelles(thin, rng, cell, area_um2, nm_px)
    _add_vesicles(thin, rng, cell, area_um2, nm_px)
    scene = thin.render() + bundles.render() + _cytoplasm(rng, cell, shape, nm_px)
    peak = scene.max()
    return (scene / peak if peak > 0 else scene).clip(0.0, 1.0).astype(np.float32)

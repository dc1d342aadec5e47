"""Moving scenes: ground-truth frame sequences for the motion suites (SCIENCE.md §2).

A static scene (a canvas larger than the output field) becomes a frame sequence
through five kinds of motion.  Lengths are pixels of the *target*
(ground-truth) grid, 2x finer than the raw camera grid (default 31.33 nm);
speeds are per *generated* frame:

* **global drift**: constant speed along a heading that wanders as a Gaussian
  random walk (the jitter);
* **global rotation** at a constant angular speed about a random centre;
* **smooth local deformation**: a velocity field made of a few random,
  spatially smooth vector fields (Gaussian-correlated noise), each oscillating
  in time;
* **local flows**: a few round patches (1-2 um radius) of the specimen that
  move faster than the rest, in one direction, carrying their content along
  (the patch travels with its flow) and dragging their surroundings through a
  smooth flat-top speed profile, as in local contractions or a moving part of
  a cell.  They give the flow a heavy tail (the paper's medium max flow is 7x
  its median) that an optical-flow estimator can measure: a textured patch
  moving as a whole (placed where the scene has structure) survives TV
  regularisation, small bumps or flow through a fixed region do not;
* **independently moving objects** drawn on top: vesicle-like puncta (filled
  discs, 50-300 nm across) and short tubular segments (capsules) that glide
  along their own axis.  They are carried by the drift and rotation of the
  specimen *and* move with their own speed and wandering heading, so their
  displacement differs from the background's.

The deformation and the local flows are a velocity field u(p, t) in frame
coordinates, integrated over time (midpoint rule, one step per frame, on a
coarse grid of :data:`NONRIGID_GRID_PX` pixels; the fields are smooth on
>= 1 um): the resulting maps are flows of a smooth field, so they never fold,
and the flow between frames is the field itself.

With ``frame_step`` s only every s-th generated frame is used (the paper's
"extreme" regime uses every 2nd frame of a video), so the per-pair motion of
the used frames is s times the generated one.  All motion is relative to the
window's centre frame (used index ``n_frames // 2``, generated index
``(n_frames // 2) * s``): the centre frame shows the scene exactly, unwarped,
so a sample's ground truth is a native-resolution image (plus the objects).

Every frame is made by **one** cubic-spline interpolation from the original
canvas (spline coefficients computed once per sequence) through the frame's
backward map ``S_k(p) = R(-theta_k) (p + B_k(p) - c - d_k) + c`` (B_k the
non-rigid backward displacement, R a rotation by theta_k about c, d_k the
drift): warps never compound, so interpolation errors never accumulate.  A
frame whose map is the identity is copied, not interpolated.  Objects are
rendered analytically at continuous positions with anti-aliased (erfc) edges
and added; frames are float32 clipped to [0, 1].

Borders: the scene must be at least :func:`canvas_shape` (a bound from the
parameters alone, so every sampled coordinate lies inside the scene; the warp
never reflects).  :func:`source_canvas` makes such canvases from the static
suite's sources without depending on the motion: scikit-image crops keep the
real image context the source offers around the output window and are
mirror-padded (``numpy.pad`` ``symmetric``) only where the source ends (most
sources are only 512² pixels); cell scenes are rendered with a context of a
quarter of the output on every side (768² for 512²) and mirror-padded beyond.
Mirrored context shows only where the motion brings it into view (the ends of
fast sequences); the centre frame never contains any.

Calibrated regimes :data:`REGIMES` (``medium``, ``fast``, ``extreme``) reproduce
the optical-flow statistics of the paper's Table 1 as measured by
:func:`simbench.phantoms.flow.flow_statistics` on 9-frame 512² sequences at
31.33 nm; ``python -m simbench.phantoms.motion calibrate`` re-derives them and
writes ``datasets/motion-calibration.json``.

Everything here is a pure function of its arguments; randomness only through
an explicit :class:`numpy.random.Generator`, drawn in a fixed order (drift,
rotation, deformation, local flows, objects), so object parameters never change
the background motion of the same seed.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage as ndi
from scipy.special import erfc

__all__ = [
    "REGIMES",
    "MotionParams",
    "MotionPlan",
    "canvas_shape",
    "cell_canvas_shape",
    "image_canvas",
    "model_flow_statistics",
    "moving_sequence",
    "plan_motion",
    "render_frames",
    "source_canvas",
]

#: Number of independent deformation modes (each a smooth 2-component field).
DEFORMATION_MODES = 3
#: Deformation modes are clipped at this many standard deviations.
DEFORMATION_CLIP_SIGMA = 3.0
#: The non-rigid speed is capped at the fastest local flow plus this many deformation RMS
#: (rarely reached; keeps :func:`canvas_shape` a tight bound).
NONRIGID_CAP_RMS = 3.0
#: Spacing (target px) of the coarse grid on which the non-rigid motion is integrated.
NONRIGID_GRID_PX = 8
#: The coarse grid extends this fraction of the field's size beyond every side.
NONRIGID_MARGIN_FRAC = 0.5
#: Local-flow centres lie in the central fraction of each axis of the field.
LOCAL_FLOW_CENTER_FRAC = 0.7
#: Candidate positions per local flow; with a scene, the one with the most structure is used.
LOCAL_FLOW_CANDIDATES = 16
#: Anti-aliasing: object edges are an erfc of this standard deviation (target pixels).
EDGE_SIGMA_PX = 0.5
#: Extra canvas pixels beyond the motion bound (cubic-spline support and rounding).
CANVAS_PAD_PX = 4
#: Cell scenes are rendered with this fraction of the output size as context on every side.
CELL_MARGIN_FRAC = 0.25


@dataclass(frozen=True)
class MotionParams:
    """Statistics of the motion of one sequence.  Speeds are per *generated* frame.

    Lengths in pixels are pixels of the target grid (the ground-truth frames);
    physical sizes are in nm and become pixels through ``pixel_size_nm``.
    Ranges ``(lo, hi)`` are drawn uniformly per sample (or per object).
    """

    #: Global drift speed (target px / frame); per sample x U(1 - speed_spread, 1 + speed_spread).
    drift_px_per_frame: float = 0.0
    #: Standard deviation of the drift heading's random walk (degrees / frame); the jitter.
    drift_turn_deg_per_frame: float = 0.0
    #: Global rotation speed (degrees / frame), random sign; per sample x U(1 ± speed_spread).
    rotation_deg_per_frame: float = 0.0
    #: Rotation centre uniform in the central ``rotation_center_frac`` of each axis of the field.
    rotation_center_frac: float = 0.5
    #: RMS speed of the smooth deformation (target px / frame); per sample x U(1 ± speed_spread).
    deformation_px_per_frame: float = 0.0
    #: Spatial correlation length of the deformation (Gaussian sigma, nm).
    deformation_scale_nm: float = 2000.0
    #: Temporal period of each deformation mode (frames; x U(0.75, 1.25) per mode); longer = smoother.
    deformation_period_frames: float = 16.0
    #: Relative per-sample spread of the drift, rotation and deformation speeds (each drawn separately).
    speed_spread: float = 0.0
    #: Number of local flows (round patches of the specimen moving faster, with their content) per image.
    local_flows: int = 0
    #: Peak speed range of a local flow (target px / frame), uniform per flow; random direction.
    local_flow_px_per_frame: tuple[float, float] = (0.0, 0.0)
    #: Radius range of a local flow (nm): its speed profile is exp(-ln 2 (r / radius)^4), half at the radius.
    local_flow_size_nm: tuple[float, float] = (1000.0, 2000.0)
    #: Independently moving objects per um² (Poisson count over the field plus their travel margin).
    objects_per_um2: float = 0.0
    #: Fraction of objects that are tubular segments; the rest are puncta.
    tubule_fraction: float = 0.3
    #: Punctum (filled vesicle) diameter range (nm).
    punctum_diameter_nm: tuple[float, float] = (50.0, 300.0)
    #: Tubular segment length and width ranges (nm).
    tubule_length_nm: tuple[float, float] = (400.0, 1500.0)
    tubule_width_nm: tuple[float, float] = (40.0, 100.0)
    #: Own speed of each object relative to the specimen (target px / frame), uniform per object.
    object_speed_px_per_frame: tuple[float, float] = (0.0, 0.0)
    #: Standard deviation of each object's heading random walk (degrees / frame).
    object_turn_deg_per_frame: float = 10.0
    #: Added intensity of an object (scenes are in [0, 1]), uniform per object.
    object_brightness: tuple[float, float] = (0.3, 0.8)
    #: Use every ``frame_step``-th generated frame (extreme: 2).
    frame_step: int = 1

    def __post_init__(self) -> None:
        if int(self.frame_step) != self.frame_step or self.frame_step < 1:
            raise ValueError(f"frame_step must be a positive int; got {self.frame_step}")
        if int(self.local_flows) != self.local_flows or self.local_flows < 0:
            raise ValueError(f"local_flows must be a non-negative int; got {self.local_flows}")
        for name in ("drift_px_per_frame", "drift_turn_deg_per_frame", "rotation_deg_per_frame",
                     "deformation_px_per_frame", "objects_per_um2", "object_turn_deg_per_frame"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0; got {value}")
        if not 0 <= self.speed_spread < 1:
            raise ValueError(f"speed_spread must be in [0, 1); got {self.speed_spread}")
        if not 0 <= self.rotation_center_frac <= 1 or not 0 <= self.tubule_fraction <= 1:
            raise ValueError("rotation_center_frac and tubule_fraction must be in [0, 1]")
        if self.deformation_scale_nm <= 0 or self.deformation_period_frames <= 0:
            raise ValueError("deformation_scale_nm and deformation_period_frames must be > 0")
        for name in ("local_flow_px_per_frame", "local_flow_size_nm", "punctum_diameter_nm", "tubule_length_nm",
                     "tubule_width_nm", "object_speed_px_per_frame", "object_brightness"):
            lo, hi = getattr(self, name)
            if not (0 <= lo <= hi and math.isfinite(hi)):
                raise ValueError(f"{name} must be a range 0 <= lo <= hi; got {(lo, hi)}")
        if self.local_flows and self.local_flow_size_nm[0] <= 0:
            raise ValueError("local_flow_size_nm must be > 0")

    def scaled(self, background: float = 1.0, tail: float = 1.0) -> MotionParams:
        """Copy with the rigid motion (drift and rotation speeds) x ``background`` and the
        non-rigid and independent motion (deformation, local-flow and object speeds) x ``tail``:
        the two knobs of the calibration (the first mostly sets the median flow, the second
        its tail, the max)."""
        def times(pair: tuple[float, float], factor: float) -> tuple[float, float]:
            return (pair[0] * factor, pair[1] * factor)

        return dataclasses.replace(
            self, drift_px_per_frame=self.drift_px_per_frame * background,
            rotation_deg_per_frame=self.rotation_deg_per_frame * background,
            deformation_px_per_frame=self.deformation_px_per_frame * tail,
            local_flow_px_per_frame=times(self.local_flow_px_per_frame, tail),
            object_speed_px_per_frame=times(self.object_speed_px_per_frame, tail))

    def to_dict(self) -> dict:
        """JSON-able dict of the fields (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


# --------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class MotionPlan:
    """All random draws of one sequence, in target pixels; indices are generated frames.

    ``drift``: (K, 2) specimen displacement d_k (y, x); ``angle_rad``: (K,) rotation
    theta_k about ``center`` (y, x); ``nonrigid``: (K, 2, gh, gw) backward displacement
    B_k on the coarse grid (node (i, j) at pixel ``grid_origin + NONRIGID_GRID_PX * (i, j)``),
    or None; objects: ``obj_pos`` (K, n, 2) positions in the frame, ``obj_angle`` (K, n)
    axis angles, ``obj_kind`` (n,) 0 punctum / 1 tubule, ``obj_radius`` (n,) punctum
    radius or tubule half-width, ``obj_half_length`` (n,), ``obj_brightness`` (n,).
    ``used``: generated indices of the used frames.
    """

    out_shape: tuple[int, int]
    used: np.ndarray
    drift: np.ndarray
    angle_rad: np.ndarray
    center: np.ndarray
    nonrigid: np.ndarray | None
    grid_origin: float
    obj_pos: np.ndarray
    obj_angle: np.ndarray
    obj_kind: np.ndarray
    obj_radius: np.ndarray
    obj_half_length: np.ndarray
    obj_brightness: np.ndarray

    @property
    def n_generated(self) -> int:
        return int(self.drift.shape[0])

    @property
    def center_index(self) -> int:
        """Generated index of the window's centre frame (zero displacement)."""
        return int(self.used[self.used.size // 2])

    def is_identity(self, k: int) -> bool:
        """True if frame k's background map is exactly the identity (no warp needed)."""
        return bool(self.angle_rad[k] == 0 and not np.any(self.drift[k])
                    and (self.nonrigid is None or not np.any(self.nonrigid[k])))

    @functools.cached_property
    def _upsampling(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Keys-cubic taps from the coarse grid to the output rows and columns."""
        height, width = self.out_shape
        gy = (np.arange(height) - self.grid_origin) / NONRIGID_GRID_PX
        gx = (np.arange(width) - self.grid_origin) / NONRIGID_GRID_PX
        return _cubic_taps(gy, self.nonrigid.shape[2]), _cubic_taps(gx, self.nonrigid.shape[3])

    def nonrigid_displacement(self, k: int) -> np.ndarray | None:
        """B_k at every output pixel (separable Keys-cubic interpolation of the coarse grid);
        (2, H, W) or None."""
        if self.nonrigid is None:
            return None
        (row_idx, row_w), (col_idx, col_w) = self._upsampling
        coarse = self.nonrigid[k]
        rows = np.einsum("tr,ctrx->crx", row_w, coarse[:, row_idx, :])
        return np.einsum("tw,crtw->crw", col_w, rows[:, :, col_idx])

    def backward_map(self, k: int) -> np.ndarray:
        """S_k(p): where output pixel p of frame k samples the centre-frame scene; (2, H, W)."""
        height, width = self.out_shape
        rows = np.arange(height, dtype=np.float64)[:, None]
        cols = np.arange(width, dtype=np.float64)[None, :]
        py = np.broadcast_to(rows, (height, width)).copy()
        px = np.broadcast_to(cols, (height, width)).copy()
        nonrigid = self.nonrigid_displacement(k)
        if nonrigid is not None:
            py += nonrigid[0]
            px += nonrigid[1]
        cos, sin = math.cos(self.angle_rad[k]), math.sin(self.angle_rad[k])
        ry = py - self.center[0] - self.drift[k, 0]
        rx = px - self.center[1] - self.drift[k, 1]
        return np.stack([cos * ry - sin * rx + self.center[0], sin * ry + cos * rx + self.center[1]])


def _cubic_taps(positions: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys-cubic (a = -0.5) interpolation of n samples at fractional ``positions``: the
    indices (4, len) of the taps (clamped at the ends) and their weights (4, len)."""
    base = np.floor(positions).astype(np.int64)
    t = positions - base
    weights = np.stack([((-0.5 * t + 1.0) * t - 0.5) * t, (1.5 * t - 2.5) * t * t + 1.0,
                        ((-1.5 * t + 2.0) * t + 0.5) * t, (0.5 * t - 0.5) * t * t])
    indices = np.clip(base + np.arange(-1, 3)[:, None], 0, n - 1)
    return indices, weights


def _generated_frames(n_frames: int, frame_step: int) -> tuple[int, np.ndarray, int]:
    """(number of generated frames K, used generated indices, centre generated index)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1; got {n_frames}")
    n_generated = (n_frames - 1) * frame_step + 1
    used = np.arange(n_frames) * frame_step
    return n_generated, used, int(used[n_frames // 2])


def _walk(speed: np.ndarray, heading0: np.ndarray, turns: np.ndarray,
          center_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Walkers with constant ``speed`` (n,) px/step whose heading does a random walk.

    ``heading0`` (n,): heading (radians) of the step leaving the centre frame;
    ``turns`` (n_steps, n): heading increments (radians), applied both ways in time
    from the centre.  Returns positions relative to the centre frame
    (n_steps + 1, n, 2) (y, x) and the heading of every step (n_steps, n).
    """
    n_steps, n = turns.shape
    if n_steps == 0:
        return np.zeros((1, n, 2)), np.zeros((0, n))
    walk = np.cumsum(turns, axis=0)
    heading = heading0 + walk - walk[min(center_index, n_steps - 1)]
    steps = speed[None, :, None] * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    cumulative = np.concatenate([np.zeros((1, n, 2)), np.cumsum(steps, axis=0)], axis=0)
    return cumulative - cumulative[center_index], heading


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """(2, h, w) Gaussian-correlated noise (sigma in grid cells), unit variance, clipped."""
    white = rng.standard_normal((2, *shape))
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fy ** 2 + fx ** 2))
    field = scipy.fft.irfft2(scipy.fft.rfft2(white, axes=(-2, -1)) * transfer, s=shape, axes=(-2, -1))
    field -= field.mean(axis=(-2, -1), keepdims=True)
    std = field.std(axis=(-2, -1), keepdims=True)
    field = np.divide(field, std, out=np.zeros_like(field), where=std > 0)
    return np.clip(field, -DEFORMATION_CLIP_SIGMA, DEFORMATION_CLIP_SIGMA)


def _nonrigid_cap(params: MotionParams) -> float:
    """Largest non-rigid speed (target px / frame): the fastest local flow plus
    :data:`NONRIGID_CAP_RMS` x the largest deformation RMS; faster field values are scaled down."""
    local = params.local_flow_px_per_frame[1] if params.local_flows else 0.0
    return local + NONRIGID_CAP_RMS * params.deformation_px_per_frame * (1.0 + params.speed_spread)


def _travel_bounds(params: MotionParams, n_frames: int) -> dict[str, float]:
    """Upper bounds (target px) of the displacements from the centre frame, from the parameters alone."""
    n_generated, _, center = _generated_frames(n_frames, params.frame_step)
    k_max = max(center, n_generated - 1 - center)
    top = 1.0 + params.speed_spread
    return {"drift": params.drift_px_per_frame * top * k_max,
            "angle_rad": min(np.deg2rad(params.rotation_deg_per_frame) * top * k_max, np.pi),
            "nonrigid": _nonrigid_cap(params) * k_max,
            "objects": params.object_speed_px_per_frame[1] * k_max}


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be two positive ints (H, W); got {shape}")
    return int(shape[0]), int(shape[1])


def canvas_shape(out_shape: tuple[int, int], params: MotionParams, n_frames: int) -> tuple[int, int]:
    """Smallest scene (H, W) for which no frame of :func:`moving_sequence` samples outside it.

    The output window sits at the canvas centre; the margin bounds the non-rigid
    displacement + drift + rotation (about any allowed centre, of any point the
    non-rigid map can reach), plus the spline support.  Depends on the parameters
    only, not on the random draws; the margin is the same on all four sides.
    """
    height, width = _check_shape(out_shape)
    bounds = _travel_bounds(params, n_frames)
    # farthest reachable point from the farthest allowed rotation centre
    reach = 0.5 * (1.0 + params.rotation_center_frac) * math.hypot(height, width) + bounds["nonrigid"]
    rotation = 2.0 * math.sin(0.5 * bounds["angle_rad"]) * reach
    travel = bounds["drift"] + rotation + bounds["nonrigid"]
    margin = int(math.ceil(travel)) + CANVAS_PAD_PX if travel > 0 else 0  # no motion: no warp, no margin
    return height + 2 * margin, width + 2 * margin


class _VelocityField:
    """u(p, t) (target px / frame): deformation modes plus local flows, speed capped at ``cap``.

    Points p are (2, gh, gw) arrays of target-pixel coordinates; ``nodes`` are the
    grid's own node coordinates (evaluated without interpolation).
    """

    def __init__(self, modes: np.ndarray | None, mode_scale: float, periods: np.ndarray, phases: np.ndarray,
                 grid_origin: float, flow_centers: np.ndarray, flow_velocity: np.ndarray,
                 flow_radius: np.ndarray, center_index: int, cap: float) -> None:
        self.modes = modes
        self.coefficients = None if modes is None else np.stack([
            np.stack([ndi.spline_filter(modes[m, c], order=3, mode="nearest") for c in range(2)])
            for m in range(modes.shape[0])])
        self.mode_scale, self.periods, self.phases = mode_scale, periods, phases
        self.grid_origin, self.center_index, self.cap = grid_origin, center_index, cap
        self.flow_centers, self.flow_velocity, self.flow_radius = flow_centers, flow_velocity, flow_radius

    def __call__(self, points: np.ndarray, t: float, at_nodes: bool = False) -> np.ndarray:
        u = np.zeros_like(points)
        if self.modes is not None:
            weights = self.mode_scale * np.cos(2 * np.pi * (t - self.center_index) / self.periods + self.phases)
            if at_nodes:
                u += np.tensordot(weights, self.modes, axes=1)
            else:  # the spline prefilter is linear: combine the modes' coefficients first
                combined = np.tensordot(weights, self.coefficients, axes=1)
                grid = (points - self.grid_origin) / NONRIGID_GRID_PX
                for c in range(2):
                    u[c] += ndi.map_coordinates(combined[c], grid, order=3, mode="nearest", prefilter=False)
        for (cy, cx), (vy, vx), radius in zip(self.flow_centers, self.flow_velocity, self.flow_radius):
            # the region travels with its own flow: its content moves as one patch
            cy, cx = cy + vy * (t - self.center_index), cx + vx * (t - self.center_index)
            r2 = ((points[0] - cy) ** 2 + (points[1] - cx) ** 2) / radius ** 2
            bump = np.exp(-math.log(2.0) * r2 * r2)
            u[0] += vy * bump
            u[1] += vx * bump
        speed = np.hypot(u[0], u[1])
        too_fast = speed > self.cap
        if np.any(too_fast):
            u[:, too_fast] *= self.cap / speed[too_fast]
        return u


def _integrate_nonrigid(field: _VelocityField, nodes: np.ndarray, n_generated: int,
                        center_index: int) -> np.ndarray:
    """Backward displacements B_k (K, 2, gh, gw) at the grid ``nodes`` (2, gh, gw).

    S_{k+1}(p) = S_k(p - D) with D the displacement over [k, k+1] ending at p (midpoint
    rule), and symmetrically before the centre; B_k is interpolated (cubic) at the
    departure points.  B_centre = 0.
    """
    out = np.zeros((n_generated, *nodes.shape))

    def lookup(b: np.ndarray, points: np.ndarray) -> np.ndarray:
        grid = (points - field.grid_origin) / NONRIGID_GRID_PX
        return np.stack([ndi.map_coordinates(b[c], grid, order=3, mode="nearest") for c in range(2)])

    for k in range(center_index, n_generated - 1):  # forward in time
        step = field(nodes - 0.5 * field(nodes, k + 1.0, at_nodes=True), k + 0.5)
        out[k + 1] = -step + lookup(out[k], nodes - step)
    for k in range(center_index, 0, -1):  # backward in time
        step = field(nodes + 0.5 * field(nodes, k - 1.0, at_nodes=True), k - 0.5)
        out[k - 1] = step + lookup(out[k], nodes + step)
    return out


def _flow_centers(uniforms: np.ndarray, scene: np.ndarray | None, out_shape: tuple[int, int],
                  radius_px: float) -> np.ndarray:
    """Local-flow centres (n, 2) in the central :data:`LOCAL_FLOW_CENTER_FRAC` of the field.

    ``uniforms`` (n, c, 2) give c candidate positions per flow, uniform in that region.
    Without a scene the first candidate is taken; with one, the candidate where the
    scene has the most structure (gradient energy of its output window, Gaussian
    derivative of 1 px, smoothed over ``radius_px``): motion where it is visible.
    """
    height, width = out_shape
    lo = (0.5 - 0.5 * LOCAL_FLOW_CENTER_FRAC) * np.array([height, width])
    candidates = lo + uniforms * (LOCAL_FLOW_CENTER_FRAC * np.array([height, width])) - 0.5
    if scene is None or uniforms.shape[0] == 0:
        return candidates[:, 0]
    top, left = (scene.shape[0] - height) // 2, (scene.shape[1] - width) // 2
    window = np.asarray(scene[top:top + height, left:left + width], dtype=np.float64)
    structure = ndi.gaussian_filter(ndi.gaussian_gradient_magnitude(window, 1.0) ** 2, radius_px)
    rows = np.clip(np.round(candidates[..., 0]).astype(np.int64), 0, height - 1)
    cols = np.clip(np.round(candidates[..., 1]).astype(np.int64), 0, width - 1)
    best = np.argmax(structure[rows, cols], axis=1)
    return candidates[np.arange(candidates.shape[0]), best]


def plan_motion(params: MotionParams, rng: np.random.Generator, out_shape: tuple[int, int],
                n_frames: int, pixel_size_nm: float, scene: np.ndarray | None = None) -> MotionPlan:
    """Draw every random quantity of one sequence (fixed draw order; see the module doc).

    The plan depends on ``n_frames`` and ``frame_step`` only through the number of
    generated frames ``(n_frames - 1) * frame_step + 1``: 9 frames with step 2 are
    exactly every 2nd frame of 17 frames with step 1 from the same generator state.
    ``scene`` (the canvas, optional): each local flow goes to the most structured of
    :data:`LOCAL_FLOW_CANDIDATES` random positions (gradient energy of the output
    window), where its motion is visible; without it, to the first candidate.  The
    same draws are made either way.
    """
    height, width = _check_shape(out_shape)
    if not math.isfinite(pixel_size_nm) or pixel_size_nm <= 0:
        raise ValueError(f"pixel_size_nm must be positive; got {pixel_size_nm}")
    n_generated, used, center_index = _generated_frames(n_frames, params.frame_step)
    n_steps = n_generated - 1
    spread = params.speed_spread
    frames = np.arange(n_generated) - center_index
    bounds = _travel_bounds(params, n_frames)

    # global drift: constant speed, heading random walk
    drift_speed = params.drift_px_per_frame * rng.uniform(1 - spread, 1 + spread)
    drift_heading = rng.uniform(0.0, 2.0 * np.pi, 1)
    drift_turns = rng.normal(0.0, np.deg2rad(params.drift_turn_deg_per_frame), (n_steps, 1))
    drift = _walk(np.array([drift_speed]), drift_heading, drift_turns, center_index)[0][:, 0, :]

    # global rotation about a centre in the middle of the field
    omega = np.deg2rad(params.rotation_deg_per_frame) * rng.uniform(1 - spread, 1 + spread) * rng.choice([-1, 1])
    frac = params.rotation_center_frac
    center = (0.5 + frac * (rng.uniform(size=2) - 0.5)) * np.array([height, width]) - 0.5
    angle = omega * frames

    # non-rigid velocity field on a coarse grid over the field plus half its size on every side
    # (independent of the speeds, so that scaled parameters keep the same random fields);
    # departure points beyond it take the nearest node's value
    pad = int(math.ceil(NONRIGID_MARGIN_FRAC * max(height, width) / NONRIGID_GRID_PX))
    grid_origin = -float(pad * NONRIGID_GRID_PX)
    grid_shape = (int(math.ceil(height / NONRIGID_GRID_PX)) + 2 * pad + 1,
                  int(math.ceil(width / NONRIGID_GRID_PX)) + 2 * pad + 1)
    amplitude = params.deformation_px_per_frame * rng.uniform(1 - spread, 1 + spread)
    periods = params.deformation_period_frames * rng.uniform(0.75, 1.25, DEFORMATION_MODES)
    phases = rng.uniform(0.0, 2.0 * np.pi, DEFORMATION_MODES)
    # the fields are drawn even at zero amplitude: later draws must not depend on it
    sigma = params.deformation_scale_nm / pixel_size_nm / NONRIGID_GRID_PX
    modes = np.stack([_smooth_field(rng, grid_shape, sigma) for _ in range(DEFORMATION_MODES)])
    if amplitude == 0:
        modes = None
    # local flows: flat-top patches moving with their flow, centres (at the centre frame) in the middle
    # of the field
    n_flows = params.local_flows
    flow_centers = _flow_centers(rng.uniform(size=(n_flows, LOCAL_FLOW_CANDIDATES, 2)), scene, (height, width),
                                 np.mean(params.local_flow_size_nm) / pixel_size_nm)
    flow_speed = rng.uniform(*params.local_flow_px_per_frame, n_flows)
    flow_heading = rng.uniform(0.0, 2.0 * np.pi, n_flows)
    flow_radius = rng.uniform(*params.local_flow_size_nm, n_flows) / pixel_size_nm
    flow_velocity = flow_speed[:, None] * np.stack([np.sin(flow_heading), np.cos(flow_heading)], axis=-1)
    nonrigid = None
    if modes is not None or np.any(flow_speed > 0):
        field = _VelocityField(modes, amplitude / math.sqrt(DEFORMATION_MODES), periods, phases, grid_origin,
                               flow_centers, flow_velocity, flow_radius, center_index, _nonrigid_cap(params))
        nodes = np.stack(np.meshgrid(*(grid_origin + NONRIGID_GRID_PX * np.arange(n) for n in grid_shape),
                                     indexing="ij")).astype(np.float64)
        nonrigid = _integrate_nonrigid(field, nodes, n_generated, center_index)

    # independent objects: positions in the specimen, own walk, carried by drift + rotation.
    # Their attributes come object by object from a child stream, so that a different
    # count (density, travel margin) keeps the attributes of the first objects.
    um_per_px = pixel_size_nm * 1e-3
    margin = bounds["objects"] + bounds["drift"] + 16.0
    span = np.array([height + 2 * margin, width + 2 * margin])
    object_rng = np.random.default_rng(rng.integers(2 ** 63))
    n_obj = int(rng.poisson(params.objects_per_um2 * span.prod() * um_per_px ** 2))
    uniforms = np.empty((n_obj, 8))
    turns = np.empty((n_steps, n_obj))
    for j in range(n_obj):
        uniforms[j] = object_rng.uniform(size=8)
        turns[:, j] = object_rng.normal(0.0, np.deg2rad(params.object_turn_deg_per_frame), n_steps)

    def between(column: int, limits: tuple[float, float]) -> np.ndarray:
        return limits[0] + (limits[1] - limits[0]) * uniforms[:, column]

    start = uniforms[:, 0:2] * span - margin
    kind = (uniforms[:, 2] < params.tubule_fraction).astype(np.int8)
    radius = np.where(kind == 1, between(3, params.tubule_width_nm),
                      between(3, params.punctum_diameter_nm)) / (2.0 * pixel_size_nm)
    half_length = np.where(kind == 1, between(4, params.tubule_length_nm) / (2.0 * pixel_size_nm), 0.0)
    brightness = between(5, params.object_brightness)
    speed = between(6, params.object_speed_px_per_frame)
    own, heading = _walk(speed, 2.0 * np.pi * uniforms[:, 7], turns, center_index)
    # axis angle: the heading of the step leaving the frame (tubules glide along their axis)
    axis = np.concatenate([heading, heading[-1:]], axis=0) if n_steps else np.zeros((1, n_obj))
    specimen = start[None] + own                                  # (K, n, 2) in centre-frame coordinates
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    ry, rx = specimen[..., 0] - center[0], specimen[..., 1] - center[1]
    # forward rigid map G_k(q) = R(theta) (q - c) + c + d_k, the inverse of the rigid part of backward_map
    pos = np.stack([cos * ry + sin * rx + center[0] + drift[:, None, 0],
                    -sin * ry + cos * rx + center[1] + drift[:, None, 1]], axis=-1)
    return MotionPlan(out_shape=(height, width), used=used, drift=drift, angle_rad=angle, center=center,
                      nonrigid=nonrigid, grid_origin=grid_origin, obj_pos=pos, obj_angle=axis + angle[:, None],
                      obj_kind=kind, obj_radius=radius, obj_half_length=half_length, obj_brightness=brightness)


# --------------------------------------------------------------------------- render

def _render_objects(plan: MotionPlan, k: int) -> np.ndarray | None:
    """Anti-aliased object layer of generated frame k (float32 (H, W)), or None if no object shows."""
    height, width = plan.out_shape
    layer = None
    pos, angle = plan.obj_pos[k], plan.obj_angle[k]
    for j in range(plan.obj_kind.size):
        cy, cx = pos[j]
        radius, half = plan.obj_radius[j], plan.obj_half_length[j]
        # axis direction in (y, x)
        ay, ax = math.sin(angle[j]), math.cos(angle[j])
        reach = radius + 4.0 * EDGE_SIGMA_PX + 1.0
        ext_y, ext_x = abs(ay) * half + reach, abs(ax) * half + reach
        y0, y1 = max(int(math.floor(cy - ext_y)), 0), min(int(math.ceil(cy + ext_y)) + 1, height)
        x0, x1 = max(int(math.floor(cx - ext_x)), 0), min(int(math.ceil(cx + ext_x)) + 1, width)
        if y0 >= y1 or x0 >= x1:
            continue
        dy = np.arange(y0, y1, dtype=np.float64)[:, None] - cy
        dx = np.arange(x0, x1, dtype=np.float64)[None, :] - cx
        if half > 0:  # capsule: distance to the segment [-half, half] along the axis
            along = np.clip(dy * ay + dx * ax, -half, half)
            dist = np.hypot(dy - along * ay, dx - along * ax)
        else:
            dist = np.hypot(dy, dx)
        patch = 0.5 * plan.obj_brightness[j] * erfc((dist - radius) / (math.sqrt(2.0) * EDGE_SIGMA_PX))
        if layer is None:
            layer = np.zeros((height, width), dtype=np.float32)
        layer[y0:y1, x0:x1] += patch.astype(np.float32)
    return layer


def render_frames(scene: np.ndarray, plan: MotionPlan, frames: np.ndarray | None = None) -> np.ndarray:
    """Frames ``frames`` (generated indices; default the used ones) of ``plan`` over ``scene``.

    ``scene`` must be at least :func:`canvas_shape`; the output window is its centre.
    One cubic-spline interpolation per frame from the original scene; identity frames
    are copied.  Returns float32 (n, H, W) in [0, 1].
    """
    scene = np.asarray(scene)
    if scene.ndim != 2:
        raise ValueError(f"scene must be 2D; got shape {scene.shape}")
    height, width = plan.out_shape
    indices = plan.used if frames is None else np.asarray(frames, dtype=np.int64)
    top, left = (scene.shape[0] - height) // 2, (scene.shape[1] - width) // 2
    if top < 0 or left < 0:
        raise ValueError(f"scene {scene.shape} is smaller than the output {plan.out_shape}")
    scene = scene.astype(np.float64, copy=False)
    coefficients = None
    out = np.empty((indices.size, height, width), dtype=np.float32)
    for i, k in enumerate(indices):
        if plan.is_identity(int(k)):
            frame = scene[top:top + height, left:left + width].astype(np.float32)
        else:
            coords = plan.backward_map(int(k))
            coords[0] += top
            coords[1] += left
            lo = coords.reshape(2, -1).min(axis=1)
            hi = coords.reshape(2, -1).max(axis=1)
            if lo.min() < 1.0 or hi[0] > scene.shape[0] - 2.0 or hi[1] > scene.shape[1] - 2.0:
                raise ValueError(f"frame {int(k)} samples outside the scene {scene.shape}: pass a scene "
                                 f"of at least canvas_shape(...) pixels")
            if coefficients is None:  # prefilter once per sequence
                coefficients = ndi.spline_filter(scene, order=3, mode="mirror")
            frame = ndi.map_coordinates(coefficients, coords, order=3, prefilter=False,
                                        mode="mirror").astype(np.float32)
        objects = _render_objects(plan, int(k))
        if objects is not None:
            frame += objects
        out[i] = np.clip(frame, 0.0, 1.0)
    return out


def moving_sequence(scene: np.ndarray, n_frames: int, params: MotionParams, rng: np.random.Generator,
                    out_shape: tuple[int, int], pixel_size_nm: float) -> np.ndarray:
    """The ``n_frames`` used frames of a moving version of ``scene``: (n_frames, H, W) float32 in [0, 1].

    ``scene`` is a canvas of at least ``canvas_shape(out_shape, params, n_frames)``
    pixels of ``pixel_size_nm`` (the target grid); the output window is its centre.
    With ``params.frame_step`` s, (n_frames - 1) * s + 1 frames are generated and
    every s-th is returned.  Frame ``n_frames // 2`` is the scene's centre window
    exactly (plus the objects): the ground truth of a sample.
    """
    need = canvas_shape(out_shape, params, n_frames)
    if scene.shape[0] < need[0] or scene.shape[1] < need[1]:
        raise ValueError(f"scene of {scene.shape} pixels is smaller than canvas_shape(...) = {need}")
    plan = plan_motion(params, rng, out_shape, n_frames, pixel_size_nm, scene=scene)
    return render_frames(scene, plan)


def model_flow_statistics(plan: MotionPlan) -> dict[str, float]:
    """Flow magnitudes implied by the plan between consecutive used frames (target px).

    Background: the forward flow f from frame a to frame b solves S_b(p + f) = S_a(p);
    to first order f = -J_b^-1 (S_b(p) - S_a(p)) with J_b the Jacobian of S_b (exact
    for rigid motion).  Objects: their displacements.  A diagnostic to compare with
    the measured flow (it ignores which pixels are observable), not the calibrated
    statistic.
    """
    used = plan.used
    magnitudes = []
    for a, b in zip(used[:-1], used[1:]):
        target = plan.backward_map(int(b))
        diff = target - plan.backward_map(int(a))
        (jyy, jyx), (jxy, jxx) = np.gradient(target[0]), np.gradient(target[1])
        det = jyy * jxx - jyx * jxy
        regular = det > 0.1  # where the map is strongly compressed the first-order inverse fails
        det = np.where(regular, det, 1.0)
        fy = -(jxx * diff[0] - jyx * diff[1]) / det
        fx = -(-jxy * diff[0] + jyy * diff[1]) / det
        magnitudes.append(np.hypot(fy, fx)[regular])
    background = np.concatenate(magnitudes) if magnitudes else np.zeros(1)
    obj = (np.hypot(*np.moveaxis(np.diff(plan.obj_pos[used], axis=0), -1, 0)).ravel()
           if plan.obj_kind.size and used.size > 1 else np.zeros(1))
    return {"background_median": float(np.median(background)), "background_max": float(background.max()),
            "background_p99_99": float(np.percentile(background, 99.99)),
            "objects_median": float(np.median(obj)), "objects_max": float(obj.max()),
            "n_objects": int(plan.obj_kind.size)}


# --------------------------------------------------------------------------- sources

def image_canvas(image: np.ndarray, out_shape: tuple[int, int], canvas: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """A ``canvas`` (H, W) scene around a random ``out_shape`` window of ``image``.

    Like :func:`simbench.phantoms.random_crop` (a random flip / quarter turn after
    which the window fits, a random window position, no interpolation), but the
    canvas keeps the image's real context around the window and is mirror-padded
    (``symmetric``) only beyond the image's edges.  The canvas centre window is the
    crop.  float32, C-contiguous.
    """
    height, width = _check_shape(out_shape)
    c_height, c_width = _check_shape(canvas)
    if (c_height - height) % 2 or (c_width - width) % 2 or c_height < height or c_width < width:
        raise ValueError(f"canvas {canvas} must exceed out_shape {out_shape} by an even margin")
    upright = image.shape[0] >= height and image.shape[1] >= width
    turned = image.shape[1] >= height and image.shape[0] >= width
    fits = [(turns, flip) for turns in range(4) for flip in (False, True) if (turned if turns % 2 else upright)]
    if not fits:
        raise ValueError(f"image of {image.shape} pixels is smaller than {out_shape} in every orientation")
    turns, flip = fits[int(rng.integers(len(fits)))]
    view = np.rot90(image, turns)
    if flip:
        view = view[:, ::-1]
    top = int(rng.integers(view.shape[0] - height + 1))
    left = int(rng.integers(view.shape[1] - width + 1))
    my, mx = (c_height - height) // 2, (c_width - width) // 2
    # pad the whole view by the margin (mirror beyond its edges), then cut the canvas
    padded = np.pad(view, ((my, my), (mx, mx)), mode="symmetric") if (my or mx) else view
    out = padded[top:top + c_height, left:left + c_width]
    return np.array(out, dtype=np.float32, order="C")


def _fit_canvas(scene: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """Centre-crop or mirror-pad (``symmetric``) ``scene`` to ``canvas``; the centres coincide."""
    out = scene
    for axis, size in enumerate(canvas):
        extra = size - out.shape[axis]
        if extra % 2:
            raise ValueError(f"canvas {canvas} and scene {scene.shape} differ by an odd number of pixels")
        if extra > 0:
            widths = [(0, 0), (0, 0)]
            widths[axis] = (extra // 2, extra // 2)
            out = np.pad(out, widths, mode="symmetric")
        elif extra < 0:
            out = np.take(out, np.arange(-extra // 2, out.shape[axis] + extra // 2), axis=axis)
    return np.ascontiguousarray(out, dtype=np.float32)


def cell_canvas_shape(out_shape: tuple[int, int]) -> tuple[int, int]:
    """Size at which :func:`source_canvas` renders cell scenes: the output plus
    :data:`CELL_MARGIN_FRAC` of it on every side (independent of the motion)."""
    height, width = _check_shape(out_shape)
    return (height + 2 * int(round(CELL_MARGIN_FRAC * height)), width + 2 * int(round(CELL_MARGIN_FRAC * width)))


def source_canvas(index: int, pool: str, seed: int, rng: np.random.Generator, out_shape: tuple[int, int],
                  canvas: tuple[int, int], pixel_size_nm: float) -> tuple[np.ndarray, dict]:
    """Scene canvas of sample ``index`` by the static suite's rule, and its metadata.

    Even index: a scikit-image source of ``pool`` at least ``out_shape``, chosen with
    ``rng``, as :func:`image_canvas`; odd index: :func:`render_cell_scene` from
    ``scene_rng(seed, pool, index)`` (its own stream; ``rng`` unused) at
    :func:`cell_canvas_shape`, centre-cropped or mirror-padded to ``canvas``.  Either
    way the scene does not depend on the motion parameters: the same index and seeds
    give the same static scene in every regime, only ``canvas`` (the context that
    motion can bring into view) differs.
    """
    from simbench.phantoms.cells import render_cell_scene, scene_rng
    from simbench.phantoms.images import load_source, pool_sources

    if index % 2 == 0:
        sources = pool_sources(pool, out_shape)
        source = sources[int(rng.integers(len(sources)))]
        return image_canvas(load_source(source), out_shape, canvas, rng), {"kind": "image", "source": source}
    scene = render_cell_scene(cell_canvas_shape(out_shape), scene_rng(seed, pool, index), pixel_size_nm=pixel_size_nm)
    return _fit_canvas(scene, canvas), {"kind": "cells", "source": "render_cell_scene"}


# --------------------------------------------------------------------------- regimes and calibration

#: Table 1 of VSR-SIM (SCIENCE.md §2): (median, max) optical flow between consecutive used
#: frames, in pixels of the ground-truth frames.
TABLE1_FLOW_PX: dict[str, tuple[float, float]] = {"medium": (1.5, 10.2), "fast": (10.4, 27.3),
                                                  "extreme": (18.1, 46.2)}

#: The shape of each regime's motion before calibration.  The calibration multiplies the
#: drift, rotation and deformation speeds by one factor ("background", which sets the median)
#: and the local-flow and object speeds by another ("tail", which sets the max).
BASE_REGIMES: dict[str, MotionParams] = {
    # slow specimen drift and deformation; two patches moving ~7x faster and the vesicles make the tail
    "medium": MotionParams(
        drift_px_per_frame=1.4, drift_turn_deg_per_frame=15.0, rotation_deg_per_frame=0.12, rotation_center_frac=0.2,
        deformation_px_per_frame=0.32, deformation_scale_nm=2000.0, deformation_period_frames=16.0,
        speed_spread=0.15, local_flows=2, local_flow_px_per_frame=(8.5, 10.5),
        local_flow_size_nm=(1000.0, 2000.0), objects_per_um2=0.05, object_speed_px_per_frame=(1.0, 8.5)),
    # fast drift and rotation; strong smooth deformation makes the tail
    "fast": MotionParams(
        drift_px_per_frame=8.6, drift_turn_deg_per_frame=10.0, rotation_deg_per_frame=1.5, rotation_center_frac=0.2,
        deformation_px_per_frame=7.7, deformation_scale_nm=2000.0, deformation_period_frames=16.0,
        speed_spread=0.15, objects_per_um2=0.05, object_speed_px_per_frame=(5.0, 38.0)),
    # like fast, every 2nd frame used (the paper's REDS sequence with frames skipped)
    "extreme": MotionParams(
        drift_px_per_frame=7.0, drift_turn_deg_per_frame=10.0, rotation_deg_per_frame=1.2, rotation_center_frac=0.2,
        deformation_px_per_frame=6.0, deformation_scale_nm=2000.0, deformation_period_frames=16.0,
        speed_spread=0.15, objects_per_um2=0.05, object_speed_px_per_frame=(4.8, 31.0), frame_step=2),
}

# Calibrated regimes: BASE_REGIMES scaled by the literal (background, tail) factors that
# `python -m simbench.phantoms.motion calibrate` found (it prints these lines; ~20 min on 2 cores).
# The command, the factors, the resulting parameters and the measured flow statistics of every
# calibration sequence are in datasets/motion-calibration.json.  Nothing is loaded at run time.
REGIMES: dict[str, MotionParams] = {
    # flow median / max measured on the 8 calibration sequences: 1.535 / 10.34 px (paper 1.5 / 10.2)
    "medium": BASE_REGIMES["medium"].scaled(1.0, 1.0),
    # 10.33 / 27.35 px (paper 10.4 / 27.3)
    "fast": BASE_REGIMES["fast"].scaled(1.067, 0.8682),
    # 18.16 / 46.32 px per used pair (paper 18.1 / 46.2)
    "extreme": BASE_REGIMES["extreme"].scaled(0.9639, 0.9766),
}

#: Calibration setting: 9-frame windows of 512² target frames at 31.33 nm (raw 256² at 62.67 nm).
CALIBRATION_N_FRAMES = 9
CALIBRATION_OUT_SHAPE = (512, 512)
CALIBRATION_PIXEL_SIZE_NM = 0.9 / (2 * math.pi) * 525.0 / 1.2 / 2  # default optics' raw pixel / 2
CALIBRATION_SEED = 20240607
#: Relative tolerance at which the calibration stops (on both statistics).
CALIBRATION_TOLERANCE = 0.03
#: Sequences per regime in the calibration.
CALIBRATION_SAMPLES = 8
#: The pairs (i, i + 1) a quick check measures (the tests: 8 pairs of 512² TV-L1 per sequence
#: would not fit their time budget); the calibration records their pooled statistics per sample.
CHECK_PAIRS = (2, 5)


def _calibration_sample(task: dict) -> dict:
    """Generate sample ``index`` of a calibration stream and measure its flow (for a process pool).

    The generator is ``SeedSequence([seed, index])``; the scene is :func:`source_canvas`
    of the test pool; flow measured with :func:`simbench.phantoms.flow.flow_statistics`
    at each of ``downsample`` (and only ``pairs``, if given).
    """
    from simbench.phantoms.flow import flow_statistics

    params, index, seed = task["params"], task["index"], task["seed"]
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    start = time.perf_counter()
    scene, meta = source_canvas(index, "test", seed, rng, CALIBRATION_OUT_SHAPE, task["canvas"],
                                CALIBRATION_PIXEL_SIZE_NM)
    plan = plan_motion(params, rng, CALIBRATION_OUT_SHAPE, CALIBRATION_N_FRAMES, CALIBRATION_PIXEL_SIZE_NM,
                       scene=scene)
    frames = render_frames(scene, plan)
    result = {"index": index, **meta, "generate_s": time.perf_counter() - start}
    pairs = task.get("pairs")
    subsets = {"check": list(CHECK_PAIRS)} if pairs is None or set(CHECK_PAIRS) <= set(pairs) else None
    for downsample in task["downsample"]:
        result[f"flow_ds{downsample}"] = flow_statistics(frames, downsample=downsample, pairs=pairs,
                                                         subsets=subsets)
    result["model"] = model_flow_statistics(plan)
    return result


def _map(tasks: list, workers: int) -> list:
    """Map :func:`_calibration_sample` over ``tasks`` (results in order) in ``workers`` processes.

    Workers are spawned with one BLAS/OpenMP thread each (oversubscribed threads made two
    processes slower than one on a 2-core machine); the results do not depend on ``workers``.
    """
    if workers <= 1:
        return [_calibration_sample(task) for task in tasks]
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_calibration_sample, tasks))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure_regimes(regimes: dict[str, MotionParams], n_samples: int, *, seed: int = CALIBRATION_SEED,
                    workers: int = 2, downsample: tuple[int, ...] = (1,), pairs: list[int] | None = None) -> dict:
    """Flow statistics of ``n_samples`` sequences of each regime: 9 frames of 512² at 31.33 nm,
    test pool, alternating scikit-image crops (even index) and rendered cells (odd); sample i
    of every regime uses ``SeedSequence([seed, i])`` (the same scene in every regime).

    Returns {name: {"samples": [...], "statistics": {...}}}: per sample its source, timings,
    :func:`~simbench.phantoms.flow.flow_statistics` per downsampling (``pairs``: only these
    pairs) and the model flow; ``statistics`` is
    :func:`~simbench.phantoms.flow.regime_statistics` of the first downsampling.  All
    sequences go through one process pool.
    """
    from simbench.phantoms.flow import regime_statistics

    tasks = [{"params": params, "index": i, "seed": seed, "downsample": tuple(downsample), "pairs": pairs,
              "canvas": canvas_shape(CALIBRATION_OUT_SHAPE, params, CALIBRATION_N_FRAMES)}
             for params in regimes.values() for i in range(n_samples)]
    results = _map(tasks, workers)
    key = f"flow_ds{downsample[0]}"
    out = {}
    for j, name in enumerate(regimes):
        samples = results[j * n_samples:(j + 1) * n_samples]
        out[name] = {"samples": samples, "statistics": regime_statistics([s[key] for s in samples])}
    return out


def measure_regime(params: MotionParams, n_samples: int, **kwargs) -> dict:
    """:func:`measure_regimes` of one regime: {"samples": [...], "statistics": {...}}."""
    return measure_regimes({"regime": params}, n_samples, **kwargs)["regime"]


def calibrate_regime(name: str, n_samples: int, *, seed: int = CALIBRATION_SEED, workers: int = 2,
                     max_iterations: int = 8, log=print) -> dict:
    """Find the (background, tail) scale factors of ``BASE_REGIMES[name]`` (see
    :meth:`MotionParams.scaled`) whose measured regime median and max match
    :data:`TABLE1_FLOW_PX` within :data:`CALIBRATION_TOLERANCE`.

    The factors are written (background, tail) = (s, s r).  Scaling every speed by s
    scales the flow by ~s, so the ratio max / median depends on r alone: r is found by
    the secant method on log(max / median) (first step with slope 0.5, steps at most
    x 2), and s is re-set at every iteration to the geometric mean of target / measured.
    Every iteration measures the same samples (same seeds and scenes; the scenes do not
    depend on the speeds), so the response is smooth.  Factors are rounded to 4
    significant digits before each measurement; the last measured parameters are the
    result.
    """
    base = BASE_REGIMES[name]
    target = np.log(np.array(TABLE1_FLOW_PX[name]))
    log_s, log_r = 0.0, 0.0
    history, previous = [], None
    for iteration in range(max_iterations):
        scales = _round_scales([math.exp(log_s), math.exp(log_s + log_r)])  # the module holds these
        params = base.scaled(*scales)
        start = time.perf_counter()
        measured = measure_regime(params, n_samples, seed=seed, workers=workers)
        stats = measured["statistics"]
        y = np.log(np.array([stats["median"], stats["max"]]))
        seconds = time.perf_counter() - start
        history.append({"scales": scales, "median": stats["median"], "max": stats["max"], "seconds": seconds})
        log(f"  {name} iteration {iteration}: scales background {scales[0]:.4g}, tail {scales[1]:.4g} -> "
            f"median {stats['median']:.3f} (target {TABLE1_FLOW_PX[name][0]}), max {stats['max']:.3f} "
            f"(target {TABLE1_FLOW_PX[name][1]})  [{seconds:.0f} s]", flush=True)
        residual = y - target
        converged = bool(np.all(np.abs(np.expm1(residual)) <= CALIBRATION_TOLERANCE))
        if converged:
            break
        ratio_error = residual[1] - residual[0]          # log(max/median) - log(target ratio)
        slope = 0.5
        if previous is not None and abs(log_r - previous[0]) > 1e-9:
            slope = (ratio_error - previous[1]) / (log_r - previous[0])
            if not slope > 0.05:                          # the ratio grows with r; keep the secant sane
                slope = 0.5
        previous = (log_r, ratio_error)
        log_r -= float(np.clip(ratio_error / slope, -math.log(2.0), math.log(2.0)))
        log_s -= float(np.mean(residual))
    return {"base": base.to_dict(), "scales": scales, "params": params.to_dict(), "converged": converged,
            "iterations": history, "statistics": stats, "samples": measured["samples"]}


def _round_scales(scales: list[float]) -> list[float]:
    """Scale factors as written into the module (4 significant digits)."""
    return [float(f"{value:.4g}") for value in scales]


def _python_literal(params: MotionParams) -> str:
    """``params`` as a MotionParams(...) source literal (non-default fields only)."""
    default = MotionParams()
    fields = []
    for field in dataclasses.fields(MotionParams):
        value = getattr(params, field.name)
        if value != getattr(default, field.name):
            if isinstance(value, tuple):
                value = tuple(round(v, 6) for v in value)
            elif isinstance(value, float):
                value = round(value, 6)
            fields.append(f"{field.name}={value!r}")
    return "MotionParams(" + ", ".join(fields) + ")"


def calibrate(n_samples: int = CALIBRATION_SAMPLES, *, seed: int = CALIBRATION_SEED, workers: int = 2,
              validate: bool = True, regimes: tuple[str, ...] = ("medium", "fast", "extreme"), output=None,
              log=print) -> dict:
    """Calibrate every regime (:func:`calibrate_regime`), write the record (JSON) to ``output`` if
    given, and print the result.  ``validate``: also measure the final sequences at 256²
    (``downsample=2``) and record the difference to the 512² measurement (the reason the
    calibration measures at 512²).  Deterministic for fixed arguments (except the timings)."""
    import json
    import platform

    import skimage

    from simbench.phantoms.flow import DEFAULT_BORDER_PX, DEFAULT_DOWNSAMPLE, MAX_PERCENTILE

    start = time.perf_counter()
    options = [f"--samples {n_samples}"] if n_samples != CALIBRATION_SAMPLES else []
    options += [] if validate else ["--no-validate"]
    options += [f"--regime {name}" for name in regimes] if tuple(regimes) != ("medium", "fast", "extreme") else []
    record = {
        "command": " ".join(["python -m simbench.phantoms.motion calibrate", *options]),
        "description": "Motion regimes calibrated to Table 1 of VSR-SIM (SCIENCE.md §2): median and max "
                       "optical flow between consecutive used frames, in pixels of the 512² ground-truth "
                       "frames (31.33 nm), measured with simbench.phantoms.flow.flow_statistics.",
        "targets": {name: {"median": TABLE1_FLOW_PX[name][0], "max": TABLE1_FLOW_PX[name][1]} for name in regimes},
        "setting": {"out_shape": list(CALIBRATION_OUT_SHAPE), "pixel_size_nm": CALIBRATION_PIXEL_SIZE_NM,
                    "n_frames": CALIBRATION_N_FRAMES, "pool": "test", "seed": seed, "n_samples": n_samples,
                    "samples": "index i: SeedSequence([seed, i]); even i a scikit-image crop, odd i rendered cells",
                    "tolerance": CALIBRATION_TOLERANCE, "check_pairs": list(CHECK_PAIRS)},
        "flow_measurement": {
            "estimator": "skimage.registration.optical_flow_tvl1 (default parameters) after a global rigid "
                         "registration (rotation: polar phase correlation of Fourier magnitudes; "
                         "translation: phase correlation)",
            "downsample": DEFAULT_DOWNSAMPLE, "border_px": DEFAULT_BORDER_PX,
            "valid_pixels": "at least border_px from the edges, estimated correspondence inside the frame",
            "sample_median": "median |flow| over valid pixels of all 8 consecutive pairs pooled",
            "sample_max": f"{MAX_PERCENTILE}th percentile of the same magnitudes",
            "regime_median": "median over samples of sample medians",
            "regime_max": "median over samples of sample maxima"},
        "versions": {"numpy": np.__version__, "scikit-image": skimage.__version__,
                     "python": platform.python_version()},
        "regimes": {},
    }
    for name in regimes:
        log(f"calibrating {name} ({n_samples} samples, target median {TABLE1_FLOW_PX[name][0]}, "
            f"max {TABLE1_FLOW_PX[name][1]})", flush=True)
        result = calibrate_regime(name, n_samples, seed=seed, workers=workers, log=log)
        result["python"] = _python_literal(BASE_REGIMES[name].scaled(*result["scales"]))
        stats = result["statistics"]
        log(f"  {name}: median {stats['median']:.3f} / max {stats['max']:.3f} "
            f"(paper {TABLE1_FLOW_PX[name][0]} / {TABLE1_FLOW_PX[name][1]}), scales {result['scales']}", flush=True)
        record["regimes"][name] = result
    if validate:
        from simbench.phantoms.flow import regime_statistics

        log("validation: the same sequences measured at 256² (downsample 2)", flush=True)
        for name in regimes:
            entry = record["regimes"][name]
            params = BASE_REGIMES[name].scaled(*entry["scales"])
            half = measure_regime(params, n_samples, seed=seed, workers=workers, downsample=(2,))["samples"]
            rows = []
            for full, small in zip(entry["samples"], half):
                a, b = full["flow_ds1"], small["flow_ds2"]
                rows.append({"index": full["index"], "source": full["source"], "median_512": a["median"],
                             "median_256": b["median"], "max_512": a["max"], "max_256": b["max"],
                             "seconds_per_pair_512": a["seconds"] / len(a["pairs"]),
                             "seconds_per_pair_256": b["seconds"] / len(b["pairs"])})
            stats = regime_statistics([s["flow_ds2"] for s in half])
            summary = {"regime_median_256": stats["median"], "regime_max_256": stats["max"],
                       "worst_sample_median_diff": max(abs(r["median_256"] / r["median_512"] - 1) for r in rows),
                       "worst_sample_max_diff": max(abs(r["max_256"] / r["max_512"] - 1) for r in rows)}
            entry["validation_256"] = {"summary": summary, "samples": rows}
            log(f"  {name}: regime median {entry['statistics']['median']:.3f} (512²) vs {stats['median']:.3f} "
                f"(256²), max {entry['statistics']['max']:.3f} vs {stats['max']:.3f}; worst sample differences "
                f"{100 * summary['worst_sample_median_diff']:.1f} % (median), "
                f"{100 * summary['worst_sample_max_diff']:.1f} % (max)", flush=True)
    record["runtime_s"] = time.perf_counter() - start
    record["workers"] = workers
    if output is not None:
        from pathlib import Path

        Path(output).write_text(json.dumps(record, indent=1) + "\n")
        log(f"wrote {output}", flush=True)
    log("\nREGIMES = {", flush=True)
    for name in regimes:
        scales = record["regimes"][name]["scales"]
        log(f"    {name!r}: BASE_REGIMES[{name!r}].scaled({scales[0]!r}, {scales[1]!r}),", flush=True)
    log("}", flush=True)
    log(f"calibration took {record['runtime_s'] / 60:.1f} min", flush=True)
    return record


def _default_record_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "datasets" / "motion-calibration.json"


def main(argv: list[str] | None = None) -> int:
    """``python -m simbench.phantoms.motion calibrate [--samples N] [--workers W] [--no-validate] [-o PATH]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simbench.phantoms.motion",
                                     description="Calibrate the motion regimes to Table 1 of VSR-SIM.")
    sub = parser.add_subparsers(dest="command", required=True)
    cal = sub.add_parser("calibrate", help="calibrate medium/fast/extreme and write the record (~25 min on 2 cores)")
    cal.add_argument("--samples", type=int, default=CALIBRATION_SAMPLES,
                     help=f"sequences per regime (default {CALIBRATION_SAMPLES})")
    cal.add_argument("--workers", type=int, default=2, help="processes (default 2; results do not depend on it)")
    cal.add_argument("--no-validate", dest="validate", action="store_false",
                     help="skip re-measuring the final sequences at 256²")
    cal.add_argument("--regime", action="append", choices=sorted(TABLE1_FLOW_PX),
                     help="calibrate only this regime (repeatable)")
    cal.add_argument("-o", "--output", default=str(_default_record_path()),
                     help="record path (default datasets/motion-calibration.json)")
    args = parser.parse_args(argv)
    regimes = tuple(args.regime) if args.regime else ("medium", "fast", "extreme")
    calibrate(args.samples, workers=args.workers, validate=args.validate, regimes=regimes, output=args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

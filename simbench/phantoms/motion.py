"""Moving scenes: ground-truth frame sequences for the motion suites (SCIENCE.md §2).

A static scene (a canvas larger than the output field) is turned into a frame
sequence by four kinds of motion, all in pixels of the *target* (ground-truth)
grid, which is 2x finer than the raw camera grid (default 31.33 nm):

* **global drift**: a constant speed along a heading that wanders as a
  Gaussian random walk (the jitter);
* **global rotation** at a constant angular speed about a random centre;
* **smooth local deformation**: a sum of a few random, spatially smooth vector
  fields (Gaussian-correlated noise), each oscillating in time;
* **independently moving objects** drawn on top: vesicle-like puncta (filled
  discs, 50-300 nm across) and short tubular segments (capsules) that glide
  along their own axis.  They are carried by the global drift and rotation of
  the specimen *and* move with their own velocity (speed and a wandering
  heading), so their displacement differs from the background's.

Time is counted in frames of the *generated* sequence; with ``frame_step`` s
only every s-th generated frame is used (the paper's "extreme" regime uses
every 2nd frame of a video), so the per-pair motion of the used frames is s
times the generated one.  All motion is relative to the window's centre frame
(used index ``n_frames // 2``, generated index ``(n_frames // 2) * s``): the
centre frame shows the scene exactly, unwarped, so the ground truth of a sample
is a native-resolution image (plus the objects), never an interpolated one.

Every frame is made by **one** cubic-spline interpolation from the original
canvas (the spline coefficients are computed once per sequence) through the
frame's backward map ``S_k(p) = R(-theta_k) (p - c - d_k) + c - D_k(p)``
(R a rotation by theta_k about the centre c, d_k the drift, D_k the
deformation): warps never compound, so errors never accumulate.  A frame whose
map is the identity is copied, not interpolated.  Objects are rendered
analytically at continuous positions with anti-aliased (erfc) edges.  Frames
are float32 clipped to [0, 1].

Borders: the canvas must be at least :func:`canvas_shape` (a bound computed
from the parameters alone, so every sampled coordinate lies inside the canvas:
nothing is ever reflected by the warp).  :func:`source_canvas` makes such
canvases from the static suite's sources: rendered cell scenes are rendered at
the canvas size; scikit-image crops keep all real image context the source
offers around the output window and are mirror-padded (``numpy.pad``
``symmetric``) only where the source ends (most sources are only 512² pixels).

Calibrated regimes :data:`REGIMES` (``medium``, ``fast``, ``extreme``) hit the
optical-flow statistics of the paper's Table 1 as measured by
:func:`simbench.phantoms.flow.flow_statistics` on 512² sequences at 31.33 nm;
``python -m simbench.phantoms.motion calibrate`` re-derives them and writes
``datasets/motion-calibration.json``.

Everything here is a pure function of its arguments; randomness only through
an explicit :class:`numpy.random.Generator`, drawn in a fixed order
(drift, rotation, deformation, objects), so that object parameters never change
the background motion of the same seed.
"""
from __future__ import annotations

import dataclasses
import math
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
    "image_canvas",
    "model_flow_statistics",
    "moving_sequence",
    "plan_motion",
    "render_frames",
    "source_canvas",
]

#: Number of independent deformation modes (each a smooth 2-component field).
DEFORMATION_MODES = 3
#: Deformation fields are clipped at this many standard deviations (keeps the canvas bound finite).
DEFORMATION_CLIP_SIGMA = 4.0
#: Anti-aliasing: object edges are an erfc of this standard deviation (target pixels).
EDGE_SIGMA_PX = 0.5
#: Extra canvas pixels beyond the motion bound (cubic-spline support and rounding).
CANVAS_PAD_PX = 4


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
    #: Global rotation speed (degrees / frame), random sign; per sample x U(1 - spread, 1 + spread).
    rotation_deg_per_frame: float = 0.0
    #: Rotation centre uniform in the central ``rotation_center_frac`` of each axis of the field.
    rotation_center_frac: float = 0.5
    #: RMS speed of the smooth local deformation (target px / frame); per sample x U(1 ± spread).
    deformation_px_per_frame: float = 0.0
    #: Spatial correlation length of the deformation (Gaussian sigma, nm).
    deformation_scale_nm: float = 2000.0
    #: Temporal period of each deformation mode (frames; x U(0.75, 1.25) per mode); longer = smoother.
    deformation_period_frames: float = 16.0
    #: Relative per-sample spread of the drift, rotation and deformation speeds (each drawn separately).
    speed_spread: float = 0.0
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
    #: Added intensity of an object (the scene is in [0, 1]), uniform per object.
    object_brightness: tuple[float, float] = (0.4, 1.0)
    #: Use every ``frame_step``-th generated frame (extreme: 2).
    frame_step: int = 1

    def __post_init__(self) -> None:
        if int(self.frame_step) != self.frame_step or self.frame_step < 1:
            raise ValueError(f"frame_step must be a positive int; got {self.frame_step}")
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
        for name in ("punctum_diameter_nm", "tubule_length_nm", "tubule_width_nm",
                     "object_speed_px_per_frame", "object_brightness"):
            lo, hi = getattr(self, name)
            if not (0 <= lo <= hi and math.isfinite(hi)):
                raise ValueError(f"{name} must be a range 0 <= lo <= hi; got {(lo, hi)}")

    def scaled(self, background: float = 1.0, objects: float = 1.0) -> MotionParams:
        """Copy with drift, rotation and deformation speeds x ``background`` and object speeds x ``objects``."""
        lo, hi = self.object_speed_px_per_frame
        return dataclasses.replace(
            self, drift_px_per_frame=self.drift_px_per_frame * background,
            rotation_deg_per_frame=self.rotation_deg_per_frame * background,
            deformation_px_per_frame=self.deformation_px_per_frame * background,
            object_speed_px_per_frame=(lo * objects, hi * objects))

    def to_dict(self) -> dict:
        """JSON-able dict of the fields (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


# Calibrated regimes (target grid 512² at 31.33 nm; Table 1 of VSR-SIM, SCIENCE.md §2).
# Literal constants: produced by `python -m simbench.phantoms.motion calibrate`, which
# records the command, the base parameters, the scale factors and the measured flow
# statistics in datasets/motion-calibration.json.  Re-run it after changing the model.
REGIMES: dict[str, MotionParams] = {}  # filled below


# --------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class MotionPlan:
    """All random draws of one sequence, in target pixels; indices are generated frames.

    ``drift``: (K, 2) displacement d_k (y, x) of the specimen; ``angle_rad``: (K,)
    rotation theta_k about ``center`` (y, x); ``deformation``: (K, 2, H, W) field D_k
    or None; objects: ``obj_pos`` (K, n, 2) positions in the frame, ``obj_angle``
    (K, n) axis angles, ``obj_kind`` (n,) 0 punctum / 1 tubule, ``obj_radius``
    (n,) punctum radius or tubule half-width, ``obj_half_length`` (n,),
    ``obj_brightness`` (n,).  ``used`` are the generated indices of the used frames.
    """

    out_shape: tuple[int, int]
    used: np.ndarray
    drift: np.ndarray
    angle_rad: np.ndarray
    center: np.ndarray
    deformation: np.ndarray | None
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
                    and (self.deformation is None or not np.any(self.deformation[k])))

    def backward_map(self, k: int) -> np.ndarray:
        """S_k(p): where output pixel p of frame k samples the centre-frame scene; (2, H, W)."""
        height, width = self.out_shape
        rows, cols = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64),
                                 indexing="ij")
        cos, sin = math.cos(self.angle_rad[k]), math.sin(self.angle_rad[k])
        ry = rows - self.center[0] - self.drift[k, 0]
        rx = cols - self.center[1] - self.drift[k, 1]
        coords = np.stack([cos * ry - sin * rx + self.center[0], sin * ry + cos * rx + self.center[1]])
        if self.deformation is not None:
            coords -= self.deformation[k]
        return coords


def _generated_frames(n_frames: int, frame_step: int) -> tuple[int, np.ndarray, int]:
    """(number of generated frames K, used generated indices, centre generated index)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1; got {n_frames}")
    n_generated = (n_frames - 1) * frame_step + 1
    used = np.arange(n_frames) * frame_step
    return n_generated, used, int(used[n_frames // 2])


def _walk(rng: np.random.Generator, n_steps: int, speed: np.ndarray, turn_deg: float,
          center_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Walkers with constant ``speed`` (n,) px/step and a Gaussian random walk of the heading.

    Returns positions relative to the centre frame (n_steps + 1, n, 2) (y, x) and the
    heading of every step (n_steps, n) in radians; the step leaving the centre frame
    has the initial (uniform) heading, and the walk runs both ways in time from it.
    """
    n = speed.shape[0]
    heading0 = rng.uniform(0.0, 2.0 * np.pi, n)
    turns = rng.normal(0.0, np.deg2rad(turn_deg), (n_steps, n))
    if n_steps == 0:
        return np.zeros((1, n, 2)), np.zeros((0, n))
    walk = np.cumsum(turns, axis=0)
    heading = heading0 + walk - walk[min(center_index, n_steps - 1)]
    steps = speed[None, :, None] * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    cumulative = np.concatenate([np.zeros((1, n, 2)), np.cumsum(steps, axis=0)], axis=0)
    return cumulative - cumulative[center_index], heading


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """(2, H, W) Gaussian-correlated noise, each component unit variance, clipped at ±4 sigma."""
    white = rng.standard_normal((2, *shape))
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fy ** 2 + fx ** 2))
    field = scipy.fft.irfft2(scipy.fft.rfft2(white, axes=(-2, -1)) * transfer, s=shape, axes=(-2, -1))
    field -= field.mean(axis=(-2, -1), keepdims=True)
    std = field.std(axis=(-2, -1), keepdims=True)
    field = np.divide(field, std, out=np.zeros_like(field), where=std > 0)
    return np.clip(field, -DEFORMATION_CLIP_SIGMA, DEFORMATION_CLIP_SIGMA)


def _travel_bounds(params: MotionParams, n_frames: int) -> dict[str, float]:
    """Upper bounds (target px) of the per-frame displacements, from the parameters alone."""
    n_generated, _, center = _generated_frames(n_frames, params.frame_step)
    k_max = max(center, n_generated - 1 - center)
    top = 1.0 + params.speed_spread
    drift = params.drift_px_per_frame * top * k_max
    angle = min(np.deg2rad(params.rotation_deg_per_frame) * top * k_max, np.pi)
    period = params.deformation_period_frames * 1.25
    # |D_k| <= A/sqrt(M) * sum_m |F_m| * |g_m(k)|, |F_m| <= clip*sqrt(2), |g_m(k)| <= min(|k|, T/pi)
    deformation = (params.deformation_px_per_frame * top / math.sqrt(DEFORMATION_MODES) * DEFORMATION_MODES
                   * DEFORMATION_CLIP_SIGMA * math.sqrt(2.0) * min(k_max, period / math.pi))
    objects = params.object_speed_px_per_frame[1] * k_max
    return {"drift": drift, "angle_rad": angle, "deformation": deformation, "objects": objects, "k_max": k_max}


def canvas_shape(out_shape: tuple[int, int], params: MotionParams, n_frames: int) -> tuple[int, int]:
    """Smallest scene (H, W) for which no frame of :func:`moving_sequence` samples outside it.

    The output window sits at the canvas centre; the margin bounds drift + rotation
    (about any allowed centre, for any output pixel) + deformation, plus the spline
    support.  Depends on the parameters only, not on the random draws.
    """
    height, width = _check_shape(out_shape)
    bounds = _travel_bounds(params, n_frames)
    # farthest output pixel from the farthest allowed rotation centre
    reach = 0.5 * (1.0 + params.rotation_center_frac) * math.hypot(height, width)
    rotation = 2.0 * math.sin(0.5 * bounds["angle_rad"]) * reach
    margin = int(math.ceil(bounds["drift"] + rotation + bounds["deformation"])) + CANVAS_PAD_PX
    return height + 2 * margin, width + 2 * margin


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be two positive ints (H, W); got {shape}")
    return int(shape[0]), int(shape[1])


def plan_motion(params: MotionParams, rng: np.random.Generator, out_shape: tuple[int, int],
                n_frames: int, pixel_size_nm: float) -> MotionPlan:
    """Draw every random quantity of one sequence (fixed draw order; see the module doc).

    The plan depends on ``n_frames`` and ``frame_step`` only through the number of
    generated frames ``(n_frames - 1) * frame_step + 1``: 9 frames with step 2 are
    exactly every 2nd frame of 17 frames with step 1 and the same generator state.
    """
    height, width = _check_shape(out_shape)
    if not math.isfinite(pixel_size_nm) or pixel_size_nm <= 0:
        raise ValueError(f"pixel_size_nm must be positive; got {pixel_size_nm}")
    n_generated, used, center_index = _generated_frames(n_frames, params.frame_step)
    n_steps = n_generated - 1
    spread = params.speed_spread
    frames = np.arange(n_generated) - center_index

    # global drift: constant speed, heading random walk
    drift_speed = params.drift_px_per_frame * rng.uniform(1 - spread, 1 + spread)
    drift, _ = _walk(rng, n_steps, np.array([drift_speed]), params.drift_turn_deg_per_frame, center_index)
    drift = drift[:, 0, :]

    # global rotation about a centre in the middle of the field
    omega = np.deg2rad(params.rotation_deg_per_frame) * rng.uniform(1 - spread, 1 + spread) * rng.choice([-1, 1])
    frac = params.rotation_center_frac
    center = (0.5 + frac * (rng.uniform(size=2) - 0.5)) * np.array([height, width]) - 0.5
    angle = omega * frames

    # smooth local deformation: sum of oscillating smooth random fields
    amplitude = params.deformation_px_per_frame * rng.uniform(1 - spread, 1 + spread)
    periods = params.deformation_period_frames * rng.uniform(0.75, 1.25, DEFORMATION_MODES)
    phases = rng.uniform(0.0, 2.0 * np.pi, DEFORMATION_MODES)
    deformation = None
    if amplitude > 0:
        sigma_px = params.deformation_scale_nm / pixel_size_nm
        fields = np.stack([_smooth_field(rng, (height, width), sigma_px) for _ in range(DEFORMATION_MODES)])
        # g_m(k) = T/(2 pi) [sin(2 pi k/T + phi) - sin(phi)]: zero at the centre, |g'| <= 1
        g = periods / (2 * np.pi) * (np.sin(2 * np.pi * frames[:, None] / periods + phases) - np.sin(phases))
        scale = amplitude / math.sqrt(DEFORMATION_MODES)
        deformation = scale * np.einsum("km,mcyx->kcyx", g, fields).astype(np.float32)
        deformation[center_index] = 0.0

    # independent objects: positions in the specimen, own walk, carried by drift + rotation
    um_per_px = pixel_size_nm * 1e-3
    bounds = _travel_bounds(params, n_frames)
    margin = bounds["objects"] + bounds["drift"] + 16.0
    span = np.array([height + 2 * margin, width + 2 * margin])
    n_obj = int(rng.poisson(params.objects_per_um2 * span.prod() * um_per_px ** 2))
    start = rng.uniform(0.0, 1.0, (n_obj, 2)) * span - margin
    kind = (rng.uniform(size=n_obj) < params.tubule_fraction).astype(np.int8)
    diameter = rng.uniform(*params.punctum_diameter_nm, n_obj)
    width_nm = rng.uniform(*params.tubule_width_nm, n_obj)
    length = rng.uniform(*params.tubule_length_nm, n_obj)
    radius = np.where(kind == 1, width_nm, diameter) / (2.0 * pixel_size_nm)
    half_length = np.where(kind == 1, length / (2.0 * pixel_size_nm), 0.0)
    brightness = rng.uniform(*params.object_brightness, n_obj)
    speed = rng.uniform(*params.object_speed_px_per_frame, n_obj)
    own, heading = _walk(rng, n_steps, speed, params.object_turn_deg_per_frame, center_index)
    # axis angle: the heading of the step leaving the frame (tubules glide along their axis)
    axis = np.concatenate([heading, heading[-1:]], axis=0) if n_steps else np.zeros((1, n_obj))
    specimen = start[None] + own                                  # (K, n, 2) in centre-frame coordinates
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    ry, rx = specimen[..., 0] - center[0], specimen[..., 1] - center[1]
    # forward rigid map G_k(q) = R(theta) (q - c) + c + d_k, the inverse of backward_map's rigid part
    pos = np.stack([cos * ry + sin * rx + center[0] + drift[:, None, 0],
                    -sin * ry + cos * rx + center[1] + drift[:, None, 1]], axis=-1)
    return MotionPlan(out_shape=(height, width), used=used, drift=drift, angle_rad=angle, center=center,
                      deformation=deformation, obj_pos=pos, obj_angle=axis + angle[:, None], obj_kind=kind,
                      obj_radius=radius, obj_half_length=half_length, obj_brightness=brightness)


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
    plan = plan_motion(params, rng, out_shape, n_frames, pixel_size_nm)
    return render_frames(scene, plan)


def model_flow_statistics(plan: MotionPlan) -> dict[str, float]:
    """Flow magnitudes implied by the plan between consecutive used frames (target px).

    Background: |S_{k+s}(p) - S_k(p)| over all output pixels and pairs (exact for
    rigid motion, first order for the deformation); objects: their displacements.
    A diagnostic to compare with the measured flow, not the calibrated statistic.
    """
    used = plan.used
    magnitudes = []
    for a, b in zip(used[:-1], used[1:]):
        magnitudes.append(np.hypot(*(plan.backward_map(int(b)) - plan.backward_map(int(a)))).ravel())
    background = np.concatenate(magnitudes) if magnitudes else np.zeros(1)
    obj = (np.hypot(*np.moveaxis(np.diff(plan.obj_pos[used], axis=0), -1, 0)).ravel()
           if plan.obj_kind.size and used.size > 1 else np.zeros(1))
    return {"background_median": float(np.median(background)), "background_max": float(background.max()),
            "background_p99_9": float(np.percentile(background, 99.9)),
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


def source_canvas(index: int, pool: str, seed: int, rng: np.random.Generator, out_shape: tuple[int, int],
                  canvas: tuple[int, int], pixel_size_nm: float) -> tuple[np.ndarray, dict]:
    """Scene canvas of sample ``index`` by the static suite's rule, and its metadata.

    Even index: a scikit-image source of ``pool`` at least ``out_shape``, chosen with
    ``rng``, as :func:`image_canvas`; odd index: :func:`render_cell_scene` at the
    canvas size from ``scene_rng(seed, pool, index)`` (its own stream; ``rng`` unused).
    """
    from simbench.phantoms.cells import render_cell_scene, scene_rng
    from simbench.phantoms.images import load_source, pool_sources

    if index % 2 == 0:
        sources = pool_sources(pool, out_shape)
        source = sources[int(rng.integers(len(sources)))]
        return image_canvas(load_source(source), out_shape, canvas, rng), {"kind": "image", "source": source}
    scene = render_cell_scene(canvas, scene_rng(seed, pool, index), pixel_size_nm=pixel_size_nm)
    return scene, {"kind": "cells", "source": "render_cell_scene"}

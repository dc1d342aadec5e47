"""Motion sequences (simbench.phantoms.motion) and their flow measurement (simbench.phantoms.flow)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from simbench.phantoms import load_source, motion, random_crop
from simbench.phantoms.flow import flow_statistics, measure_flow, regime_statistics
from simbench.phantoms.motion import (
    REGIMES,
    TABLE1_FLOW_PX,
    MotionParams,
    canvas_shape,
    image_canvas,
    moving_sequence,
    plan_motion,
    render_frames,
    source_canvas,
)
from simbench.physics import default_optics

PIXEL_NM = default_optics().pixel_size_nm / 2  # the target grid, 31.33 nm
RECORD = Path(__file__).resolve().parents[1] / "datasets" / "motion-calibration.json"

#: Every kind of motion at once, at modest speeds.
BUSY = MotionParams(drift_px_per_frame=2.0, drift_turn_deg_per_frame=10.0, rotation_deg_per_frame=0.5,
                    deformation_px_per_frame=0.8, deformation_scale_nm=1500.0, speed_spread=0.2, local_flows=1,
                    local_flow_px_per_frame=(3.0, 4.0), local_flow_size_nm=(600.0, 900.0), objects_per_um2=0.5,
                    object_speed_px_per_frame=(1.0, 4.0))


def _sequence(params: MotionParams, seed: int, out_shape=(128, 128), n_frames: int = 9, index: int = 1):
    """(frames, canvas) of calibration-style sample ``index`` (odd: rendered cells; even: a photo)."""
    rng = np.random.default_rng(seed)
    canvas, _ = source_canvas(index, "test", seed, rng, out_shape, canvas_shape(out_shape, params, n_frames), PIXEL_NM)
    return moving_sequence(canvas, n_frames, params, rng, out_shape, PIXEL_NM), canvas


def _centre(canvas: np.ndarray, out_shape) -> np.ndarray:
    top, left = (canvas.shape[0] - out_shape[0]) // 2, (canvas.shape[1] - out_shape[1]) // 2
    return canvas[top:top + out_shape[0], left:left + out_shape[1]]


# --------------------------------------------------------------------------- generator

@pytest.mark.parametrize("index", [0, 1])
def test_same_seed_same_bytes_other_seed_differs(index):
    frames, _ = _sequence(BUSY, seed=3, index=index)
    again, _ = _sequence(BUSY, seed=3, index=index)
    other, _ = _sequence(BUSY, seed=4, index=index)
    assert frames.shape == (9, 128, 128) and frames.dtype == np.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert frames.tobytes() == again.tobytes()
    assert frames.tobytes() != other.tobytes()
    assert not np.array_equal(frames[0], frames[8])  # it moves


def test_zero_motion_gives_the_static_crop_exactly():
    out = (96, 128)
    frames, canvas = _sequence(MotionParams(), seed=5, out_shape=out, index=0)
    assert canvas.shape == out  # no motion, no margin
    for frame in frames:
        np.testing.assert_array_equal(frame, canvas)


@pytest.mark.parametrize("name", sorted(TABLE1_FLOW_PX))
def test_centre_frame_is_the_unwarped_scene(name):
    params = dataclasses.replace(REGIMES[name], objects_per_um2=0.0)
    out = (128, 128)
    frames, canvas = _sequence(params, seed=6, out_shape=out, index=0)
    np.testing.assert_array_equal(frames[4], _centre(canvas, out))
    assert not np.array_equal(frames[3], frames[4])


def test_objects_do_not_change_the_background_motion():
    with_objects = dataclasses.replace(BUSY, objects_per_um2=2.0)
    without = dataclasses.replace(BUSY, objects_per_um2=0.0)
    a = plan_motion(with_objects, np.random.default_rng(8), (128, 128), 9, PIXEL_NM)
    b = plan_motion(without, np.random.default_rng(8), (128, 128), 9, PIXEL_NM)
    assert a.obj_kind.size > 0 and b.obj_kind.size == 0
    np.testing.assert_array_equal(a.drift, b.drift)
    np.testing.assert_array_equal(a.angle_rad, b.angle_rad)
    np.testing.assert_array_equal(a.nonrigid, b.nonrigid)


def test_scene_smaller_than_canvas_is_refused():
    params = REGIMES["fast"]
    need = canvas_shape((128, 128), params, 9)
    with pytest.raises(ValueError, match="canvas"):
        moving_sequence(np.zeros((need[0] - 2, need[1] - 2), np.float32), 9, params, np.random.default_rng(0),
                        (128, 128), PIXEL_NM)


def test_canvas_bound_holds_for_every_regime():
    """canvas_shape bounds the actual sampling coordinates (render_frames checks them too)."""
    out = (256, 256)
    for name, params in REGIMES.items():
        canvas = canvas_shape(out, params, 9)
        for seed in range(3):
            plan = plan_motion(params, np.random.default_rng(seed), out, 9, PIXEL_NM)
            top = (canvas[0] - out[0]) / 2
            for k in plan.used:
                coords = plan.backward_map(int(k)) + top
                assert coords.min() >= 1 and coords.max() <= canvas[0] - 2, (name, seed, k)


def test_image_canvas_centre_is_the_static_crop():
    """The canvas around a photo keeps the static suite's crop (same draws as random_crop) at its centre."""
    image = load_source("hubble_deep_field")
    out, canvas = (256, 256), (400, 400)
    crop = random_crop(image, out, np.random.default_rng(11))
    scene = image_canvas(image, out, canvas, np.random.default_rng(11))
    assert scene.shape == canvas
    np.testing.assert_array_equal(_centre(scene, out), crop)


@pytest.mark.parametrize("index", [0, 1])
def test_static_scene_does_not_depend_on_the_canvas(index):
    out = (128, 128)
    small, _ = source_canvas(index, "test", 9, np.random.default_rng(9), out, (200, 200), PIXEL_NM)
    large, _ = source_canvas(index, "test", 9, np.random.default_rng(9), out, (400, 400), PIXEL_NM)
    np.testing.assert_array_equal(_centre(large, (200, 200)), small)


def test_frame_step_two_is_every_second_frame_and_doubles_the_flow():
    base = MotionParams(drift_px_per_frame=3.0, drift_turn_deg_per_frame=5.0, deformation_px_per_frame=0.5,
                        rotation_deg_per_frame=0.2)
    skipped = dataclasses.replace(base, frame_step=2)
    out = (160, 160)
    assert canvas_shape(out, skipped, 9) == canvas_shape(out, base, 17)
    frames2, _ = _sequence(skipped, seed=12, out_shape=out, n_frames=9, index=0)
    frames1, _ = _sequence(base, seed=12, out_shape=out, n_frames=17, index=0)
    assert frames2.tobytes() == frames1[::2].tobytes()
    one = flow_statistics(frames1[6:9], downsample=1)["median"]   # generated frames 6, 7, 8
    two = flow_statistics(frames2[3:5], downsample=1)["median"]   # generated frames 6, 8
    assert 1.85 < two / one < 2.15, (one, two)


def test_objects_move_independently_of_the_background():
    """A punctum on a dark scene is drawn where the plan puts it, and its displacement is
    the drift's plus its own: it differs from the background's."""
    params = MotionParams(drift_px_per_frame=3.0, objects_per_um2=0.3, tubule_fraction=0.0,
                          punctum_diameter_nm=(250.0, 300.0), object_speed_px_per_frame=(4.0, 5.0))
    out = (160, 160)
    plan = plan_motion(params, np.random.default_rng(13), out, 9, PIXEL_NM)
    frames = render_frames(np.zeros(canvas_shape(out, params, 9), np.float32), plan)
    drift_step = np.diff(plan.drift[plan.used], axis=0)
    checked = 0
    for j in range(plan.obj_kind.size):
        pos = plan.obj_pos[plan.used, j]
        others = np.delete(plan.obj_pos[plan.used], j, axis=1)
        inside = np.all((pos > 12) & (pos < np.array(out) - 12))
        isolated = others.size == 0 or np.min(np.linalg.norm(others - pos[:, None], axis=-1)) > 24
        if not (inside and isolated):
            continue
        for k, (cy, cx) in enumerate(pos):  # intensity centroid in a window around the planned position
            y0, x0 = round(cy) - 8, round(cx) - 8
            patch = frames[k, y0:y0 + 17, x0:x0 + 17].astype(np.float64)
            yy, xx = np.mgrid[y0:y0 + 17, x0:x0 + 17]
            assert abs((patch * yy).sum() / patch.sum() - cy) < 0.05
            assert abs((patch * xx).sum() / patch.sum() - cx) < 0.05
        own = np.linalg.norm(np.diff(pos, axis=0) - drift_step, axis=1)
        assert np.all(own > 3.9) and np.all(own < 5.1)  # its own speed, on top of the drift
        checked += 1
    assert checked >= 1


# --------------------------------------------------------------------------- flow measurement

@pytest.mark.parametrize("speed", [1.5, 10.4, 23.1])
def test_flow_statistics_measures_a_known_translation(speed):
    """Pure global translation (cubic-spline shifts of a photo, not the generator): median = speed,
    max = speed within 15 % or 0.3 px.  256² frames keep the test fast; the estimator is the same at any size."""
    image = load_source("hubble_deep_field")[:400, :400].astype(np.float64)
    direction = np.array([np.sin(0.6), np.cos(0.6)])
    frames = np.stack([ndi.shift(image, k * speed * direction, order=3, mode="mirror")[72:328, 72:328]
                       for k in range(2)]).astype(np.float32)
    stats = flow_statistics(frames)
    assert abs(stats["median"] / speed - 1) < 0.05, stats["median"]
    # the 99.99th percentile carries TV-L1's outlier error, a fraction of a pixel at any speed
    assert abs(stats["max"] - speed) < max(0.15 * speed, 0.3), stats["max"]
    flow, mask = measure_flow(frames[0], frames[1])
    np.testing.assert_allclose(np.median(flow[:, mask], axis=1), speed * direction, atol=0.05 * speed)


def test_regime_statistics_is_the_median_over_samples():
    samples = [{"median": m, "max": x} for m, x in [(1, 10), (2, 30), (9, 20)]]
    stats = regime_statistics(samples)
    assert (stats["median"], stats["max"], stats["n_samples"]) == (2, 20, 3)


def test_calibration_record_matches_the_module():
    record = json.loads(RECORD.read_text())
    assert record["command"].startswith("python -m simbench.phantoms.motion calibrate")
    assert record["setting"]["check_pairs"] == list(motion.CHECK_PAIRS)
    for name, params in REGIMES.items():
        entry = record["regimes"][name]
        assert entry["params"] == params.to_dict()
        assert entry["params"] == motion.BASE_REGIMES[name].scaled(*entry["scales"]).to_dict()
        stats = entry["statistics"]
        median, maximum = TABLE1_FLOW_PX[name]
        assert abs(stats["median"] / median - 1) <= 0.15 and abs(stats["max"] / maximum - 1) <= 0.15
        assert stats["n_samples"] == len(entry["samples"]) >= 8
        # the quick check's pair subset: same median, a max lower by the extreme-value effect only
        check = regime_statistics([s["flow_ds1"]["subsets"]["check"] for s in entry["samples"]])
        assert abs(check["median"] / stats["median"] - 1) <= 0.05, (name, check, stats)
        assert 0.8 <= check["max"] / stats["max"] <= 1.0, (name, check, stats)

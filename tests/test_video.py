"""Bring your own video: `--suite-opt video_dir=PATH` (a frame folder or a multi-page TIFF)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import tifffile
from skimage.io import imsave
from skimage.util import img_as_float32

from simbench.errors import SimbenchError
from simbench.phantoms import load_source
from simbench.phantoms.flow import flow_statistics
from simbench.suites.motion import MotionExtreme, MotionMedium

SIZE = 520
#: frames of the test video: 5 quick samples of 9 consecutive frames
N_VIDEO = 45
#: the test video's motion: a pure translation, px of the ground-truth grid per video frame
SHIFT_PX = 2


def _video_frames(n: int) -> np.ndarray:
    """A photo translated by SHIFT_PX rows per frame (integer crops: the exact motion), uint8."""
    image = load_source("hubble_deep_field")
    frames = [image[SHIFT_PX * k:SHIFT_PX * k + SIZE, :SIZE] for k in range(n)]
    return (np.stack(frames) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def tiff_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "movie.tif"
    tifffile.imwrite(path, _video_frames(N_VIDEO))
    return path


def test_frames_are_the_videos_own_pixels_and_their_flow_is_the_videos(tiff_video):
    suite = MotionMedium().configured({"video_dir": str(tiff_video)})
    frames, _, meta = suite._scene_frames(1, "quick", 0)
    top, left = meta["crop"]
    video = img_as_float32(_video_frames(N_VIDEO))
    assert meta["kind"] == "video" and meta["first_frame"] == 9 and meta["frame_step"] == 1
    np.testing.assert_array_equal(frames, video[9:18, top:top + 512, left:left + 512])
    assert flow_statistics(frames, pairs=[3])["median"] == pytest.approx(SHIFT_PX, rel=0.05)
    sample = suite.make_sample(1, "quick", 0)
    np.testing.assert_array_equal(sample.target, frames[4])
    assert sample.raw.frames.shape == (9, 256, 256)


def test_frame_folder_equals_the_tiff_and_extreme_skips_every_other_frame(tiff_video, tmp_path):
    for k, frame in enumerate(_video_frames(N_VIDEO)):
        imsave(tmp_path / f"{k:08d}.png", frame, check_contrast=False)
    folder = MotionMedium().configured({"video_dir": str(tmp_path)}).make_sample(0, "quick", 0)
    tiff = MotionMedium().configured({"video_dir": str(tiff_video)}).make_sample(0, "quick", 0)
    np.testing.assert_array_equal(folder.target, tiff.target)
    extreme = MotionExtreme().configured({"video_dir": str(tmp_path)})
    with pytest.raises(SimbenchError, match=r"has 45 frames; 5 samples of 9 frames 2 apart need 85"):
        extreme.make_sample(0, "quick", 0)
    one = MotionExtreme().configured({"video_dir": str(tmp_path), "frame_step": "3"})
    with pytest.raises(SimbenchError, match="need 125"):
        one.make_sample(0, "quick", 0)


def test_bad_videos_get_errors_naming_the_file(tmp_path):
    def error(path, **opts):
        suite = MotionMedium().configured({"video_dir": str(path), **opts})
        with pytest.raises(SimbenchError) as info:
            suite.make_sample(0, "quick", 0)
        return str(info.value)

    assert "no such folder or file" in error(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert "holds no frame images" in error(tmp_path / "empty")
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    assert "junk.tif" in error(tmp_path / "junk.tif")
    small = tmp_path / "small.tif"
    tifffile.imwrite(small, np.zeros((N_VIDEO, 300, 300), np.uint8))
    assert "300×300 px" in error(small) and "512×512" in error(small)
    broken = tmp_path / "frames"
    broken.mkdir()
    for k, frame in enumerate(_video_frames(N_VIDEO)):
        imsave(broken / f"{k:04d}.png", frame, check_contrast=False)
    (broken / "0001.png").write_bytes(b"garbage")
    assert "0001.png" in error(broken)
    with pytest.raises(SimbenchError, match="frame_step"):
        MotionMedium().configured({"frame_step": "0"})


def test_run_with_a_video_reports_its_flow(tiff_video, tmp_path, registry, monkeypatch):
    """End to end: the run measures each sample's flow (no manifest covers a user's video) and
    stores it in the rows; one pair per sample here (TV-L1 on all 8 pairs of 5 samples takes minutes)."""
    from simbench.harness import runner
    from simbench.phantoms import flow

    monkeypatch.setattr(flow, "flow_statistics", functools.partial(flow.flow_statistics, pairs=[0]))
    request = runner.RunRequest(methods=["widefield"], suite="motion/medium", size="quick", results_dir=tmp_path,
                                progress=False, suite_options={"video_dir": str(tiff_video)})
    (record,) = runner.run(registry, request).records
    assert record.key == f"quick[video_dir={tiff_video}]"
    assert record.data["suite_options"] == {"video_dir": str(tiff_video)}
    for row in record.samples.values():
        assert row["status"] == "ok" and row["meta"]["kind"] == "video"
        assert row["meta"]["flow"]["median"] == pytest.approx(SHIFT_PX, rel=0.05)

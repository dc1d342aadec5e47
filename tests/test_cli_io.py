"""`simbench simulate` and `simbench reconstruct`: TIFF/JSON out and in, with bad-input errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from simbench.harness.manifest import expected
from simbench.io import read_image, write_image
from simbench.physics import frame_patterns
from simbench.suites.static import StaticSuite

from conftest import run_cli


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    res = run_cli("simulate", "--suite", "static", "--size", "quick", "-o", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_simulate_exports_calibrated_tiffs_and_metadata(exported):
    suite = StaticSuite()
    info = json.loads((exported / "suite.json").read_text())
    assert info["content_hash"] == expected(suite, "quick", 0).content_hash
    assert info["sample_ids"] == [suite.sample_id(i) for i in range(6)]
    sample = suite.make_sample(0, "quick", 0)
    raw, raw_px = read_image(exported / "raw" / "static-0000.tif")
    target, target_px = read_image(exported / "target" / "static-0000.tif")
    assert np.array_equal(raw, sample.raw.frames) and np.array_equal(target, sample.target)
    assert raw_px == pytest.approx(sample.raw.optics.pixel_size_nm, rel=1e-6)
    assert target_px == pytest.approx(sample.target_pixel_size_nm, rel=1e-6)
    assert (exported / "raw-repeat" / "static-0000.tif").exists()
    meta = json.loads((exported / "meta" / "static-0000.json").read_text())
    assert meta["optics"]["na"] == sample.raw.optics.na and meta["frame_patterns"] == list(range(9))
    assert meta["truth"]["pattern"]["frequency_per_um"] == sample.truth["pattern"]["frequency_per_um"]
    with tifffile.TiffFile(exported / "target" / "static-0000.tif") as tif:  # what Fiji reads
        assert tif.is_imagej and tif.imagej_metadata["unit"] == "um"


def test_reconstruct_writes_a_calibrated_float32_tiff(exported, tmp_path):
    out = tmp_path / "wf.tif"
    res = run_cli("reconstruct", "--method", "widefield", str(exported / "raw" / "static-0001.tif"),
                  "-o", str(out), "--na", "1.2", "--wavelength", "525")
    assert res.returncode == 0, res.stderr
    image, pixel = read_image(out)
    raw, raw_px = read_image(exported / "raw" / "static-0001.tif")
    assert image.shape == (512, 512) and pixel == pytest.approx(raw_px / 2, rel=1e-6)
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].dtype == np.float32


def test_frame_orders():
    assert frame_patterns("angle-major") == tuple(range(9))
    # phase-major: a0p0 a1p0 a2p0 a0p1 … → pattern index 3·angle + phase
    assert frame_patterns("phase-major") == (0, 3, 6, 1, 4, 7, 2, 5, 8)


def _one_error_line(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1 and "error" in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def test_reconstruct_bad_input(tmp_path):
    seven = write_image(tmp_path / "seven.tif", np.ones((7, 32, 32)), 62.7)
    eight = write_image(tmp_path / "eight.tif", np.ones((8, 32, 32)), 62.7)
    nine = write_image(tmp_path / "nine.tif", np.ones((9, 32, 32)), 62.7)
    uncalibrated = tmp_path / "plain.tif"
    tifffile.imwrite(uncalibrated, np.ones((9, 32, 32), np.float32))
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"this is not a tiff")
    optics = ["--na", "1.2", "--wavelength", "525"]
    cases = [
        (["reconstruct", "--method", "widefield", str(eight), "-o", "x.tif", *optics],
         "8 frames; give 9 for 2D SIM (3 angles x 3 phases of stripes) or 7 for hexagonal SIM of one plane"),
        (["reconstruct", "--method", "wiener", str(seven), "-o", "x.tif", *optics],
         "method 'wiener' does not reconstruct hexagonal SIM of one plane (7 phase steps)"),
        (["reconstruct", "--method", "widefield", str(nine), "-o", "x.tif", "--wavelength", "525"], "missing optics: pass --na"),
        (["reconstruct", "--method", "widefield", str(nine), "-o", "x.tif", *optics, "--pixel-size", "abc"],
         "argument --pixel-size: invalid float value: 'abc'"),
        (["reconstruct", "--method", "widefield", str(garbage), "-o", "x.tif", *optics], "cannot read"),
        (["reconstruct", "--method", "widefield", str(tmp_path / "missing.tif"), "-o", "x.tif", *optics],
         "no such file"),
        (["reconstruct", "--method", "widefield", str(uncalibrated), "-o", "x.tif", *optics],
         "no pixel-size calibration: pass --pixel-size"),
        (["reconstruct", "--method", "widefield", str(nine), "-o", "x.tif", "--na", "1.6", "--wavelength", "525"],
         "invalid optics"),
        (["reconstruct", "--method", "widefeld", str(nine), "-o", "x.tif", *optics], "did you mean 'widefield'"),
    ]
    for args, message in cases:
        line = _one_error_line(run_cli(*args, cwd=tmp_path))
        assert message in line, (args, line)
    assert not (tmp_path / "x.tif").exists()


def test_phase_major_frames_reconstruct_like_angle_major(exported, tmp_path):
    raw, pixel = read_image(exported / "raw" / "static-0001.tif")
    order = frame_patterns("phase-major")  # frame i of a phase-major file shows pattern order[i]
    phase_major = write_image(tmp_path / "pm.tif", raw[list(order)], pixel)
    optics = ["--na", "1.2", "--wavelength", "525", "--method", "wiener"]
    a = run_cli("reconstruct", str(exported / "raw" / "static-0001.tif"), "-o", str(tmp_path / "a.tif"), *optics)
    b = run_cli("reconstruct", str(phase_major), "-o", str(tmp_path / "b.tif"), "--frame-order", "phase-major",
                *optics)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert np.allclose(read_image(tmp_path / "a.tif")[0], read_image(tmp_path / "b.tif")[0], atol=1e-4)
    wrong = run_cli("reconstruct", str(phase_major), "-o", str(tmp_path / "c.tif"), *optics)  # order not given
    assert wrong.returncode != 0 or not np.allclose(read_image(tmp_path / "c.tif")[0], read_image(tmp_path / "a.tif")[0],
                                                    atol=1e-3)

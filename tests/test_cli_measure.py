"""``simbench measure``: FRC and decorrelation from TIFF files, and its one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from simbench.cli import main
from simbench.io import write_image

from conftest import run_cli


def _band_limited(shape: tuple[int, int], cutoff_per_px: float, rng: np.random.Generator) -> np.ndarray:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) * (np.hypot(fy, fx) < cutoff_per_px)))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two noise realisations of a band-limited (0.25 cycles/px) image, calibrated at 30 nm."""
    where = tmp_path_factory.mktemp("measure")
    rng = np.random.default_rng(0)
    signal = 10 * _band_limited((128, 128), 0.25, rng) + 5
    noise = signal.std()  # per-frequency SNR ≈ 5 inside the band
    a = write_image(where / "a.tif", signal + noise * rng.standard_normal(signal.shape), 30.0)
    b = write_image(where / "b.tif", signal + noise * rng.standard_normal(signal.shape), 30.0)
    return a, b


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_frc_json_end_to_end(pair) -> None:
    a, b = pair
    proc = run_cli("measure", "frc", str(a), str(b), "--pixel-size", "30", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["measure"] == "frc" and data["pixel_size_nm"] == 30.0
    assert data["threshold"] == pytest.approx(1 / 7)
    assert data["resolution_nm"] == pytest.approx(30 / 0.25, rel=0.1)  # band limit 0.25 cycles/px
    curve = data["curve"]
    assert len(curve["frequency_per_um"]) == len(curve["frc"]) == 64
    assert curve["frequency_per_um"][-1] == pytest.approx(1e3 / 60)  # Nyquist of 30 nm pixels, cycles/µm


def test_frc_plain_uses_tiff_calibration_and_threshold(pair, capsys) -> None:
    a, b = pair
    assert main(["measure", "frc", str(a), str(b)]) == 0
    strict = capsys.readouterr().out
    assert "FRC resolution" in strict and "nm" in strict and "30 nm" in strict and "0.1429" in strict
    assert main(["measure", "frc", str(a), str(b), "--threshold", "0.5", "--pixel-size", "60"]) == 0
    assert "threshold 0.5" in capsys.readouterr().out


def test_decorr_json_and_plain(tmp_path, capsys) -> None:
    rng = np.random.default_rng(1)
    path = write_image(tmp_path / "img.tif", _band_limited((128, 128), 0.2, rng) + 3, 40.0)
    assert main(["measure", "decorr", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["measure"] == "decorr" and data["pixel_size_nm"] == pytest.approx(40.0)
    # hard band limit 0.2 cycles/px = 0.4 × Nyquist → 2·40/0.4 = 200 nm
    assert data["resolution_nm"] == pytest.approx(200.0, rel=0.1)
    assert len(data["curve"]["frequency_per_um"]) == len(data["curve"]["d"])
    assert main(["measure", "decorr", str(path), "--pixel-size", "20"]) == 0
    assert "Decorrelation resolution" in capsys.readouterr().out


def test_missing_file_and_bad_pixel_size_are_one_line_errors(pair, tmp_path) -> None:
    a, _ = pair
    missing = run_cli("measure", "frc", str(a), str(tmp_path / "nope.tif"), "--pixel-size", "30")
    assert missing.returncode != 0 and missing.stdout == ""
    assert len(_error_lines(missing.stderr)) == 1 and "nope.tif" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = run_cli("measure", "decorr", str(a), "--pixel-size", "thirty")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(_error_lines(bad.stderr)) == 1 and "pixel size" in bad.stderr


@pytest.mark.parametrize("case", ["shape", "calibration", "3d", "pixel<=0", "unreadable"])
def test_bad_inputs_give_one_error_line(case: str, pair, tmp_path, capsys) -> None:
    a, _ = pair
    image = np.random.default_rng(2).random((128, 128)).astype(np.float32)
    if case == "shape":
        other = write_image(tmp_path / "small.tif", image[:100], 30.0)
        argv = ["measure", "frc", str(a), str(other)]
        expected = "shape"
    elif case == "calibration":
        uncalibrated = tmp_path / "raw.tif"
        tifffile.imwrite(uncalibrated, image)
        argv = ["measure", "decorr", str(uncalibrated)]
        expected = "--pixel-size"
    elif case == "3d":
        stack = write_image(tmp_path / "stack.tif", np.stack([image, image]), 30.0)
        argv = ["measure", "decorr", str(stack)]
        expected = "2D"
    elif case == "pixel<=0":
        argv = ["measure", "frc", str(a), str(a), "--pixel-size", "-3"]
        expected = "pixel size"
    else:
        junk = tmp_path / "junk.tif"
        junk.write_bytes(b"not a tiff")
        argv = ["measure", "decorr", str(junk), "--pixel-size", "30"]
        expected = "junk.tif"
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    lines = _error_lines(captured.err)
    assert len(lines) == 1 and "error" in lines[0] and expected in lines[0]


def _blobs(shape: tuple[int, int, int], sigma_px: tuple[float, float, float], n: int,
           rng: np.random.Generator) -> np.ndarray:
    """``n`` Gaussian blobs of per-axis σ (pixels) at random positions ≥ 5σ from the edges."""
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    volume = np.zeros(shape, np.float32)
    for _ in range(n):
        centre = [rng.uniform(5 * s, size - 5 * s) for s, size in zip(sigma_px, shape)]
        volume += np.exp(-0.5 * sum(((g - c) / s) ** 2 for g, c, s in zip(grids, centre, sigma_px)))
    return volume


def test_fwhm_of_a_volume_end_to_end(tmp_path, capsys) -> None:
    """Isolated Gaussian blobs of known σ: the CLI reports 2.355 σ per axis in nm (x, y, z)."""
    sigma = (3.0, 2.0, 2.5)  # z, y, x in voxels
    voxel = (100.0, 40.0, 40.0)
    path = write_image(tmp_path / "vol.tif", _blobs((64, 96, 96), sigma, 3, np.random.default_rng(5)), voxel[1])
    assert main(["measure", "fwhm", str(path), "--z-step", "100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for axis, s, v in zip("zyx", sigma, voxel):
        assert data[f"fwhm_{axis}_nm"] == pytest.approx(2 * np.sqrt(2 * np.log(2)) * s * v, rel=0.03), axis
    assert main(["measure", "fwhm", str(path), "--z-step", "100"]) == 0
    assert capsys.readouterr().out.startswith("ACF-FWHM: x ")


@pytest.mark.parametrize("case", ["no z-step", "one plane", "nan", "bad z-step"])
def test_fwhm_bad_inputs_are_one_line_errors(case: str, tmp_path) -> None:
    volume = _blobs((16, 48, 48), (1.5, 1.5, 1.5), 1, np.random.default_rng(6))
    args = ["--z-step", "100"]
    if case == "no z-step":
        args, expected = [], "--z-step"
    elif case == "one plane":
        volume, expected = volume[:1], "one plane"
    elif case == "nan":
        volume[3, 4, 5], expected = np.nan, "NaN"
    else:
        args, expected = ["--z-step", "deep"], "deep"
    path = write_image(tmp_path / "vol.tif", volume, 40.0)
    proc = run_cli("measure", "fwhm", str(path), *args)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(_error_lines(proc.stderr)) == 1 and expected in proc.stderr, proc.stderr

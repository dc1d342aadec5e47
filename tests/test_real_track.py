"""The real-data track: sidecar validation, samples without a target, and the whole track run from
the command line on the real beads (skipped when the reference data are absent)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simbench.errors import SimbenchError
from simbench.harness.results import iter_records
from simbench.io import write_image
from simbench.suites.real import RealSuite
from simbench.suites.real_data import find_sidecars, read_sidecar

from conftest import SHARED_DATA, hex_plane, run_cli

BEADS = SHARED_DATA / "real-sim-beads"
needs_beads = pytest.mark.skipif(not BEADS.is_dir(), reason=f"real bead data not found at {BEADS}")
OPTICS = {"na": 1.2, "emission_wavelength_nm": 525, "pixel_size_nm": 62.67}


def _sidecar(folder: Path, name: str = "cells", **fields) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"frames": "raw.tif", **OPTICS} | fields))
    return path


@pytest.fixture
def simulated_folder(tmp_path, registry) -> Path:
    """A folder with two simulated static-suite acquisitions, multi-frame TIFFs with their sidecars."""
    for index, name in ((1, "cells"), (3, "more-cells")):
        sample = registry.suite("static").make_sample(index, "quick", 0)
        write_image(tmp_path / f"{name}.tif", sample.raw.frames, sample.raw.optics.pixel_size_nm)
        _sidecar(tmp_path, name, frames=f"{name}.tif", refractive_index=1.33, description="simulated cells")
    return tmp_path


@pytest.mark.parametrize(("fields", "message"), [
    ({"na": "high"}, '"na" must be a positive number'),
    ({"frame_order": "random"}, '"frame_order" must be one of angle-major, phase-major'),
    ({"kind": "cells"}, '"kind" must be one of beads, other'),
    ({"wavelength": 500}, "unknown key(s) wavelength"),
    ({"frames": ["missing.tif"]}, "frame file(s) not found"),
    ({"modality": "lssim3d-hex-7step"}, '"modality" must be one of sim2d-stripes-3x3'),
])
def test_sidecar_errors_name_the_file_and_the_key(tmp_path, fields, message):
    (tmp_path / "raw.tif").write_bytes(b"")
    path = _sidecar(tmp_path, **fields)
    with pytest.raises(SimbenchError, match="cells.json") as info:
        read_sidecar(path)
    assert message in str(info.value)


def test_missing_optics_and_empty_folders_are_refused(tmp_path):
    (tmp_path / "raw.tif").write_bytes(b"")
    (tmp_path / "a.json").write_text(json.dumps({"frames": "raw.tif", "na": 1.4}))
    with pytest.raises(SimbenchError, match='missing "emission_wavelength_nm"'):
        find_sidecars(tmp_path)
    with pytest.raises(SimbenchError, match="holds no sidecar"):
        find_sidecars(tmp_path / "..")
    with pytest.raises(SimbenchError, match="not found"):
        RealSuite(data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(SimbenchError, match="data_dir=DIR"):
        RealSuite().n_samples("full")


def test_a_real_sample_has_no_target_and_the_estimated_pattern(simulated_folder, registry):
    suite = RealSuite(data_dir=str(simulated_folder))
    assert suite.n_samples("full") == 2 and suite.sample_id(0) == "cells"
    sample = suite.make_sample(0, "full", 0)
    truth = registry.suite("static").make_sample(1, "quick", 0).truth["pattern"]
    assert sample.target is None and sample.grid_shape == (512, 512)
    assert sample.raw.pattern.frequency_per_um == pytest.approx(truth["frequency_per_um"], rel=0.01)
    assert sample.meta["description"] == "simulated cells" and sample.meta["pattern"]["source"] == "estimated"


def test_the_track_runs_resumes_and_compares_from_the_command_line(simulated_folder, tmp_path):
    results = tmp_path / "results"
    args = ("run", "--method", "widefield,wiener", "--suite", "real", "--suite-opt", f"data_dir={simulated_folder}",
            "--results", str(results), "--no-progress")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "squirrel_rse" in first.stdout and "target (reference)" not in first.stdout
    again = run_cli(*args)
    assert again.returncode == 0 and "0 computed, 0 failed, 2 already done" in again.stderr
    compare = run_cli("compare", "--suite", "real", "--suite-opt", f"data_dir={simulated_folder}", "--results",
                      str(results), "widefield", "wiener")
    assert compare.returncode == 0, compare.stderr
    assert "squirrel_rse" in compare.stdout and "decorr" in compare.stdout
    records = {r.data["method"]: r for r in iter_records(results, "real")}
    row = records["wiener"].samples["cells"]
    assert set(row["scores"]) == set(RealSuite.metrics) and np.isnan(row["scores"]["bead_fwhm_ratio"])
    report = run_cli("report", "--suite", "real", "--suite-opt", f"data_dir={simulated_folder}", "--results",
                     str(results), "-o", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "montage.png").stat().st_size > 10_000
    assert "montage.png" in (tmp_path / "report" / "report.md").read_text()


def test_a_hexagonal_plane_runs_on_the_track(tmp_path):
    """One hexagonal plane (7 frames, sidecar modality sim2d-hex-7step): carriers estimated for the
    sample, widefield and hexsim reconstruct it, stripe methods are refused before any work."""
    from simbench.physics import LightSheetParams
    from simbench.types import HexPattern

    params = LightSheetParams(shape=(128, 128))
    pattern = HexPattern(frequency_per_um=0.85 * params.optics.cutoff_per_um, angle_rad=0.2,
                         phase_offsets_rad=(0.1, 0.7), sheet_fwhm_nm=params.sheet_fwhm_nm)
    write_image(tmp_path / "hex.tif", hex_plane(pattern, params, np.random.default_rng(2)), params.pixel_size_nm)
    (tmp_path / "plane.json").write_text(json.dumps({
        "frames": "hex.tif", "na": params.na, "emission_wavelength_nm": params.wavelength_nm,
        "refractive_index": params.refractive_index, "modality": "sim2d-hex-7step"}))
    suite = RealSuite(data_dir=str(tmp_path))
    sample = suite.make_sample(0, "full", 0)
    assert suite.modality == "sim2d-hex-7step" and sample.grid_shape == (256, 256)
    assert sample.raw.pattern.frequency_per_um == pytest.approx(pattern.frequency_per_um, rel=0.01)
    results = tmp_path / "results"
    res = run_cli("run", "--method", "widefield,hexsim", "--suite", "real", "--suite-opt", f"data_dir={tmp_path}",
                  "--results", str(results), "--no-progress")
    assert res.returncode == 0, res.stderr
    scores = {r.data["method"]: r.samples["plane"]["scores"] for r in iter_records(results, "real")}
    assert scores["hexsim"]["decorr"] < scores["widefield"]["decorr"]
    refused = run_cli("run", "--method", "wiener", "--suite", "real", "--suite-opt", f"data_dir={tmp_path}",
                      "--results", str(results), "--no-progress")
    assert refused.returncode != 0 and "does not accept modality 'sim2d-hex-7step'" in refused.stderr


@needs_beads
def test_real_beads_end_to_end_squirrel_ranks_mlsim_less_consistent_than_wiener(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "beads.json").write_text(json.dumps({
        "frames": [str(BEADS / f"1_X{i}.tif") for i in range(1, 10)], "na": 1.49, "emission_wavelength_nm": 515,
        "pixel_size_nm": 86.7, "kind": "beads"}))
    results = tmp_path / "results"
    res = run_cli("run", "--method", "widefield,wiener,mlsim", "--suite", "real", "--suite-opt", f"data_dir={data}",
                  "--results", str(results), "--no-progress", timeout=600)
    assert res.returncode == 0, res.stderr
    rows = {r.data["method"]: r.samples["beads"] for r in iter_records(results, "real")}
    scores = {m: row["scores"] for m, row in rows.items()}
    print({m: {k: round(v, 4) for k, v in s.items()} for m, s in scores.items()})
    assert scores["mlsim"]["squirrel_rse"] > 2 * scores["wiener"]["squirrel_rse"]
    assert scores["mlsim"]["squirrel_rsp"] < scores["wiener"]["squirrel_rsp"]
    assert scores["wiener"]["decorr"] < scores["widefield"]["decorr"]
    assert scores["wiener"]["bead_fwhm_ratio"] < 0.6 and scores["widefield"]["bead_fwhm_ratio"] > 0.95
    # the widefield image is the most consistent, yet wiener (sharp and consistent) ranks above it
    assert scores["widefield"]["squirrel_rse"] < scores["wiener"]["squirrel_rse"]
    table = res.stdout.split("every metric")[0]
    ranked = [line.split()[1] for line in table.splitlines() if line[:1].isdigit()]
    assert ranked.index("wiener") < ranked.index("widefield")


def test_outside_tools_score_through_simulate_and_score(simulated_folder, tmp_path):
    """The file-based path of a tool simbench cannot import: export the real datasets, reconstruct
    them elsewhere (here: the mean frame repeated 2 × 2), score the TIFFs with the tool's version."""
    from simbench.io import read_stack

    exported, predictions, results = tmp_path / "exported", tmp_path / "pred", tmp_path / "results"
    option = f"data_dir={simulated_folder}"
    res = run_cli("simulate", "--suite", "real", "--suite-opt", option, "--size", "full", "-o", str(exported))
    assert res.returncode == 0, res.stderr
    assert not (exported / "target").exists()
    suite = json.loads((exported / "suite.json").read_text())
    for sample_id in suite["sample_ids"]:
        frames, pixel = read_stack([exported / "raw" / f"{sample_id}.tif"])
        write_image(predictions / f"{sample_id}.tif", np.kron(frames.mean(axis=0), np.ones((2, 2))), pixel / 2)
    res = run_cli("score", "--suite", "real", "--suite-opt", option, "--size", "full", "--predictions",
                  str(predictions), "--name", "outside", "--tool-version", "outside 1.0", "--results", str(results))
    assert res.returncode == 0, res.stderr
    (record,) = iter_records(results, "real")
    assert record.data["method_version"] == "outside 1.0"
    assert all(row["status"] == "ok" for row in record.samples.values())


def test_the_gate_without_suites_passes_over_the_real_track(tmp_path):
    """`simbench check` with no --suite looks at every suite with baselines; real ones (no quick
    size without their data folder) are not a reason to fail."""
    (tmp_path / "real" / "wiener").mkdir(parents=True)
    tolerances = Path(__file__).resolve().parents[1] / "leaderboards" / "tolerances.toml"
    res = run_cli("check", "--baseline", str(tmp_path), "--tolerances", str(tolerances), "--size", "quick")
    assert res.returncode == 0, res.stderr
    assert "nothing to check" in res.stdout

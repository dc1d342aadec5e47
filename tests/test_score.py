"""``simbench score``: reconstructions made outside simbench score exactly like ``simbench run``."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


from conftest import run_cli, stored

#: a separate program, as a tool outside simbench would be: reads the exported raw TIFFs and
#: their JSON, reconstructs with the widefield method, writes TIFFs named by sample id
EXTERNAL = """
import json, sys
from pathlib import Path
from simbench import Optics, RawStack, StripePattern
from simbench.io import read_image, write_image
from simbench_plugins.widefield import Widefield

data, out = Path(sys.argv[1]), Path(sys.argv[2])
method = Widefield()
for sid in json.loads((data / "suite.json").read_text())["sample_ids"]:
    meta = json.loads((data / "meta" / f"{sid}.json").read_text())
    for folder, target in (("raw", out), ("raw-repeat", out / "repeat")):
        frames, _ = read_image(data / folder / f"{sid}.tif")
        raw = RawStack(frames, Optics(**meta["optics"]), StripePattern.from_dict(meta["nominal_pattern"]),
                       tuple(meta["frame_patterns"]))
        write_image(target / f"{sid}.tif", method.reconstruct(raw), meta["target_pixel_size_nm"])
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Quick static exported by `simbench simulate`, reconstructed by the external script, and
    the same suite run by `simbench run --method widefield`."""
    root = tmp_path_factory.mktemp("score")
    res = run_cli("simulate", "--suite", "static", "--size", "quick", "-o", str(root / "data"))
    assert res.returncode == 0, res.stderr
    (root / "external.py").write_text(EXTERNAL)
    ext = subprocess.run([sys.executable, str(root / "external.py"), str(root / "data"), str(root / "pred")],
                         check=False, capture_output=True, text=True)
    assert ext.returncode == 0, ext.stderr
    res = run_cli("run", "--method", "widefield", "--suite", "static", "--size", "quick",
                  "--results", str(root / "results"), "--no-progress")
    assert res.returncode == 0, res.stderr
    return root


def test_score_reproduces_simbench_run(exported):
    res = run_cli("score", "--suite", "static", "--size", "quick", "--predictions", str(exported / "pred"),
                  "--name", "widefield-tiff", "--results", str(exported / "results"))
    assert res.returncode == 0, res.stderr
    assert "scored 6 of 6 samples" in res.stdout
    ran = stored(exported / "results", "static", "widefield")
    scored = stored(exported / "results", "static", "widefield-tiff")
    assert scored["complete"] and scored["suite_hash"] == ran["suite_hash"] and scored["metrics"] == ran["metrics"]
    for sid, row in ran["samples"].items():
        other = scored["samples"][sid]["scores"]
        for metric, value in row["scores"].items():
            assert other[metric] == pytest.approx(value, rel=1e-9, abs=1e-12), (sid, metric)
    board = run_cli("leaderboard", "--suite", "static", "--results", str(exported / "results"))
    assert "widefield-tiff" in board.stdout


def test_missing_extra_and_misshaped_files_are_reported_one_by_one(exported, tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    for path in sorted((exported / "pred").glob("*.tif"))[:4]:
        (pred / path.name).write_bytes(path.read_bytes())
    (pred / "static-0001.tif").unlink()
    from simbench.io import write_image

    write_image(pred / "static-0002.tif", np.zeros((256, 256), np.float32), 62.6)
    write_image(pred / "not-a-sample.tif", np.zeros((512, 512), np.float32), 31.3)
    res = run_cli("score", "--suite", "static", "--size", "quick", "--predictions", str(pred),
                  "--name", "partial", "--results", str(tmp_path / "results"), "--metric", "frc")
    assert res.returncode == 1
    assert "scored 2 of 6 samples" in res.stdout
    assert "missing (3): static-0001.tif, static-0004.tif, static-0005.tif" in res.stderr
    assert "static-0002.tif: shape (256, 256), expected (512, 512)" in res.stderr
    assert "not-a-sample.tif" in res.stderr and "frc" in res.stderr  # asked for, but no repeat/ folder: FRC not scored
    record = stored(tmp_path / "results", "static", "partial")
    assert "frc" not in record["metrics"] and record["samples"]["static-0001"]["status"] == "failed"


def test_bad_input_is_one_line(tmp_path):
    taken = run_cli("score", "--suite", "static", "--predictions", str(tmp_path), "--name", "wiener")
    assert taken.returncode == 2 and "installed method" in taken.stderr
    nowhere = run_cli("score", "--suite", "static", "--predictions", str(tmp_path / "x"), "--name", "mine")
    assert nowhere.returncode == 2 and len(nowhere.stderr.strip().splitlines()) == 1

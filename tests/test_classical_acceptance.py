"""Issue-3 acceptance end to end: classical methods through the runner and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from simbench.harness import runner
from simbench.io import read_image
from simbench.metrics.resolution import decorrelation_resolution_nm

from conftest import SHARED_DATA, run_cli

BEADS = SHARED_DATA / "real-sim-beads"
needs_beads = pytest.mark.skipif(not BEADS.is_dir(), reason=f"reference data not found at {BEADS}")


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    from simbench.plugin.manager import PluginManager

    registry = PluginManager(strict=False).load()
    request = runner.RunRequest(methods=["widefield", "wiener", "rl-deconv"], suite="static", size="quick",
                                results_dir=tmp_path_factory.mktemp("results"), progress=False,
                                extra_metrics=("frc",))
    outcome = runner.run(registry, request)
    assert outcome.failed == {"widefield": 0, "wiener": 0, "rl-deconv": 0}
    return {rec.data["method"]: rec for rec in outcome.records}


def _mean(record, metric):
    return float(np.mean([row["scores"][metric] for row in record.samples.values()]))


def test_wiener_beats_widefield_and_rl_in_psnr_and_ssim(quick_results):
    for metric in ("psnr", "ssim"):
        wiener = _mean(quick_results["wiener"], metric)
        assert wiener > _mean(quick_results["widefield"], metric), metric
        assert wiener > _mean(quick_results["rl-deconv"], metric), metric


def test_wiener_frc_resolution_is_at_least_1_4x_finer_than_widefield(quick_results):
    """Two noise realisations, 1/7 threshold (the opt-in repeat FRC); every curve crosses its
    threshold. Support limit (k_c + k0)/k_c ≈ 1.86 (Gustafsson 2000)."""
    for method in ("widefield", "wiener"):
        assert not any(row.get("flags", {}).get("frc") for row in quick_results[method].samples.values()), method
    ratio = _mean(quick_results["widefield"], "frc") / _mean(quick_results["wiener"], "frc")
    print(f"FRC widefield / wiener = {ratio:.2f}")
    assert 1.4 <= ratio <= 2.0


def test_estimated_parameters_are_recorded_per_sample(quick_results):
    row = next(iter(quick_results["wiener"].samples.values()))
    assert row["info"]["oracle"] is False and "frequency_per_um" in json.dumps(row["info"]["pattern"])


@needs_beads
def test_reconstruct_real_beads_from_the_command_line(tmp_path):
    out, params = tmp_path / "wiener.tif", tmp_path / "params.json"
    files = [str(BEADS / f"1_X{i}.tif") for i in range(1, 10)]
    res = run_cli("reconstruct", "--method", "wiener", *files, "-o", str(out), "--na", "1.49",
                  "--wavelength", "515", "--pixel-size", "86.7", "--params-json", str(params))
    assert res.returncode == 0, res.stderr
    image, pixel = read_image(out)
    assert image.shape == (1024, 1024) and pixel == pytest.approx(86.7 / 2, rel=1e-6)
    assert json.loads(params.read_text())["pattern"]
    wf = run_cli("reconstruct", "--method", "widefield", *files, "-o", str(tmp_path / "wf.tif"), "--na", "1.49",
                 "--wavelength", "515", "--pixel-size", "86.7")
    assert wf.returncode == 0, wf.stderr
    widefield, _ = read_image(tmp_path / "wf.tif")
    res_wiener = decorrelation_resolution_nm(image, 86.7 / 2)
    res_widefield = decorrelation_resolution_nm(widefield, 86.7 / 2)
    print(f"decorrelation resolution on real beads: widefield {res_widefield:.0f} nm, wiener {res_wiener:.0f} nm")
    assert res_wiener < res_widefield

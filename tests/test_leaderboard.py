"""Paired ranking: a hand-made suite whose ranks and cell means are known in advance.

Four samples, primary metrics psnr ↑, fwhm_x ◎ (target 100 nm) and frc_gt ↓:

* ``honest``: psnr 30, 28, 26, 24; fwhm_x 110 (+10 %); frc_gt 150;
* ``refuser``: fails the two hard samples, better than honest on the two it keeps (its own
  psnr mean 30 beats honest's 27 when samples are not paired);
* ``cube``: an FWHM below the target's (60 nm: best if "lower is better"), frc_gt NaN or
  flagged ``no_crossing`` on every sample;
* ``widefield``: worst psnr and fwhm_x.

By the rule: psnr losses −27, −26.25, −24.5, −23.5 (ranks 1 2 3 4); fwhm_x relative errors
0.1, 0.25, 0.4, 0.5 (1 2 3 4); frc_gt 150, 190, 240, 240 (1 2 3 3): honest 1, refuser 2,
cube 3, widefield 4.
"""
from __future__ import annotations

import io
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simbench.harness.leaderboard import REFERENCE_METHOD, render, summarise, with_reference
from simbench.harness.ranking import TIE, _ranks, effective_directions, paired_scores, rank
from simbench.harness.results import RunRecord, result_path

SAMPLES = ("s0", "s1", "s2", "s3")
NAN = math.nan
#: method → per sample (psnr, fwhm_x, frc_gt, frc_gt flags), None for a failed sample
TABLE = {
    "honest": [(30, 110, 150, ()), (28, 110, 150, ()), (26, 110, 150, ()), (24, 110, 150, ())],
    "refuser": [(31, 100, 140, ()), (29, 100, 140, ()), None, None],
    "cube": [(26, 60, NAN, ()), (25, 60, NAN, ()), (24, 60, 62.67, ("no_crossing",)),
             (23, 60, 62.67, ("no_crossing",))],
    "widefield": [(25, 150, 240, ()), (24, 150, 240, ()), (23, 150, 240, ()), (22, 150, 240, ())],
}
EXPECTED = ["honest", "refuser", "cube", "widefield"]
DIRECTIONS = {"psnr": "higher", "fwhm_x": "target", "frc_gt": "lower"}
REGISTRY = SimpleNamespace(metrics={"fwhm_x": SimpleNamespace(direction="target")},
                           suites={"toy": SimpleNamespace(primary_metrics=("psnr", "fwhm_x", "frc_gt"))})


def _row(sid: str, entry: tuple | None) -> dict:
    row = {"id": sid, "status": "ok", "error": None, "runtime_s": 0.01, "meta": {}, "reference": {"fwhm_x": 100.0}}
    if entry is None:
        return {**row, "status": "failed", "error": "ValueError: refused", "scores": {}, "runtime_s": None}
    psnr, fwhm, frc, flags = entry
    row["scores"] = {"psnr": float(psnr), "fwhm_x": float(fwhm), "frc_gt": float(frc)}
    if flags:
        row["flags"] = {"frc_gt": list(flags)}
    return row


def _records(root, directions=DIRECTIONS) -> list[RunRecord]:
    return [RunRecord(result_path(root, "toy", method), "quick", {
        "suite": "toy", "method": method, "size": "quick", "seed": 0, "n_samples": len(SAMPLES), "complete": True,
        "metrics": {name: {"direction": d, "unit": ""} for name, d in directions.items()},
        "samples": {sid: _row(sid, entry) for sid, entry in zip(SAMPLES, rows)}}) for method, rows in TABLE.items()]


def test_ranking_is_paired_and_counts_refusals_and_invalid_values_as_the_worst(tmp_path):
    ranking = rank(_records(tmp_path), ("psnr", "fwhm_x", "frc_gt"), DIRECTIONS)
    assert sorted(ranking.rank, key=ranking.rank.get) == EXPECTED
    assert ranking.mean_loss["psnr"] == {"honest": -27.0, "refuser": -26.25, "cube": -24.5, "widefield": -23.5}
    assert ranking.mean_loss["fwhm_x"] == pytest.approx({"honest": 0.1, "refuser": 0.25, "cube": 0.4, "widefield": 0.5})
    assert ranking.mean_loss["frc_gt"] == {"honest": 150.0, "refuser": 190.0, "cube": 240.0, "widefield": 240.0}
    assert ranking.metric_rank["frc_gt"] == {"honest": 1, "refuser": 2, "cube": 3, "widefield": 3}
    assert ranking.n_samples == 4 and "all 4 samples" in ranking.rule()


def test_unpaired_means_would_put_the_refuser_first(tmp_path):
    frame = summarise(_records(tmp_path), {}, REGISTRY).set_index("method")
    assert frame["psnr_mean"].idxmax() == "refuser"  # its own two samples: 30 dB against honest's 27
    assert frame.loc["refuser", "rank"] == 2 and frame.loc["honest", "rank"] == 1


def _cell_mean(cell: str) -> float:
    return float(re.match(r"(\S+)", cell).group(1))


def test_every_cell_shows_the_records_mean_and_what_is_missing(tmp_path):
    for rec in _records(tmp_path):
        rec.save()
    text = render(tmp_path, "toy", "plain", {}, registry=REGISTRY)
    headline, full = text.split("every metric\n")
    methods = [re.split(r"\s{2,}", line)[1] for line in headline.splitlines() if re.match(r"\d+\s", line)]
    assert methods == EXPECTED
    assert "rank: mean of the per-metric ranks over psnr ↑, fwhm_x ◎, frc_gt ↓" in headline
    rows = {re.split(r"\s{2,}", line)[1]: re.split(r"\s{2,}", line) for line in full.splitlines()[2:] if line}
    header = re.split(r"\s{2,}", full.splitlines()[0])
    for method, entries in TABLE.items():
        for metric, k in (("psnr ↑", 0), ("fwhm_x ◎", 1), ("frc_gt ↓", 2)):
            values = [e[k] for e in entries if e is not None and not (k == 2 and e[3]) and not math.isnan(e[k])]
            cell = rows[method][header.index(metric)]
            if values:
                assert _cell_mean(cell) == round(float(np.mean(values)), 2), (method, metric, cell)
            else:
                assert cell.startswith("—"), (method, metric, cell)
            if len(values) < len(SAMPLES):
                assert cell.endswith(f"({len(values)}/{len(SAMPLES)})"), (method, metric, cell)
    assert rows["honest"][header.index("fwhm_x ◎")] == "110.00 [110.00, 110.00] (+10.0 %)"
    assert "(-40.0 %)" in rows["cube"][header.index("fwhm_x ◎")]
    assert "frc_gt: 2 NaN, 2 no crossing" in rows["cube"][-1]
    assert "2 failed" in rows["refuser"][-1]
    assert rows[REFERENCE_METHOD][0] == "—"  # shown, never ranked
    csv = pd.read_csv(io.StringIO(render(tmp_path, "toy", "csv", {}, registry=REGISTRY)))
    assert csv.set_index("method")["rank"].dropna().sort_values().index.tolist() == EXPECTED


def test_an_old_record_stored_lower_is_ranked_by_closeness_when_the_registry_says_target(tmp_path):
    old = _records(tmp_path, {**DIRECTIONS, "fwhm_x": "lower"})
    assert summarise(old, {}, REGISTRY).set_index("method")["rank"].dropna().sort_values().index.tolist() == EXPECTED
    stored = effective_directions(old, {})
    assert stored["fwhm_x"] == "lower" and effective_directions(old, {"fwhm_x": "target"})["fwhm_x"] == "target"
    assert rank(old, ("fwhm_x",), stored).rank["cube"] == 1  # what "lower is better" did: the 60 nm FWHM won
    reference = with_reference(old)[-1]
    assert reference.data["method"] == REFERENCE_METHOD and "flags" in next(iter(reference.samples.values()))


def test_compare_pairs_valid_values_and_target_metrics_by_closeness(tmp_path):
    records = {rec.data["method"]: rec for rec in _records(tmp_path)}
    xs, ys, excluded = paired_scores(records["honest"], records["cube"], "frc_gt", "lower")
    assert (xs, ys, excluded) == ([], [], 4)  # NaN and no_crossing: left out, counted
    xs, ys, excluded = paired_scores(records["honest"], records["cube"], "fwhm_x", "target")
    assert xs == pytest.approx([0.1] * 4) and ys == pytest.approx([0.4] * 4) and excluded == 0
    xs, ys, _ = paired_scores(records["honest"], records["refuser"], "psnr", "higher")
    assert (xs, ys) == ([30.0, 28.0], [31.0, 29.0])  # only the samples both scored


def test_means_within_the_tie_band_share_a_rank():
    """0.1 % apart ties (orders that flip with the machine's FFT/BLAS kernels are no order); 0.2 % does not."""
    assert TIE == 1e-3
    assert _ranks([1.0, 1.0005, 1.002]) == [1.0, 1.0, 3.0]
    assert _ranks([-25.0, -25.02, -24.9]) == [1.0, 1.0, 3.0]

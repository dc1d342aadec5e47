"""``simbench report``: figures and a Markdown report from result files (the committed ones; small synthetic ones)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from simbench.harness import figures
from simbench.harness.figures import draw_sweeps, fwhm_boxes, plot_fwhm_boxes, sweep_curves
from simbench.harness.leaderboard import REFERENCE_METHOD, sweep_frame, with_reference
from simbench.harness.results import iter_records, new_record

from conftest import ROOT, run_cli

COMMITTED = ROOT / "leaderboards" / "results"
PNG = b"\x89PNG\r\n\x1a\n"


def test_report_writes_figures_and_markdown(tmp_path):
    res = run_cli("report", "--suite", "frame-delay", "--size", "quick", "--results", str(COMMITTED),
                  "-o", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for name in ("crops.png", "metrics.png", "sweeps.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG, name
    text = (tmp_path / "report.md").read_text()
    assert "![Reconstructions](crops.png)" in text and "![Metrics](metrics.png)" in text
    assert "sweeps.png" in text and "### frame-delay [quick]" in text
    assert "Shown: `frame-delay-" in text and "most sparse structure in the SIM band" in text


def test_report_bad_input_is_one_line(tmp_path):
    res = run_cli("report", "--suite", "static", "--size", "huge", "--results", str(COMMITTED), "-o", str(tmp_path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("report", "--suite", "static", "--size", "quick", "--results", str(tmp_path), "-o", str(tmp_path))
    assert res.returncode == 2 and "no [quick] results" in res.stderr


def _save_results(root: Path, suite: str, method: str, rows: dict[str, tuple[str, dict, dict]],
                  reference: dict[str, dict] | None = None) -> None:
    """A minimal result file: ``rows`` maps sample id → (status, scores, meta); ``reference`` the
    target's own scores per sample id."""
    samples = {sid: {"id": sid, "status": status, "error": None if status == "ok" else "Boom", "scores": scores,
                     "runtime_s": 0.1, "meta": meta, "reference": (reference or {}).get(sid, {})}
               for sid, (status, scores, meta) in rows.items()}
    scored = {name for _, scores, _ in rows.values() for name in scores}  # an ok row scores every metric
    metrics = {name: {"direction": "higher" if name == "ssim" else "lower", "unit": "nm" if "fwhm" in name else ""}
               for name in ("fwhm_x", "fwhm_y", "fwhm_z", "ssim") if name in scored}
    new_record(root, "quick", {
        "suite": suite, "method": method, "size": "quick", "seed": 0, "n_samples": len(rows), "complete": True,
        "metrics": metrics, "samples": samples}).save()


def _fwhm(x: float) -> dict[str, float]:
    return {"fwhm_x": x, "fwhm_y": x + 1, "fwhm_z": 4 * x, "ssim": 0.9}


def test_fwhm_boxes_hold_each_methods_scored_samples_and_the_reference(tmp_path):
    chromatin = {"kind": "chromatin"}
    _save_results(tmp_path, "axial/chromatin", "alpha", {"s0": ("ok", _fwhm(110.0), chromatin),
                                                         "s1": ("ok", _fwhm(130.0), chromatin),
                                                         "s2": ("ok", _fwhm(120.0), chromatin)},
                  reference={"s0": {"fwhm_x": 125.0}, "s1": {"fwhm_x": 126.0}, "s2": {"fwhm_x": 127.0}})
    _save_results(tmp_path, "axial/chromatin", "beta", {"s0": ("ok", _fwhm(300.0), chromatin),
                                                        "s1": ("failed", {}, chromatin),
                                                        "s2": ("ok", {**_fwhm(310.0), "fwhm_z": float("nan")},
                                                               chromatin)})
    spheres = {"kind": "spheres"}  # every width unscored: no panel (a log axis of nothing cannot be drawn)
    _save_results(tmp_path, "axial/spheres", "alpha", {"s0": ("ok", {"fwhm_x": float("nan")}, spheres)})
    boxes = fwhm_boxes(with_reference(iter_records(tmp_path, "axial")))
    assert set(boxes) == {("axial/chromatin", m) for m in ("fwhm_x", "fwhm_y", "fwhm_z")}  # not ssim
    lateral = boxes[("axial/chromatin", "fwhm_x")]
    assert list(lateral) == ["alpha", "beta", REFERENCE_METHOD]  # the reference last
    np.testing.assert_array_equal(lateral["alpha"], [110.0, 130.0, 120.0])  # every sample, in order
    np.testing.assert_array_equal(lateral["beta"], [300.0, 310.0])  # the failed sample left out
    np.testing.assert_array_equal(lateral[REFERENCE_METHOD], [125.0, 126.0, 127.0])
    axial = boxes[("axial/chromatin", "fwhm_z")]
    np.testing.assert_array_equal(axial["beta"], [1200.0])  # a NaN score is no box value
    assert REFERENCE_METHOD not in axial  # the target measured only fwhm_x
    png = plot_fwhm_boxes(boxes, tmp_path / "fwhm.png")
    assert png.read_bytes()[:8] == PNG


def test_photon_sweep_curves_are_sorted_with_gaps_where_nothing_was_scored(tmp_path, monkeypatch):
    photons = (4096.0, 16.0, 256.0, 64.0)  # two scenes each, stored out of order
    rows = {f"n{scene}{k}": ("ok", {"ssim": 0.5 + 0.1 * k + 0.02 * scene}, {"sweep": {"photons_per_emitter": p}})
            for scene in (0, 1) for k, p in enumerate(photons)}
    _save_results(tmp_path, "axial/noise", "alpha", rows)
    failing = {sid: ("failed", {}, meta) if meta["sweep"]["photons_per_emitter"] == 64.0 else (status, s, meta)
               for sid, (status, s, meta) in rows.items()}
    _save_results(tmp_path, "axial/noise", "beta", failing)
    curves = sweep_curves(sweep_frame(iter_records(tmp_path, "axial")))
    lines = curves[("axial/noise", "photons_per_emitter", "ssim")]
    assert list(lines["alpha"].index) == sorted(photons)
    np.testing.assert_allclose(lines["alpha"]["mean"], [0.61, 0.81, 0.71, 0.51])  # mean over the two scenes
    assert (lines["alpha"]["low"] < lines["alpha"]["mean"]).all() and (lines["alpha"]["mean"] < lines["alpha"]["high"]).all()
    assert lines["beta"].loc[64.0].isna().all() and not lines["beta"].drop(64.0).isna().any().any()
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or path)
    draw_sweeps(sweep_frame(iter_records(tmp_path, "axial")), "noise", tmp_path / "sweeps.png")
    ax = next(a for a in drawn[0].axes if a.get_title().startswith("ssim"))
    beta = next(line for line in ax.get_lines() if line.get_label() == "beta")
    assert ax.get_xscale() == "log" and list(beta.get_xdata()) == sorted(photons)
    assert np.isnan(beta.get_ydata()[1]) and np.isfinite(np.delete(beta.get_ydata(), 1)).all()  # a gap, not 0
    figures.pyplot().close(drawn[0])


def test_sweeps_of_a_group_get_a_row_per_suite_and_a_linear_axis_unless_doubling(tmp_path, monkeypatch):
    for suite, variable, values in (("axial/noise", "photons_per_emitter", (16.0, 64.0)),
                                    ("axial/twopoint", "separation_nm", (600.0, 900.0))):
        _save_results(tmp_path, suite, "alpha", {f"s{k}": ("ok", _fwhm(100.0 + k), {"sweep": {variable: v}})
                                                 for k, v in enumerate(values)})
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or path)
    draw_sweeps(sweep_frame(iter_records(tmp_path, "axial")), "axial", tmp_path / "sweeps.png")
    panels = {a.get_title(): a for a in drawn[0].axes if a.get_title()}
    assert len(panels) == 8  # 2 suites × 4 metrics
    assert panels["axial/noise: fwhm_z ↓"].get_xscale() == "log"
    assert panels["axial/twopoint: fwhm_z ↓"].get_xscale() == "linear"
    assert list(panels["axial/twopoint: ssim ↑"].get_lines()[0].get_xdata()) == [600.0, 900.0]
    figures.pyplot().close(drawn[0])


def test_sweep_axis_is_linear_unless_one_line_flattens_the_others_then_log_or_clipped():
    steady = {"a": np.array([0.80, 0.82, 0.84]), "b": np.array([0.85, 0.86, np.nan])}
    assert figures.sweep_axis(steady) == figures.SweepAxis()
    assert figures.sweep_axis({**steady, "none": np.full(3, np.nan)}) == figures.SweepAxis()  # nothing scored
    assert figures.sweep_axis({"a": steady["a"], "c": np.array([5.0, 5.5, 6.0])}) == figures.SweepAxis()  # 2 lines
    # frc_gt-like: one method an order of magnitude above, all positive: a log axis separates them all
    decades = {"a": np.array([160.0, 170.0, 180.0]), "b": np.array([380.0, 400.0, 450.0]),
               "c": np.array([2800.0, 3000.0, 3500.0])}
    assert figures.sweep_axis(decades) == figures.SweepAxis("log")
    # spheres-like: two methods far above the rest (no single one flattens them), a decade apart: log
    pair = {"a": np.array([100.0, 120.0]), "b": np.array([150.0, 160.0]), "c": np.array([130.0, 5600.0]),
            "d": np.array([6000.0, 8600.0])}
    assert figures.sweep_axis(pair) == figures.SweepAxis("log")
    # ssim-like: one method near zero still flattens the others on a log axis: clipped to the others
    collapsed = {**steady, "c": np.array([0.01, 0.02, 0.015])}
    axis = figures.sweep_axis(collapsed)
    assert axis.scale == "linear" and axis.clipped == "c"
    np.testing.assert_allclose(axis.limits, (0.80 - 0.006, 0.86 + 0.006))
    signed = {"a": np.array([-1.0, 0.0, 1.0]), "b": np.array([0.5, 1.5, 2.0]), "c": np.array([-90.0, -80.0, -85.0])}
    assert figures.sweep_axis(signed).clipped == "c"  # not all positive: no log axis
    assert figures.sweep_axis(decades) == figures.sweep_axis(decades)  # deterministic


def test_sweep_figure_is_written_with_intervals_and_the_chosen_axes(tmp_path, monkeypatch):
    frc_gt = {"alpha": 170.0, "beta": 400.0, "gamma": 3000.0}
    ssim = {"alpha": 0.82, "beta": 0.86, "gamma": 0.01}
    for method, width in frc_gt.items():
        rows = {f"s{scene}{k}": ("ok", {"fwhm_x": width * (1 + 0.05 * scene + 0.1 * k),
                                        "ssim": ssim[method] + 0.005 * scene + 0.01 * k},
                                 {"sweep": {"delay_ms": delay}})
                for scene in range(3) for k, delay in enumerate((0.0, 5.0, 10.0))}
        _save_results(tmp_path, "frame-delay", method, rows)
    drawn = []
    save = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or save(fig, path))
    png = draw_sweeps(sweep_frame(iter_records(tmp_path, "frame-delay")), "delay", tmp_path / "sweeps.png")
    assert png.read_bytes()[:8] == PNG
    panels = {a.get_title(): a for a in drawn[0].axes if a.get_title()}
    assert panels["fwhm_x ↓ (log axis)"].get_yscale() == "log"
    clipped = panels["ssim ↑"]
    assert clipped.get_ylim()[0] > 0.5 and any("gamma (off scale" in t.get_text() for t in clipped.get_legend().get_texts())
    assert len(clipped.collections) == 3  # a shaded interval per method
    assert "bootstrap interval" in drawn[0].get_suptitle()

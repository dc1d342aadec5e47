"""``simbench report``: figures and a Markdown report from committed results."""
from __future__ import annotations

from conftest import ROOT, run_cli

COMMITTED = ROOT / "leaderboards" / "results"


def test_report_writes_figures_and_markdown(tmp_path):
    res = run_cli("report", "--suite", "frame-delay", "--size", "quick", "--results", str(COMMITTED),
                  "-o", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for name in ("crops.png", "metrics.png", "sweeps.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    text = (tmp_path / "report.md").read_text()
    assert "![Reconstructions](crops.png)" in text and "![Metrics](metrics.png)" in text
    assert "sweeps.png" in text and "### frame-delay [quick]" in text


def test_report_bad_input_is_one_line(tmp_path):
    res = run_cli("report", "--suite", "static", "--size", "huge", "--results", str(COMMITTED), "-o", str(tmp_path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("report", "--suite", "static", "--size", "quick", "--results", str(tmp_path), "-o", str(tmp_path))
    assert res.returncode == 2 and "no [quick] results" in res.stderr

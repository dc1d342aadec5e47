"""Suite `frame-delay`: a clean delay sweep per scene, the velocity option, sweep tables and plot."""
from __future__ import annotations

import numpy as np
import pytest

from simbench.errors import SimbenchError
from simbench.harness import runner
from simbench.harness.digest import sample_digest
from simbench.harness.figures import plot_sweeps
from simbench.harness.leaderboard import render
from simbench.harness.manifest import expected
from simbench.suites.frame_delay import BEAD_DIAMETER_NM, DELAYS_MS, FrameDelaySuite, render_beads

SUITE = FrameDelaySuite()


def test_delay_is_the_only_variable_of_a_scene():
    zero, slow = SUITE.make_sample(0, "quick", 0), SUITE.make_sample(len(DELAYS_MS) - 1, "quick", 0)
    assert zero.meta["sweep"] == {"delay_ms": 0.0} and slow.meta["sweep"] == {"delay_ms": DELAYS_MS[-1]}
    assert np.array_equal(zero.target, slow.target)  # same scene at the window centre
    assert zero.raw.frame_patterns == slow.raw.frame_patterns and zero.truth == slow.truth
    # displacement per frame = velocity · delay, in target pixels
    expect = 2.0 * 25e-3 * 1e3 / zero.target_pixel_size_nm
    assert slow.meta["drift_px_per_frame"] == pytest.approx(expect)
    # no motion at zero delay: the raw frames differ only by the pattern
    assert not np.array_equal(slow.raw.frames, zero.raw.frames)


def test_committed_manifest_and_velocity_option():
    entry = expected(SUITE, "quick", 0)
    assert entry is not None, "run `simbench manifest --suite frame-delay`"
    sample = SUITE.make_sample(3, "quick", 0)
    assert sample_digest(sample) == entry.digests[sample.id]
    faster = SUITE.configured({"velocity_um_s": "4"})
    assert expected(faster, "quick", 0) is None  # options leave the manifest
    assert sample_digest(faster.make_sample(3, "quick", 0)) != sample_digest(sample)


def test_pattern_start_option_fixes_the_order_and_nothing_else():
    drawn = SUITE.make_sample(4, "quick", 0)
    fixed_suite = SUITE.configured({"pattern_start": "0"})
    assert SUITE.requires_any_pattern_order and not fixed_suite.requires_any_pattern_order
    fixed = fixed_suite.make_sample(4, "quick", 0)
    assert fixed.raw.frame_patterns == tuple(range(9)) and fixed.meta["pattern_start"] == 0
    entry = expected(fixed_suite, "quick", 0)  # the variant's own manifest
    assert entry is not None, "run `simbench manifest --suite frame-delay --suite-opt pattern_start=0`"
    assert sample_digest(fixed) == entry.digests[fixed.id]
    assert drawn.meta["pattern_start"] != 0  # this scene draws another start: the option changes it
    # the same scene, motion and noise: the frames are the drawn ones with the patterns re-ordered
    np.testing.assert_array_equal(fixed.target, drawn.target)
    with pytest.raises(SimbenchError, match="pattern_start"):
        SUITE.configured({"pattern_start": "9"})


def test_beads_have_the_bead_size():
    image = render_beads((128, 128), 31.33, np.random.default_rng(0))
    row = image[np.unravel_index(np.argmax(image), image.shape)[0]]
    above = np.count_nonzero(row >= 0.5 * row.max())  # FWHM in pixels, to ±1 px
    assert abs(above * 31.33 - BEAD_DIAMETER_NM) <= 31.33 + 1


def test_sweep_tables_and_plot(registry, tmp_path):
    runner.run(registry, runner.RunRequest(methods=["widefield"], suite="frame-delay", size="quick",
                                           results_dir=tmp_path, progress=False))
    table = render(tmp_path, "frame-delay", "md", {})
    assert "#### psnr ↑ vs delay_ms" in table and "delay_ms=25" in table
    png = plot_sweeps(tmp_path, "frame-delay", tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

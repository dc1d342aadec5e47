"""The shipped 2D checkpoints against widefield on moving (motion/medium, fixed cycle) and still (static) quick
samples, and vsrsim's output free of the periodic texture its patch tokens and its ×2 upsampling could paint.

vsrsim cuts the 9 raw frames into 3×4×4 patches: one token per 4×4 raw pixels, 8×8 output pixels.
A network that paints each token's block on its own, or whose ×2 pixel-shuffle upsampling does
not blend neighbours, leaves power at multiples of 1/8 cycles per output pixel (the 8-, 4- and
2-pixel periods); the test compares the peak-to-surroundings power ratio there with the target's.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simbench.harness import runner
from simbench.harness.results import iter_records
from simbench.learn.checkpoint import read_card
from simbench.learn.evaluations import evaluations
from simbench.plugin.manager import PluginManager

LEARNED_2D = ("mlsim", "vsrsim", "rbpn")
#: vsrsim's token period in output pixels (4 raw pixels, ×2)
TOKEN_PERIOD_PX = 8
COMMITTED = Path(__file__).resolve().parents[1] / "leaderboards" / "results"


@pytest.fixture(scope="module")
def registry():
    return PluginManager(strict=False).load()


def _quick_records(registry, folder: Path, suite: str, **options: str) -> dict:
    request = runner.RunRequest(methods=["widefield", *LEARNED_2D], suite=suite, size="quick", results_dir=folder,
                                suite_options=options, progress=False)
    outcome = runner.run(registry, request)
    assert not any(outcome.failed.values()), outcome.failed
    return {rec.data["method"]: rec for rec in outcome.records}


@pytest.fixture(scope="module")
def static_quick(registry, tmp_path_factory):
    return _quick_records(registry, tmp_path_factory.mktemp("results"), "static")


@pytest.fixture(scope="module")
def medium_quick(registry, tmp_path_factory):
    """motion/medium on the fixed pattern cycle, where the fixed-order mlsim and rbpn run too."""
    return _quick_records(registry, tmp_path_factory.mktemp("results"), "motion/medium", pattern_start="0")


def _mean(record, metric: str) -> float:
    return float(np.mean([row["scores"][metric] for row in record.samples.values()]))


def _beats_widefield(records: dict, method: str) -> None:
    """Higher PSNR and a finer resolution against ground truth (FRC with the target) than widefield."""
    widefield = records["widefield"]
    assert _mean(records[method], "psnr") > _mean(widefield, "psnr")
    assert _mean(records[method], "frc_gt") < _mean(widefield, "frc_gt")


@pytest.mark.parametrize("method", LEARNED_2D)
def test_each_shipped_checkpoint_beats_widefield_on_moving_samples(medium_quick, method):
    """All three are trained on moving samples (the motion group's static, medium and fast pools)."""
    _beats_widefield(medium_quick, method)


@pytest.mark.parametrize("method", LEARNED_2D)
def test_each_shipped_checkpoint_beats_widefield_on_static(static_quick, method):
    _beats_widefield(static_quick, method)


@pytest.mark.parametrize("method", LEARNED_2D)
def test_each_learned_method_trusts_still_frames_and_not_moving_ones(static_quick, medium_quick, method):
    """Data consistency (simbench.learn.data_consistency) is recorded per sample: ε = κ·r is small where the
    frames show a still scene (the widefield image rules the passband) and large where it moves."""
    def epsilons(record):
        return [row["info"]["data_consistency"]["epsilon"] for row in record.samples.values()]
    assert max(epsilons(static_quick[method])) < 0.1
    assert min(epsilons(medium_quick[method])) > 0.3


@pytest.mark.parametrize("method", LEARNED_2D)
def test_each_shipped_model_card_quotes_the_committed_records_of_its_weights(registry, method):
    """The card's evaluations are what `simbench card` computes from the committed records made with these
    weights (none drifted or came from other weights), and include the real beads' resolution and artefact
    scores."""
    card = read_card(registry.method(method)().shipped_weights())
    assert card["evaluations"] == evaluations(card, iter_records(COMMITTED))
    real = [entry for key, entry in card["evaluations"].items() if key.startswith("real ")]
    assert len(real) == 1 and {"bead_fwhm_ratio", "oob", "squirrel_rse"} <= set(real[0]["metrics"])


def token_period_peaks(image: np.ndarray, period_px: int = TOKEN_PERIOD_PX) -> np.ndarray:
    """Power at each multiple (kx, ky) ≠ 0 of 1/period cycles per pixel in the Hann-windowed image's
    spectrum, over the median power of the 13×13 bins around it (the 5×5 centre left out)."""
    n = image.shape[0]
    window = np.hanning(n)
    power = np.abs(np.fft.fft2((image - image.mean()) * np.outer(window, window))) ** 2
    ratios = []
    for ky in range(0, n // 2 + 1, n // period_px):
        for kx in range(0, n // 2 + 1, n // period_px):
            if kx == ky == 0:
                continue
            block = power[np.ix_([(ky + d) % n for d in range(-6, 7)], [(kx + d) % n for d in range(-6, 7)])]
            peak = block[5:8, 5:8].max()
            around = block.copy()
            around[4:9, 4:9] = np.nan
            ratios.append(peak / np.nanmedian(around))
    return np.array(ratios)


#: one pass of the shipped vsrsim-small paints two textures (weights/training/README.md)
ONE_PASS_TEXTURE = pytest.mark.xfail(strict=True, reason=(
    "one pass of the shipped vsrsim-small (9000 steps on motion) peaks 590x over its surroundings at the Nyquist "
    "frequency and 250x at the 4-pixel period on static quick sample 0 (the target 9.7x): its patch tokens paint "
    "a texture locked to their 4-raw-pixel grid, and its x2 output one locked to the raw pixels (raw pixel j "
    "sits on target pixel 2j); more training steps do not shrink either (6000 to 12 000 steps); the mean over "
    "the 64 half-pixel input shifts of its token period (vsrsim-avg) removes both"))


@pytest.mark.parametrize("method", [pytest.param("vsrsim", marks=ONE_PASS_TEXTURE), "vsrsim-avg"])
def test_vsrsim_paints_no_texture_at_its_token_period(registry, method):
    suite = registry.suite("static")
    method = registry.method(method)()
    for index in range(2):
        sample = suite.make_sample(index, "quick", suite.default_seed)
        output = method.reconstruct(sample.raw)
        output = np.asarray(getattr(output, "image", output), dtype=np.float64)
        assert output.shape == sample.target.shape
        peaks, target = token_period_peaks(output), token_period_peaks(sample.target)
        assert peaks.max() <= 3.0 * max(target.max(), 1.0), (index, peaks.round(1), target.round(1))


def test_the_texture_check_sees_a_faint_token_grid():
    """A 1 % grid at the token period on a smooth random image stands out; the image alone does not
    (its random spectrum puts the largest of 9 bins a few to ~20 times over the median around)."""
    rng = np.random.default_rng(0)
    smooth = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((512, 512))) *
                                  np.exp(-(np.fft.fftfreq(512)[:, None] ** 2 + np.fft.fftfreq(512) ** 2) / 0.01)))
    grid = np.zeros((512, 512))
    grid[::TOKEN_PERIOD_PX, :] = grid[:, ::TOKEN_PERIOD_PX] = 1.0
    assert token_period_peaks(smooth).max() < 30.0  # speckle: the largest of 9 bins over the median of many
    assert token_period_peaks(smooth + 0.01 * smooth.std() * grid).max() > 1e4


def test_simbench_card_writes_only_numbers_of_the_card_s_own_weights(tmp_path):
    """`simbench card` on a copy of mlsim-small's weights: the committed real-bead record (same sha256) is
    quoted; a record set without one is refused with the way on; a classical method has no card."""
    import shutil

    from conftest import run_cli

    shipped = PluginManager(strict=False).load().method("mlsim")().shipped_weights()
    weights = tmp_path / shipped.name
    shutil.copy(shipped, weights)
    card = read_card(shipped)
    (tmp_path / shipped.with_suffix(".json").name).write_text(
        json.dumps({k: v for k, v in card.items() if k != "evaluations"}))
    done = run_cli("card", "--method", "mlsim", "--weights", str(weights), "--results", str(COMMITTED), "--suite", "real")
    assert done.returncode == 0, done.stderr
    assert read_card(weights)["evaluations"] == {k: v for k, v in card["evaluations"].items() if k.startswith("real ")}
    empty = run_cli("card", "--method", "mlsim", "--weights", str(weights), "--results", str(tmp_path / "none"))
    assert empty.returncode == 2 and "no complete record of 'mlsim' with these weights" in empty.stderr
    classical = run_cli("card", "--method", "wiener", "--results", str(COMMITTED))
    assert classical.returncode == 2 and "not a learned method" in classical.stderr

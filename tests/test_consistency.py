"""Forward-model consistency ‖y − H x̂‖ / ‖y‖: zero for the noise-free truth, about the noise level for the
truth on noisy frames (the value a reconstruction is scored against), larger for worse reconstructions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simbench.harness import runner
from simbench.metrics.base import ScoreInput
from simbench.metrics.consistency import consistency
from simbench.physics import simulate_sim2d
from simbench.suites.static import StaticSuite
from simbench.types import StripePattern


@pytest.fixture(scope="module")
def sample():
    return StaticSuite().make_sample(1, "quick", 0)


def _noise_free(sample):
    raw = sample.raw
    clean = simulate_sim2d(sample.target, sample.target_pixel_size_nm, raw.optics,
                           StripePattern.from_dict(sample.truth["pattern"]), raw.frame_patterns)
    return dataclasses.replace(sample, raw=dataclasses.replace(raw, frames=clean))


def _score(prediction, sample):
    return consistency(ScoreInput(prediction, sample.target, sample.target_pixel_size_nm, sample=sample))


def test_noise_free_ground_truth_is_consistent_to_numerical_precision(sample):
    clean = _noise_free(sample)
    assert _score(sample.target, clean) < 1e-6
    # any scale and offset of the reconstruction is fitted away (to float32 precision of the shifted image)
    assert _score(3.0 * sample.target + 7.0, clean) < 1e-4
    # with noise, the truth explains the frames up to the noise (4–12 % of each frame's spread)
    assert 1e-3 < _score(sample.target, sample) < 0.15


def test_needs_the_sample():
    image = np.ones((16, 16), np.float32)
    with pytest.raises(ValueError, match="true pattern"):
        consistency(ScoreInput(image, image, 31.3))


def test_widefield_is_less_consistent_than_wiener_on_static_quick(registry, tmp_path):
    request = runner.RunRequest(methods=["widefield", "wiener"], suite="static", size="quick",
                                results_dir=tmp_path, progress=False, extra_metrics=("consistency",))
    records = {r.data["method"]: r for r in runner.run(registry, request).records}
    scores = {m: np.array([s["scores"]["consistency"] for s in r.samples.values()]) for m, r in records.items()}
    assert records["wiener"].data["metrics"]["consistency"]["direction"] == "target"
    assert np.all(scores["widefield"] > scores["wiener"]), scores
    # the ground truth's own consistency, recorded per sample, is the noise level the scores aim at
    reference = np.array([s["reference"]["consistency"] for s in records["wiener"].samples.values()])
    assert np.all((reference > 1e-3) & (reference < 0.15)), reference
    assert np.all(np.abs(scores["widefield"] - reference) > np.abs(scores["wiener"] - reference))

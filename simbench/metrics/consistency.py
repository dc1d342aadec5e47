"""Forward-model consistency: does the reconstruction explain the raw frames it came from?

``consistency = ‖y − H x̂‖ / ‖y‖``: the raw frames ``y`` are re-simulated from the
reconstruction ``x̂`` with the sample's *true* patterns and optics (``H`` is the
suite's own noise-free forward model, :func:`simbench.physics.simulate_sim2d`).
Methods output arbitrary scales, so ``x̂`` is first fitted in object space by least
squares (``a·x̂ + b``; ``H`` is linear, so this is a two-column fit of ``H x̂`` and
``H 1`` to ``y``).  Hallucinated structure that the data do not support raises it.
The noise-free ground truth scores 0 up to float32 precision, but on noisy frames the
ground truth scores about the relative noise: a lower value means the reconstruction
explains the *noise* too (an unregularised inverse filter scores best).  The metric is
therefore scored as closeness to the ground truth's own consistency, which the harness
measures with the same code (direction ``target``).  The idea is SQUIRREL's (Culley et al.,
Nat. Methods 15, 263 (2018)), with the suite's exact forward model instead of a fitted blur.
"""
from __future__ import annotations

import numpy as np

from simbench.metrics.base import Metric, ScoreInput
from simbench.types import StripePattern


def consistency(inputs: ScoreInput) -> float:
    """Relative residual of the raw frames re-simulated from the (affinely fitted) prediction."""
    from simbench.physics.forward import simulate_sim2d

    sample = inputs.sample
    if sample is None or "pattern" not in sample.truth:
        raise ValueError("consistency needs the sample's raw frames and true pattern (ScoreInput.sample)")
    raw = sample.raw
    pattern = StripePattern.from_dict(sample.truth["pattern"])
    downsample = round(raw.optics.pixel_size_nm / inputs.pixel_size_nm)
    prediction = np.asarray(inputs.prediction, dtype=np.float32)
    if prediction.shape != tuple(n * downsample for n in raw.frames.shape[1:]):
        raise ValueError(f"prediction shape {prediction.shape} is not {downsample}× the raw frames "
                         f"{raw.frames.shape[1:]}")

    def forward(image: np.ndarray) -> np.ndarray:
        return simulate_sim2d(image, inputs.pixel_size_nm, raw.optics, pattern, raw.frame_patterns,
                              downsample).astype(np.float64).ravel()

    columns = np.stack([forward(prediction), forward(np.ones_like(prediction))], axis=1)
    y = raw.frames.astype(np.float64).ravel()
    coefficients = np.linalg.lstsq(columns, y, rcond=None)[0]
    return float(np.linalg.norm(y - columns @ coefficients) / np.linalg.norm(y))


CONSISTENCY_METRICS: tuple[Metric, ...] = (
    Metric("consistency", "target", consistency, on_target=True,
           description="‖y − H x̂‖ / ‖y‖: raw frames re-simulated from the reconstruction (scale and offset "
                       "fitted) with the true patterns and optics, relative to the measured ones; closeness to "
                       "the ground truth's own value (≈ the noise level: lower means fitting noise)"),
)

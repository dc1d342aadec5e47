"""Capacity: each learned 2D architecture, in the configuration it trains in, overfits one moving sample
well past widefield within a few hundred steps.  An architecture that cannot is not worth a training
budget; one that can but trains badly points at the data or the schedule instead."""
from __future__ import annotations

import pytest
import torch
from simbench_plugins.mlsim import MLSIM
from simbench_plugins.vsrsim import VSRSIM

from simbench.learn.data import SCALE, make_item
from simbench.metrics.base import MetricConfig
from simbench.metrics.fidelity import psnr
from simbench.resample import upsample_bicubic
from simbench.suites.motion import MotionMedium

#: raw crop side (px), its top-left corner and Adam's learning rate of the overfit
CROP, CORNER, LEARNING_RATE = 64, 64, 2e-3
#: optimiser steps per method: the transformer converges more slowly than the CNN
STEPS = {VSRSIM: 600, MLSIM: 300}
#: how far past widefield the overfit crop must get (dB, normalised PSNR)
MARGIN_DB = 0.8


def _crop(any_order: bool) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Network input (1, 9, CROP, CROP) and target (1, 1, 2·CROP, 2·CROP) of one medium-motion train
    sample, in the order a method of ``any_order`` takes, and widefield's PSNR on the crop."""
    item = make_item(MotionMedium().make_train_sample(0, 0), lambda f: f, any_order, roll=None)
    window = slice(CORNER, CORNER + CROP)
    target = item.target[SCALE * CORNER:SCALE * (CORNER + CROP), SCALE * CORNER:SCALE * (CORNER + CROP)]
    widefield = psnr(upsample_bicubic(item.widefield[window, window], SCALE), target, MetricConfig())
    return torch.from_numpy(item.inputs[None, :, window, window].copy()), torch.from_numpy(target[None, None].copy()), \
        widefield


@pytest.fixture()
def one_thread():
    """Small convolutions on a shared machine run faster on one thread than on several that wait for
    each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("cls", [VSRSIM, MLSIM], ids=lambda c: c.name)
def test_the_training_configuration_overfits_one_moving_sample_past_widefield(cls, one_thread):
    x, y, widefield = _crop(cls.accepts_any_pattern_order)
    torch.manual_seed(0)
    model = cls.build(cls.configs[cls.default_config])
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(STEPS[cls]):
        loss = torch.nn.functional.l1_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        fitted = psnr(model(x)[0, 0].numpy(), y[0, 0].numpy(), MetricConfig())
    print(f"{cls.name}: {fitted:.2f} dB after {STEPS[cls]} steps, widefield {widefield:.2f} dB")
    assert fitted > widefield + MARGIN_DB, (fitted, widefield)

"""The example method's own tests: simbench's pytest plugin provides the fixtures."""
import numpy as np
from simbench_example_plugin import UnsharpWidefield

import simbench


def test_fulfils_the_simbench_method_contract(simbench_contract):
    simbench_contract(UnsharpWidefield)


def test_sharpens_the_widefield_image(simbench_mock_sample):
    raw = simbench_mock_sample.raw
    image = UnsharpWidefield().reconstruct(raw)
    widefield = simbench.upsample_bicubic(raw.frames.mean(axis=0), 2)
    assert image.shape == widefield.shape == simbench_mock_sample.target.shape
    # an unsharp mask adds contrast at fine scales
    assert np.abs(np.diff(image, axis=1)).mean() > np.abs(np.diff(widefield, axis=1)).mean()

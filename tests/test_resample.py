import numpy as np
import pytest

from simbench import upsample_bicubic

POLYNOMIALS = {
    "constant": lambda x, y: np.full_like(x, 3.5),
    "linear": lambda x, y: 0.3 * x + 0.1 * y,
    "quadratic": lambda x, y: 0.02 * x**2 - 0.03 * x * y + y,
}


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_keys_bicubic_reproduces_polynomials_up_to_degree_two(name):
    f = POLYNOMIALS[name]
    y, x = np.mgrid[0:20, 0:24].astype(np.float64)
    up = upsample_bicubic(f(x, y), 2)
    # output pixel j samples input coordinate j/2 (output 2j is input j)
    yy, xx = np.mgrid[0:40, 0:48] * 0.5
    inner = (slice(4, -4), slice(4, -4))
    assert np.allclose(up[inner], f(xx, yy)[inner], atol=1e-4)


def test_quartic_is_not_reproduced_so_the_test_above_can_fail():
    y, x = np.mgrid[0:20, 0:24].astype(np.float64)
    up = upsample_bicubic(x**4 / 100, 2)
    xx = (np.mgrid[0:40, 0:48] * 0.5)[1]
    assert np.abs(up - xx**4 / 100)[4:-4, 4:-4].max() > 0.005


def test_output_pixel_2j_is_input_pixel_j():
    image = np.random.default_rng(1).random((9, 7)).astype(np.float32)
    assert np.array_equal(upsample_bicubic(image, 2)[::2, ::2], image)


def test_shape_batch_and_mean_preserved():
    rng = np.random.default_rng(0)
    stack = rng.random((3, 16, 10)).astype(np.float32)
    up = upsample_bicubic(stack, 2)
    assert up.shape == (3, 32, 20) and up.dtype == np.float32
    assert np.allclose(up[1], upsample_bicubic(stack[1], 2))
    assert abs(up.mean() - stack.mean()) < 0.01


def test_bad_factor():
    with pytest.raises(ValueError, match="positive integer"):
        upsample_bicubic(np.zeros((4, 4)), 1.5)

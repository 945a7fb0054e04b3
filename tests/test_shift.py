"""cnnlib.shift, and the equivariance it is for."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import conv2d, global_avg_pool2d, max_pool2d, shift
from conv_strategies import conv_cases


@st.composite
def images(draw, min_size=1):
    h, w = draw(st.integers(min_size, 6)), draw(st.integers(min_size, 6))
    lead = draw(st.lists(st.integers(1, 2), max_size=2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((*lead, h, w))


offsets = st.integers(-8, 8)


@given(images(), offsets, offsets, st.sampled_from(["circular", "zeros"]))
def test_shift_definition(x, dy, dx, mode):
    y = shift(x, dy, dx, mode)
    h, w = x.shape[-2:]
    expected = np.zeros_like(x)
    for i, j in np.ndindex(h, w):
        si, sj = i - dy, j - dx  # y[..., i, j] = x[..., i - dy, j - dx]
        if mode == "circular":
            expected[..., i, j] = x[..., si % h, sj % w]
        elif 0 <= si < h and 0 <= sj < w:
            expected[..., i, j] = x[..., si, sj]
        # else: nothing there before the shift, so 0
    np.testing.assert_array_equal(y, expected)
    # torch tensors in, torch tensors out, with the same values
    yt = shift(torch.from_numpy(x), dy, dx, mode)
    assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float64
    np.testing.assert_array_equal(yt.numpy(), y)


@given(images(), offsets, offsets, offsets, offsets)
def test_circular_shifts_compose_and_invert(x, a, b, c, d):
    np.testing.assert_array_equal(shift(shift(x, a, b), c, d), shift(x, a + c, b + d))
    np.testing.assert_array_equal(shift(shift(x, a, b), -a, -b), x)


def test_direction_by_hand():
    x = np.zeros((3, 3))
    x[0, 0] = 1
    y = shift(x, 1, 2)  # one down, two right
    assert y[1, 2] == 1 and y.sum() == 1
    assert shift(x, -1, 0)[2, 0] == 1  # up by one wraps to the bottom row
    assert shift(x, -1, 0, mode="zeros").sum() == 0  # ... or falls off


@given(conv_cases(modes=("circular",), paddings=st.just("same")), offsets, offsets)
def test_circular_convolution_is_shift_equivariant(case, dy, dx):
    """conv(shift(x)) == shift(conv(x)) (stride 1, 'same' circular padding);
    after global average pooling the shift is gone: invariance."""
    x, weight, bias, kw = case
    y = conv2d(x, weight, bias, **kw)
    y_of_shifted = conv2d(shift(x, dy, dx), weight, bias, **kw)
    np.testing.assert_allclose(y_of_shifted, shift(y, dy, dx), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(global_avg_pool2d(y_of_shifted), global_avg_pool2d(y), rtol=1e-10, atol=1e-10)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), offsets, offsets, st.integers(0, 2**32 - 1))
def test_pooling_commutes_with_shifts_by_the_stride(s, a, b, dy, dx, seed):
    """With window = stride = s on a grid of s x s blocks, shifting by s*(dy, dx) shifts the output by (dy, dx)."""
    x = np.random.default_rng(seed).standard_normal((1, 2, s * a, s * b))
    np.testing.assert_array_equal(max_pool2d(shift(x, s * dy, s * dx), s), shift(max_pool2d(x, s), dy, dx))

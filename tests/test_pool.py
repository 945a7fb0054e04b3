"""cnnlib pooling against torch.nn.functional."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import avg_pool2d, global_avg_pool2d, max_pool2d
import conv_strategies  # noqa: F401  (runs PyTorch on one thread: faster for tiny tensors)


@st.composite
def pool_cases(draw):
    """``(x, kernel_size, stride, padding)`` with padding <= kernel/2 and a window that fits."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kernel = (kh, kw) if draw(st.booleans()) or kh != kw else kh
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding = (ph, pw) if ph != pw or draw(st.booleans()) else ph
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    h = draw(st.integers(max(1, kh - 2 * ph), kh + 4))
    w = draw(st.integers(max(1, kw - 2 * pw), kw + 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    if draw(st.booleans()):
        shape = shape[1:]  # a single (C, H, W) image
    x = rng.standard_normal(shape)
    if draw(st.booleans()):
        x = np.round(x)  # ties in the max
    return x, kernel, stride, padding


@given(pool_cases())
def test_pooling_matches_torch(case):
    x, kernel, stride, padding = case
    xt = torch.from_numpy(x)
    expected = F.max_pool2d(xt, kernel, stride, padding).numpy()
    y = max_pool2d(x, kernel, stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y, expected)

    expected = F.avg_pool2d(xt, kernel, stride, padding).numpy()  # count_include_pad=True
    y = avg_pool2d(x, kernel, stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)

    expected = F.adaptive_avg_pool2d(xt, 1).numpy()[..., 0, 0]  # global pooling: a 1x1 output
    np.testing.assert_allclose(global_avg_pool2d(x), expected, rtol=1e-12, atol=1e-12)


def test_float32_pooling_stays_float32():
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 6), dtype=np.float32)
    assert max_pool2d(x, 2).dtype == np.float32
    assert avg_pool2d(x, 3, 1, 1).dtype == np.float32


def test_max_pool_padding_never_wins():
    x = -np.ones((1, 1, 2, 2))  # all negative: a zero pad would win, -inf does not
    np.testing.assert_array_equal(max_pool2d(x, 2, 1, 1), -np.ones((1, 1, 3, 3)))

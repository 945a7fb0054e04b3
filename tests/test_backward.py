"""cnnlib.conv2d_backward against torch.autograd, naive against vectorised, and by hand."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import conv2d, conv2d_backward, conv2d_backward_naive
from cnnlib.conv import sliding_windows
from conv_strategies import conv_cases, torch_conv

TOL = dict(rtol=1e-10, atol=1e-10)


def upstream(y_shape, seed=0):
    return np.random.default_rng(seed).standard_normal(y_shape)


@given(conv_cases(), st.booleans())
def test_backward_matches_autograd(case, unbatched):
    x, weight, bias, kw = case
    if unbatched:
        x = x[0]  # a single (C, H, W) image
    y, xt, conv = torch_conv(x, weight, bias, **kw)
    dout = upstream(y.shape)
    y.backward(torch.from_numpy(dout))
    dx, dw, db = conv2d_backward(dout, x, weight, bias, **kw)
    assert dx.shape == x.shape and dw.shape == weight.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dw, conv.weight.grad.numpy(), **TOL)
    if bias is None:
        assert db is None
    else:
        np.testing.assert_allclose(db, conv.bias.grad.numpy(), **TOL)


@given(conv_cases(max_batch=1, extra=2))
def test_naive_backward_matches_vectorised(case):
    x, weight, bias, kw = case
    dout = upstream(conv2d(x, weight, bias, **kw).shape)
    fast = conv2d_backward(dout, x, weight, bias, **kw)
    slow = conv2d_backward_naive(dout, x, weight, bias, **kw)
    for a, b in zip(fast, slow):
        if a is None:
            assert b is None
        else:
            np.testing.assert_allclose(a, b, **TOL)


def test_shared_weight_gradient_is_sum_over_positions():
    """dw[o] = sum over every image n and position (i, j) of dout[n, o, i, j] * window(n, i, j)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7))
    w = rng.standard_normal((4, 3, 3, 2))
    dout = rng.standard_normal((2, 4, 4, 6))
    _, dw, db = conv2d_backward(dout, x, w, np.zeros(4))

    windows = sliding_windows(x, (3, 2))  # (N, C, Ho, Wo, kh, kw)
    total = np.zeros_like(w)
    for n in range(2):
        for i in range(4):
            for j in range(6):
                # the gradient one position contributes to each of the 4 kernels
                total += dout[n, :, i, j, None, None, None] * windows[n, :, i, j][None]
    np.testing.assert_allclose(dw, total, **TOL)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), **TOL)


def test_finite_differences():
    """An independent check (no torch): central differences of L = sum(dout * conv2d(x, w, b))."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 5, 4))
    w = rng.standard_normal((2, 1, 2, 3))
    b = rng.standard_normal(2)
    kw = dict(stride=(2, 1), padding=(1, 2), groups=2, padding_mode="reflect")
    dout = rng.standard_normal(conv2d(x, w, b, **kw).shape)
    grads = conv2d_backward(dout, x, w, b, **kw)

    def loss(x, w, b):
        return np.sum(dout * conv2d(x, w, b, **kw))

    eps = 1e-6
    for k, arg in enumerate((x, w, b)):
        numeric = np.zeros_like(arg)
        for idx in np.ndindex(arg.shape):
            args = [x.copy(), w.copy(), b.copy()]
            args[k][idx] += eps
            up = loss(*args)
            args[k][idx] -= 2 * eps
            numeric[idx] = (up - loss(*args)) / (2 * eps)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-7)


def test_float32_backward_stays_float32():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 8), dtype=np.float32)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    dout = rng.standard_normal((2, 4, 8, 8), dtype=np.float32)
    dx, dw, db = conv2d_backward(dout, x, w, np.zeros(4, np.float32), padding=1)
    assert dx.dtype == dw.dtype == db.dtype == np.float32

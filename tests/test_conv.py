"""cnnlib.conv2d (forward) against torch.nn.Conv2d, and naive against vectorised."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import conv2d, conv2d_naive, pad2d, pad2d_backward
from cnnlib.conv import pad_indices, sliding_windows
from conv_strategies import MODES, conv_cases, torch_conv, torch_pad

TOL = dict(rtol=1e-10, atol=1e-10)


@given(conv_cases(), st.booleans(), st.booleans())
def test_forward_matches_torch(case, unbatched, transposed):
    x, weight, bias, kw = case
    if unbatched:
        x = x[:1]
    if transposed:  # the same values in a non-contiguous array
        x = np.ascontiguousarray(x.swapaxes(2, 3)).swapaxes(2, 3)
    y_torch, _, _ = torch_conv(x, weight, bias, **kw)
    expected = y_torch.detach().numpy()
    if unbatched:  # a single (C, H, W) image, as torch allows
        x, expected = x[0], expected[0]
    copies = [x.copy(), weight.copy()]
    y = conv2d(x, weight, bias, **kw)
    assert y.shape == expected.shape
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, expected, **TOL)
    np.testing.assert_array_equal(x, copies[0])  # the inputs are not modified
    np.testing.assert_array_equal(weight, copies[1])


@given(conv_cases(max_batch=1, extra=2))
def test_naive_matches_vectorised(case):
    x, weight, bias, kw = case
    np.testing.assert_allclose(conv2d_naive(x, weight, bias, **kw), conv2d(x, weight, bias, **kw), **TOL)


def test_float32_in_float32_out():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 9), dtype=np.float32)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    y = conv2d(x, w, b, padding=1)
    assert y.dtype == np.float32
    expected = torch.nn.functional.conv2d(*map(torch.from_numpy, (x, w, b)), padding=1).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_integers_are_computed_in_float64():
    x = np.arange(16).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2), dtype=np.int64)
    y = conv2d(x, w)
    assert y.dtype == np.float64
    # window sums of [[0,1],[4,5]] = 10, then +4 per step right, +16 per step down
    np.testing.assert_array_equal(y[0, 0], [[10, 14, 18], [26, 30, 34], [42, 46, 50]])


def test_empty_batch():
    y = conv2d(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), padding=1)
    assert y.shape == (0, 3, 5, 5)


# --- padding ---------------------------------------------------------------

pads_strategy = st.tuples(
    st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))
)


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(MODES))
    pads = draw(pads_strategy)
    need = {"reflect": 1, "circular": 0}.get(mode)
    sizes = []
    for before, after in pads:
        lo = 1 if need is None else max(1, before + need, after + need)
        sizes.append(draw(st.integers(lo, lo + 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes))
    return x, pads, mode


@given(pad_cases())
def test_pad2d_and_its_backward_match_torch(case):
    x, pads, mode = case
    xt = torch.tensor(x, requires_grad=True)
    padded = torch_pad(xt, pads, mode)
    np.testing.assert_array_equal(pad2d(x, pads, mode), padded.detach().numpy())
    g = np.random.default_rng(1).standard_normal(padded.shape)
    padded.backward(torch.from_numpy(g))
    np.testing.assert_allclose(pad2d_backward(g, pads, mode), xt.grad.numpy(), **TOL)


def test_pad_indices_by_hand():
    # a b c d  ->  padded by 2 on both sides
    assert pad_indices(4, 2, 2, "zeros").tolist() == [-1, -1, 0, 1, 2, 3, -1, -1]
    assert pad_indices(4, 2, 2, "circular").tolist() == [2, 3, 0, 1, 2, 3, 0, 1]  # c d | a b c d | a b
    assert pad_indices(4, 2, 2, "reflect").tolist() == [2, 1, 0, 1, 2, 3, 2, 1]  # c b | a b c d | c b
    assert pad_indices(4, 2, 2, "replicate").tolist() == [0, 0, 0, 1, 2, 3, 3, 3]  # a a | a b c d | d d


def test_pad2d_int_and_pair_forms():
    x = np.ones((2, 3))
    assert pad2d(x, 1).shape == (4, 5)
    assert pad2d(x, (1, 2)).shape == (4, 7)
    assert pad2d(x, ((0, 1), (2, 0))).shape == (3, 5)
    y = pad2d(x, 0)
    y[0, 0] = 5  # a copy, even without padding
    assert x[0, 0] == 1


def test_sliding_windows_definition():
    x = np.arange(7 * 9).reshape(7, 9)
    win = sliding_windows(x, (2, 3), stride=(2, 1), dilation=(3, 2))
    assert win.shape == (2, 5, 2, 3)
    for i, j, u, v in np.ndindex(*win.shape):
        assert win[i, j, u, v] == x[i * 2 + u * 3, j * 1 + v * 2]
    with pytest.raises(ValueError):
        win[0, 0, 0, 0] = 1  # read-only view


# --- im2col and col2im: the fast path's two steps, public for readers ---------------------------


def test_im2col_times_the_kernels_is_the_convolution():
    from cnnlib import col2im, im2col

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    cols = im2col(sliding_windows(x, (3, 2), stride=(2, 1)), groups=1)  # (1, C*kh*kw, H_out*W_out)
    y = (w.reshape(4, -1) @ cols[0]).reshape(4, 3, 7)
    np.testing.assert_allclose(y, conv2d(x[None], w, stride=(2, 1))[0], atol=1e-12)
    # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
    c = rng.standard_normal(cols.shape)
    back = col2im(c[0], np.zeros_like(x), (3, 2), (2, 1), (1, 1))
    assert np.vdot(cols, c) == pytest.approx(np.vdot(x, back))

"""Every public NumPy function refuses bad arguments with a message naming them."""

import numpy as np
import pytest
import torch

from cnnlib import (
    avg_pool2d,
    conv2d,
    conv2d_as_matrix,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_naive,
    global_avg_pool2d,
    max_pool2d,
    pad2d,
    pad2d_backward,
    shift,
)

X = np.zeros((1, 3, 5, 5))
W = np.zeros((2, 3, 3, 3))
CONVS = [conv2d, conv2d_naive]


def backward(fn):
    """``fn`` as a conv2d-like call: backward with a well-shaped dout."""

    def call(x, weight, bias=None, **kw):
        try:
            dout = np.zeros(conv2d(x, weight, bias, **kw).shape)
        except (TypeError, ValueError):
            dout = np.zeros((1, 2, 3, 3))
        return fn(dout, x, weight, bias, **kw)

    return call


ALL = CONVS + [backward(conv2d_backward), backward(conv2d_backward_naive)]

# (x, weight, kwargs, exception, message)
CASES = [
    (np.zeros((3, 5)), W, {}, ValueError, r"x must be 3-D or 4-D \(N, C, H, W\) or \(C, H, W\), got shape \(3, 5\)"),
    (np.zeros((1, 1, 3, 5, 5)), W, {}, ValueError, r"x must be 3-D or 4-D .* got shape \(1, 1, 3, 5, 5\)"),
    (X, np.zeros((2, 3, 3)), {}, ValueError, r"weight must be 4-D \(out_channels, in_channels/groups, kh, kw\), got shape \(2, 3, 3\)"),
    (np.zeros((1, 4, 5, 5)), W, {}, ValueError, r"weight \(2, 3, 3, 3\) expects 3 input channels per group, x \(1, 4, 5, 5\) has 4"),
    (np.zeros((1, 4, 5, 5)), np.zeros((2, 1, 3, 3)), dict(groups=2), ValueError, r"expects 1 input channels per group, x \(1, 4, 5, 5\) has 2 \(groups=2\)"),
    (X, np.zeros((2, 1, 3, 3)), dict(groups=2), ValueError, r"groups=2 must divide the input channels of x \(1, 3, 5, 5\) \(3\)"),
    (np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), dict(groups=2), ValueError, r"groups=2 must divide the output channels of weight \(3, 2, 3, 3\) \(3\)"),
    (X, W, dict(groups=0), ValueError, r"groups must be positive, got 0"),
    (X, W, dict(stride=0), ValueError, r"stride must be positive, got 0"),
    (X, W, dict(stride=(1, -2)), ValueError, r"stride\[1\] must be positive, got -2"),
    (X, W, dict(stride=1.5), TypeError, r"stride must be an integer, got 1.5"),
    (X, W, dict(stride=(1, 2, 3)), ValueError, r"stride must be an int or a pair"),
    (X, W, dict(dilation=0), ValueError, r"dilation must be positive, got 0"),
    (X, W, dict(padding=-1), ValueError, r"padding must be >= 0, got -1"),
    (X, W, dict(padding="full"), ValueError, r"padding must be an int, a pair, 'same' or 'valid', got 'full'"),
    (X, W, dict(padding="same", stride=2), ValueError, r"padding='same' needs stride 1"),
    (np.zeros((1, 3, 2, 5)), W, {}, ValueError, r"kernel_size 3 with dilation 1 spans 3 pixels along the height, but the padded input is only 2"),
    (X, W, dict(dilation=3), ValueError, r"kernel_size 3 with dilation 3 spans 7 pixels along the height, but the padded input is only 5"),
    (X, W, dict(padding_mode="mirror"), ValueError, r"padding_mode must be one of \('zeros', 'circular', 'reflect', 'replicate'\), got 'mirror'"),
    (X, W, dict(padding=6, padding_mode="circular"), ValueError, r"circular padding 6 wraps around the height of the input \(5\) more than once"),
    (X, W, dict(padding=(0, 5), padding_mode="reflect"), ValueError, r"reflect padding 5 must be less than the input width \(5\)"),
    (X.astype(str), W, {}, TypeError, r"x must hold real numbers, got dtype <U32 \(non-numeric values\)"),
    (X.astype(object), W, {}, TypeError, r"x must hold real numbers, got dtype object"),
    (X.astype(bool), W, {}, TypeError, r"x must hold real numbers, got dtype bool \(booleans\)"),
    (X, W.astype(complex), {}, TypeError, r"weight must hold real numbers, got dtype complex128 \(complex numbers\)"),
    (X, np.zeros((2, 3, 0, 3)), {}, ValueError, r"must not have empty axes"),
    (X, W, dict(bias=np.zeros(3)), ValueError, r"bias must have shape \(2,\) to match weight \(2, 3, 3, 3\), got \(3,\)"),
    (X, W, dict(bias=np.array(["a", "b"])), TypeError, r"bias must hold real numbers"),
]


@pytest.mark.parametrize("fn", ALL, ids=["conv2d", "conv2d_naive", "conv2d_backward", "conv2d_backward_naive"])
@pytest.mark.parametrize("x, weight, kw, error, message", CASES)
def test_conv_arguments(fn, x, weight, kw, error, message):
    with pytest.raises(error, match=message):
        fn(x, weight, **kw)


@pytest.mark.parametrize("fn", [conv2d_backward, conv2d_backward_naive])
def test_dout_shape(fn):
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(1, 2, 3, 3\) for x \(1, 3, 5, 5\), got \(1, 2, 3, 4\)"):
        fn(np.zeros((1, 2, 3, 4)), X, W)
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(2, 3, 3\) for x \(3, 5, 5\), got \(1, 2, 3, 3\)"):
        fn(np.zeros((1, 2, 3, 3)), X[0], W)
    with pytest.raises(TypeError, match=r"dout must hold real numbers"):
        fn(np.zeros((1, 2, 3, 3), dtype=bool), X, W)


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pool_arguments(pool):
    with pytest.raises(ValueError, match=r"x must be 3-D or 4-D .* got shape \(5, 5\)"):
        pool(np.zeros((5, 5)), 2)
    with pytest.raises(ValueError, match=r"kernel_size must be positive, got 0"):
        pool(X, 0)
    with pytest.raises(ValueError, match=r"stride must be positive, got 0"):
        pool(X, 2, 0)
    with pytest.raises(ValueError, match=r"padding must be >= 0, got -1"):
        pool(X, 2, 1, -1)
    with pytest.raises(ValueError, match=r"padding should be at most half of kernel_size, got padding=2 and kernel_size=3"):
        pool(X, 3, 1, 2)
    with pytest.raises(ValueError, match=r"padding should be at most half of kernel_size, got padding=\(0, 2\) and kernel_size=\(4, 3\)"):
        pool(X, (4, 3), 1, (0, 2))
    with pytest.raises(ValueError, match=r"kernel_size 6 with dilation 1 spans 6 pixels along the height, but the padded input is only 5"):
        pool(X, 6)
    with pytest.raises(TypeError, match=r"x must hold real numbers, got dtype <U"):
        pool(X.astype(str), 2)
    with pytest.raises(TypeError, match=r"kernel_size must be an integer"):
        pool(X, 2.0)


def test_global_pool_arguments():
    with pytest.raises(ValueError, match=r"x must be 3-D or 4-D .* got shape \(5,\)"):
        global_avg_pool2d(np.zeros(5))
    with pytest.raises(TypeError, match=r"x must hold real numbers, got dtype object"):
        global_avg_pool2d(X.astype(object))


def test_pad_arguments():
    with pytest.raises(ValueError, match=r"x must have at least 2 axes \(\.\.\., H, W\), got shape \(5,\)"):
        pad2d(np.zeros(5), 1)
    with pytest.raises(ValueError, match=r"padding must be >= 0, got -1"):
        pad2d(X, -1)
    with pytest.raises(ValueError, match=r"padding\[0\]\[1\] must be >= 0, got -1"):
        pad2d(X, ((0, -1), (0, 0)))
    with pytest.raises(ValueError, match=r"padding_mode must be one of"):
        pad2d(X, 1, "edge")
    with pytest.raises(ValueError, match=r"reflect padding 5 must be less than the input height \(5\)"):
        pad2d(X, 5, "reflect")
    with pytest.raises(ValueError, match=r"padding \(\(3, 3\), \(0, 0\)\) is larger than dpadded \(1, 3, 5, 5\)"):
        pad2d_backward(X, (3, 0))
    with pytest.raises(TypeError, match=r"dpadded must hold real numbers"):
        pad2d_backward(X.astype(bool), 1)


def test_matrix_arguments():
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\), got \(1, 3, 5, 5\)"):
        conv2d_as_matrix(W, (1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"input_shape\[1\] must be positive, got 0"):
        conv2d_as_matrix(W, (3, 0, 5))
    with pytest.raises(TypeError, match=r"input_shape\[2\] must be an integer, got 5.0"):
        conv2d_as_matrix(W, (3, 5, 5.0))
    with pytest.raises(ValueError, match=r"weight \(2, 3, 3, 3\) expects 3 input channels per group, input_shape \(4, 5, 5\) has 4"):
        conv2d_as_matrix(W, (4, 5, 5))
    with pytest.raises(ValueError, match=r"weight must be 4-D"):
        conv2d_as_matrix(np.zeros((3, 3)), (3, 5, 5))
    with pytest.raises(ValueError, match=r"spans 3 pixels along the width, but the padded input is only 2"):
        conv2d_as_matrix(W, (3, 5, 2))
    with pytest.raises(ValueError, match=r"padding_mode must be one of"):
        conv2d_as_matrix(W, (3, 5, 5), padding_mode="wrap")
    with pytest.raises(ValueError, match=r"max_dense_bytes must be >= 0, got -1"):
        conv2d_as_matrix(W, (3, 5, 5), dense=True, max_dense_bytes=-1)


def test_shift_arguments():
    with pytest.raises(TypeError, match=r"dy must be an integer, got 1.5"):
        shift(X, 1.5, 0)
    with pytest.raises(TypeError, match=r"dx must be an integer, got True"):
        shift(X, 0, True)
    with pytest.raises(ValueError, match=r"mode must be one of \('circular', 'zeros'\), got 'reflect'"):
        shift(X, 1, 1, mode="reflect")
    with pytest.raises(ValueError, match=r"x must have at least 2 axes \(\.\.\., H, W\), got shape \(5,\)"):
        shift(np.zeros(5), 1, 1)
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        shift(torch.zeros(5), 1, 1)

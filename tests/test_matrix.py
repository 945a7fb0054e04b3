"""cnnlib.conv2d_as_matrix: the convolution as an explicit (sparse) matrix."""

import time

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given

from cnnlib import conv2d, conv2d_as_matrix, conv2d_backward
from conv_strategies import conv_cases

TOL = dict(rtol=1e-10, atol=1e-10)


@given(conv_cases(max_batch=1))
def test_matrix_is_the_convolution(case):
    x, weight, _, kw = case
    m = conv2d_as_matrix(weight, x.shape[1:], **kw)
    y = conv2d(x, weight, **kw)
    assert scipy.sparse.issparse(m) and m.format == "csr"
    assert m.shape == (y.size, x.size)
    np.testing.assert_allclose(m @ x.ravel(), y.ravel(), **TOL)

    # The backward pass to the input is multiplication by M transposed.
    dout = np.random.default_rng(0).standard_normal(y.shape)
    dx, _, _ = conv2d_backward(dout, x, weight, **kw)
    np.testing.assert_allclose(m.T @ dout.ravel(), dx.ravel(), **TOL)

    dense = conv2d_as_matrix(weight, x.shape[1:], dense=True, **kw)
    assert isinstance(dense, np.ndarray)
    np.testing.assert_array_equal(dense, m.toarray())


def test_toeplitz_by_hand():
    """A [-1, 1] kernel on a 1 x 4 image: each row is the kernel, shifted one column right."""
    m = conv2d_as_matrix(np.array([[[[-1.0, 1.0]]]]), (1, 1, 4), dense=True)
    np.testing.assert_array_equal(m, [[-1, 1, 0, 0], [0, -1, 1, 0], [0, 0, -1, 1]])


def test_circular_padding_wraps_around():
    m = conv2d_as_matrix(np.array([[[[-1.0, 1.0]]]]), (1, 1, 4), padding=(0, 1), padding_mode="circular", dense=True)
    # output j reads padded columns j, j+1; padded column 0 is image column 3 (wrapped), 5 is column 0
    np.testing.assert_array_equal(
        m, [[1, 0, 0, -1], [-1, 1, 0, 0], [0, -1, 1, 0], [0, 0, -1, 1], [1, 0, 0, -1]]
    )


def test_nnz_counts_connections():
    # 3x3 kernel, 2 -> 4 channels, 6x5 image, zero padding 1: taps on the padding are not stored
    w = np.ones((4, 2, 3, 3))
    m = conv2d_as_matrix(w, (2, 6, 5), padding=1)
    inside = sum(
        1 for i in range(6) for j in range(5) for u in range(3) for v in range(3)
        if 0 <= i + u - 1 < 6 and 0 <= j + v - 1 < 5
    )
    assert m.nnz == 4 * 2 * inside


def test_big_image_is_fast():
    w = np.array([[[[-1.0, 1.0]]]])
    start = time.perf_counter()
    m = conv2d_as_matrix(w, (1, 320, 280))
    elapsed = time.perf_counter() - start
    assert m.shape == (320 * 279, 320 * 280)
    assert m.nnz == 2 * 320 * 279
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    x = np.random.default_rng(0).standard_normal((1, 320, 280))
    np.testing.assert_allclose(m @ x.ravel(), conv2d(x, w).ravel(), **TOL)


def test_dense_refuses_too_large():
    w = np.array([[[[-1.0, 1.0]]]])
    rows, cols = 320 * 279, 320 * 280
    nbytes = rows * cols * 8
    with pytest.raises(ValueError, match=rf"{nbytes:,}.*bytes.*GiB.*max_dense_bytes=1,073,741,824"):
        conv2d_as_matrix(w, (1, 320, 280), dense=True)
    with pytest.raises(ValueError, match=r"dense=True: the 3 x 4 float64 matrix would take 96 bytes"):
        conv2d_as_matrix(w, (1, 1, 4), dense=True, max_dense_bytes=95)
    assert conv2d_as_matrix(w, (1, 1, 4), dense=True, max_dense_bytes=96).shape == (3, 4)

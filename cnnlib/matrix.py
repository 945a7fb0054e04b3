"""A convolution is a matrix: build it explicitly.

For one image ``x`` of shape ``(C, H, W)`` the convolution (without bias) is a
linear map from ``C*H*W`` numbers to ``C_out*H_out*W_out`` numbers, so it is a
matrix ``M`` with ``M @ x.ravel() == conv2d(x, weight).ravel()``. Row
``(o, i, j)`` of ``M`` holds kernel ``o``, placed at window ``(i, j)``:

    M[(o, i, j), (c, r, q)] = sum of w[o, c', u, v] over the taps with
                              c = g*C_g + c', r = i*sh + u*dh - top, q = j*sw + v*dw - left

(the sum only matters with circular/reflect padding, where one pixel can
fill two taps). Every row holds the *same* few numbers, shifted: that is
weight sharing, and most entries are zero: that is locality.
"""

import numpy as np
import scipy.sparse

from cnnlib.conv import pad_indices
from cnnlib.shapes import check_int
from cnnlib.validate import as_real_array, check_rank, conv2d_args

__all__ = ["conv2d_as_matrix"]


def _input_shape(input_shape):
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    return tuple(check_int(f"input_shape[{k}]", v, 1) for k, v in enumerate(input_shape))


def _human(nbytes):
    """``1536 -> '1.5 KiB'``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.3g} {unit}" if unit != "bytes" else f"{nbytes} bytes"
        nbytes /= 1024


def conv2d_as_matrix(
    weight,
    input_shape,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    dense=False,
    max_dense_bytes=2**30,
):
    """The convolution of one image as an explicit matrix (bias not included).

    ``weight``: ``(C_out, C_in // groups, kh, kw)``; ``input_shape``:
    ``(C_in, H, W)``; the other arguments as in :func:`cnnlib.conv2d`.

    Returns a ``scipy.sparse.csr_matrix`` ``M`` of shape
    ``(C_out*H_out*W_out, C_in*H*W)`` such that
    ``M @ x.ravel() == conv2d(x[None], weight, ...).ravel()`` for any ``x`` of
    shape ``input_shape``. Its stored entries are the kernel taps that land on
    the image (taps that fall on zero padding are not stored; a tap whose
    weight is 0 is stored as an explicit 0, so ``M.nnz`` counts connections).

    With ``dense=True`` returns a NumPy array instead, but refuses
    (``ValueError``) when it would take more than ``max_dense_bytes``.
    """
    weight = as_real_array("weight", weight)
    check_rank("weight", weight, (4,), "(out_channels, in_channels/groups, kh, kw)")
    c_in, h, w = _input_shape(input_shape)
    max_dense_bytes = check_int("max_dense_bytes", max_dense_bytes, 0)
    # Reuse conv2d's checks on a zero-strided stand-in for x (no memory used).
    x = np.broadcast_to(np.zeros((), dtype=weight.dtype), (c_in, h, w))
    _, weight, _, geo, _ = conv2d_args(
        x, weight, None, stride, padding, dilation, groups, padding_mode, x_name="input_shape"
    )
    c_out, c_g, kh, kw = weight.shape
    ho, wo = geo.out_size
    n_rows, n_cols = c_out * ho * wo, c_in * h * w

    if dense:
        nbytes = n_rows * n_cols * weight.dtype.itemsize
        if nbytes > max_dense_bytes:
            raise ValueError(
                f"dense=True: the {n_rows} x {n_cols} {weight.dtype} matrix would take "
                f"{nbytes:,} bytes ({_human(nbytes)}), more than max_dense_bytes="
                f"{max_dense_bytes:,} ({_human(max_dense_bytes)}); use the sparse matrix (dense=False)"
            )

    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    (top, bottom), (left, right) = geo.pads
    src_row = pad_indices(h, top, bottom, geo.padding_mode)  # padded row -> image row (-1: zero)
    src_col = pad_indices(w, left, right, geo.padding_mode)

    # One entry per (o, i, j, c, u, v): broadcast index grids of shape (C_out, Ho, Wo, C_g, kh, kw).
    o, i, j, c, u, v = np.ix_(
        np.arange(c_out), np.arange(ho), np.arange(wo), np.arange(c_g), np.arange(kh), np.arange(kw)
    )
    r = src_row[i * sh + u * dh]  # image row read by tap (u, v) of window (i, j)
    q = src_col[j * sw + v * dw]
    channel = (o // (c_out // geo.groups)) * c_g + c
    shape = (c_out, ho, wo, c_g, kh, kw)
    rows = np.broadcast_to((o * ho + i) * wo + j, shape)
    cols = np.broadcast_to((channel * h + r) * w + q, shape)
    values = np.broadcast_to(weight[:, None, None], shape)  # w[o, c, u, v], the same for every (i, j)
    keep = np.broadcast_to((r >= 0) & (q >= 0), shape)  # drop taps on zero padding

    m = scipy.sparse.coo_matrix(
        (values[keep], (rows[keep], cols[keep])), shape=(n_rows, n_cols)
    ).tocsr()  # sums the entries that share a position (circular/reflect)
    m.sort_indices()
    return m.toarray() if dense else m

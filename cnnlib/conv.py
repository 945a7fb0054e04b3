"""2-D convolution in NumPy, forward and backward, naive and vectorised.

Shapes follow PyTorch (NCHW):

* ``x``:      ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for a single image
* ``weight``: ``(C_out, C_in // groups, kh, kw)``
* ``bias``:   ``(C_out,)`` or ``None``
* output:     ``(N, C_out, H_out, W_out)``

Like ``torch.nn.functional.conv2d`` this is a cross-correlation (the kernel is
not flipped). With stride ``s``, dilation ``d``, and ``x_pad`` the padded input,

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x_pad[n, g*C_g + c, i*s + u*d, j*s + v*d]

where ``g = o // (C_out // groups)`` is the group of output channel ``o`` and
``C_g = C_in // groups`` the number of input channels each group reads.

There are two implementations of each pass behind the same signature:

* ``conv2d_naive`` / ``conv2d_backward_naive``: explicit loops, one line per
  symbol of the formula. Slow; read these.
* ``conv2d`` / ``conv2d_backward``: the same sums as matrix products. For
  each image, copy every window into a column of a matrix ("im2col"); then
  one product ``weights @ columns`` gives every kernel at every position.
  Fast; the chapters use these.

Padding is a separate, shared step (``pad2d``) with PyTorch's padding modes:
``"zeros"``, ``"circular"`` (wrap around), ``"reflect"`` (mirror, without
repeating the edge) and ``"replicate"`` (repeat the edge).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnlib.shapes import conv_output_size, pair
from cnnlib.validate import (
    as_real_array,
    check_dout,
    check_padding_mode,
    check_pads,
    conv2d_args,
)

__all__ = [
    "conv2d",
    "conv2d_naive",
    "conv2d_backward",
    "conv2d_backward_naive",
    "pad2d",
    "pad2d_backward",
    "sliding_windows",
    "im2col",
    "col2im",
]


# --------------------------------------------------------------------------
# Padding: a copy of the input with a border. Its backward pass adds the
# gradient of every copied border pixel back onto the pixel it was copied from.
# --------------------------------------------------------------------------


def pad_indices(size, before, after, mode):
    """For each position of a padded axis, the input position it copies (``-1``: a zero).

    >>> pad_indices(4, 2, 2, "circular")
    array([2, 3, 0, 1, 2, 3, 0, 1])
    >>> pad_indices(4, 2, 2, "reflect")
    array([2, 1, 0, 1, 2, 3, 2, 1])
    """
    p = np.arange(-before, size + after)
    if mode == "zeros":
        return np.where((p >= 0) & (p < size), p, -1)
    if mode == "circular":
        return p % size
    if mode == "replicate":
        return np.clip(p, 0, size - 1)
    if size == 1:  # reflect: nothing to mirror (only reachable with zero padding)
        return np.zeros_like(p)
    period = 2 * (size - 1)  # reflect: ... 2 1 | 0 1 2 3 | 2 1 0 1 ...
    q = p % period
    return np.where(q < size, q, period - q)


def _pad_pairs(padding):
    """int, ``(ph, pw)`` or ``((top, bottom), (left, right))`` -> the last form."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
        isinstance(p, (tuple, list)) for p in padding
    ):
        (t, b), (l, r) = (pair("padding[0]", padding[0], 0), pair("padding[1]", padding[1], 0))
        return ((t, b), (l, r))
    ph, pw = pair("padding", padding, minimum=0)
    return ((ph, ph), (pw, pw))


def _pad(x, pads, mode, value=0.0):
    """``pad2d`` without the argument checks (``pads`` already normalised).

    Mode ``"zeros"`` pads with ``value`` (max pooling uses ``-inf``). Returns
    ``x`` itself when there is no padding.
    """
    if pads == ((0, 0), (0, 0)):
        return x
    (top, bottom), (left, right) = pads
    *lead, h, w = x.shape
    if mode == "zeros":
        out = np.full((*lead, h + top + bottom, w + left + right), value, dtype=x.dtype)
        out[..., top : top + h, left : left + w] = x
        return out
    rows = pad_indices(h, top, bottom, mode)
    cols = pad_indices(w, left, right, mode)
    return x[..., rows[:, None], cols]


def _pad_into(xp, x, pads, mode):
    """Write ``x`` ``(..., H, W)``, padded, into the buffer ``xp`` ``(..., Hp, Wp)``.

    With zero padding only the interior is written: a border of zeros written
    once serves every image. ``xp`` must start as zeros for that mode.
    """
    (top, _), (left, _) = pads
    h, w = x.shape[-2:]
    if mode == "zeros":
        xp[..., top : top + h, left : left + w] = x
    else:
        xp[...] = _pad(x, pads, mode)


def pad2d(x, padding, mode="zeros"):
    """Pad the last two axes of ``x`` (shape ``(..., H, W)``), like ``torch.nn.functional.pad``.

    ``padding`` is an int, a pair ``(ph, pw)`` or ``((top, bottom), (left, right))``.
    ``mode`` is ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``.
    Returns an array of shape ``(..., H + top + bottom, W + left + right)``.
    """
    x = as_real_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (..., H, W), got shape {x.shape}")
    pads = _pad_pairs(padding)
    check_padding_mode(mode)
    if mode != "zeros":
        check_pads(pads, x.shape[-2:], mode)
    out = _pad(x, pads, mode)
    return out.copy() if out is x else out


def _one_hot(index, size, dtype):
    """``(len(index), size)`` matrix with a 1 at ``[p, index[p]]`` (no 1 where index is -1)."""
    m = np.zeros((len(index), size), dtype=dtype)
    keep = index >= 0
    m[np.flatnonzero(keep), index[keep]] = 1
    return m


def pad2d_backward(dpadded, padding, mode="zeros"):
    """Gradient of ``pad2d``: fold the gradient of the padded array back onto the input.

    ``dpadded`` has the padded shape ``(..., Hp, Wp)``; the result has shape
    ``(..., Hp - top - bottom, Wp - left - right)``. A pixel copied into the
    border (circular, reflect, replicate) receives the sum of the gradients of
    all its copies. Padding is the linear map ``x -> R @ x @ C.T`` with 0/1
    matrices ``R``, ``C`` (one 1 per row), so its backward is ``R.T @ d @ C``.
    """
    dpadded = as_real_array("dpadded", dpadded)
    if dpadded.ndim < 2:
        raise ValueError(f"dpadded must have at least 2 axes (..., Hp, Wp), got shape {dpadded.shape}")
    pads = _pad_pairs(padding)
    check_padding_mode(mode)
    (top, bottom), (left, right) = pads
    hp, wp = dpadded.shape[-2:]
    h, w = hp - top - bottom, wp - left - right
    if h < 1 or w < 1:
        raise ValueError(f"padding {pads} is larger than dpadded {dpadded.shape}")
    if mode != "zeros":
        check_pads(pads, (h, w), mode)
    return _pad_backward(dpadded, pads, mode)


def _pad_backward(dpadded, pads, mode):
    (top, bottom), (left, right) = pads
    hp, wp = dpadded.shape[-2:]
    h, w = hp - top - bottom, wp - left - right
    if mode == "zeros":
        return dpadded[..., top : top + h, left : left + w].copy()
    rows = _one_hot(pad_indices(h, top, bottom, mode), h, dpadded.dtype)  # (Hp, H)
    cols = _one_hot(pad_indices(w, left, right, mode), w, dpadded.dtype)  # (Wp, W)
    return rows.T @ dpadded @ cols


# --------------------------------------------------------------------------
# Windows: every patch the kernel sees, as a view (no copy).
# --------------------------------------------------------------------------


def sliding_windows(xp, kernel_size, stride=1, dilation=1):
    """Read-only view of every kernel window of ``xp`` (shape ``(..., Hp, Wp)``).

    Returns shape ``(..., H_out, W_out, kh, kw)`` with
    ``windows[..., i, j, u, v] == xp[..., i*sh + u*dh, j*sw + v*dw]``.
    No padding is added; the window must fit (``ValueError`` otherwise).
    """
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    xp = np.asarray(xp)
    if xp.ndim < 2:
        raise ValueError(f"xp must have at least 2 axes (..., H, W), got shape {xp.shape}")
    out_size = conv_output_size(xp.shape[-2:], (kh, kw), (sh, sw), 0, (dh, dw))
    return _windows(xp, (kh, kw), (sh, sw), (dh, dw), out_size)


def _windows(xp, kernel_size, stride, dilation, out_size):
    """``sliding_windows`` without the checks (all arguments are pairs, ``out_size`` known)."""
    rs, cs = xp.strides[-2:]
    return as_strided(
        xp,
        shape=(*xp.shape[:-2], *out_size, *kernel_size),
        strides=(*xp.strides[:-2], rs * stride[0], cs * stride[1], rs * dilation[0], cs * dilation[1]),
        writeable=False,
    )


def im2col(windows, groups, out=None):
    """Copy the windows of one image into columns, one column per output pixel.

    ``windows`` is the ``(C, H_out, W_out, kh, kw)`` view that
    ``sliding_windows`` gives for one padded image. Returns ``cols`` of shape
    ``(groups, C//groups * kh * kw, H_out * W_out)``: column ``p = i*W_out + j``
    of group ``g`` is the window under output pixel ``(i, j)``, flattened in
    the order ``(c, u, v)`` of ``weight[o]``, so that
    ``weight.reshape(C_out, -1) @ cols`` is the convolution of that image.
    ``out``, if given, is the array to fill (it may be a slice of a bigger one).
    """
    c, ho, wo, kh, kw = windows.shape
    if out is None:
        out = np.empty((groups, c // groups * kh * kw, ho * wo), dtype=windows.dtype)
    # The one copy, (C, Ho, Wo, kh, kw) -> (G, C/G, kh, kw, Ho, Wo). The reshape of
    # ``out`` only splits axes, so it is a view even when ``out`` is a slice.
    dest = out.reshape(groups, c // groups, kh, kw, ho, wo)
    dest[...] = windows.reshape(groups, c // groups, ho, wo, kh, kw).transpose(0, 1, 4, 5, 2, 3)
    return out


def col2im(dcols, dxp, kernel_size, stride, dilation):
    """Adjoint of ``im2col``: add every column entry back onto the pixel it was copied from.

    ``dcols`` has the shape of one image's ``cols``; ``dxp`` is that padded
    image's gradient ``(C, Hp, Wp)``, updated in place. Windows overlap, so a
    pixel read by several windows receives the sum of their gradients.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    c = dxp.shape[0]
    ho = (dxp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    dcols = dcols.reshape(c, kh, kw, ho, -1)
    wo = dcols.shape[-1]
    for u in range(kh):
        for v in range(kw):
            # tap (u, v) of the window at (i, j) read x_pad[i*sh + u*dh, j*sw + v*dw]
            rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols] += dcols[:, u, v]
    return dxp


# --------------------------------------------------------------------------
# Naive: the formula, loop by loop.
# --------------------------------------------------------------------------


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """2-D convolution with explicit loops; same signature and result as :func:`conv2d`.

    ``x`` ``(N, C_in, H, W)`` or ``(C_in, H, W)``; ``weight``
    ``(C_out, C_in // groups, kh, kw)``; ``bias`` ``(C_out,)`` or ``None``.
    Returns ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)``).
    """
    x, weight, bias, geo, unbatched = conv2d_args(
        x, weight, bias, stride, padding, dilation, groups, padding_mode
    )
    xp = _pad(x, geo.pads, geo.padding_mode)
    (s_h, s_w), (d_h, d_w), (H_out, W_out) = geo.stride, geo.dilation, geo.out_size
    N = x.shape[0]
    C_out, C_g, kh, kw = weight.shape
    out_per_group = C_out // geo.groups

    y = np.zeros((N, C_out, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // out_per_group) * C_g  # first input channel of o's group
            for i in range(H_out):
                for j in range(W_out):
                    # y[n, o, i, j] = b[o] + sum_{c,u,v} w[o, c, u, v] * x_pad[n, first + c, i*s + u*d, j*s + v*d]
                    total = bias[o] if bias is not None else 0.0
                    for c in range(C_g):
                        for u in range(kh):
                            for v in range(kw):
                                total += weight[o, c, u, v] * xp[n, first + c, i * s_h + u * d_h, j * s_w + v * d_w]
                    y[n, o, i, j] = total
    return y[0] if unbatched else y


def conv2d_backward_naive(
    dout, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"
):
    """Gradients of :func:`conv2d` with explicit loops. Returns ``(dx, dw, db)``.

    ``dout`` is dL/dy, shaped like the output. ``dx`` is shaped like ``x``,
    ``dw`` like ``weight``; ``db`` has shape ``(C_out,)``, or is ``None``
    when ``bias`` is ``None``.

    The loops visit every position ``(n, i, j)`` where kernel ``o`` was
    applied. The *same* weight ``w[o, c, u, v]`` was used at every one of
    them, so its gradient is the sum over all positions of (upstream
    gradient at that position) * (input pixel it multiplied there).
    """
    x, weight, bias, geo, unbatched = conv2d_args(
        x, weight, bias, stride, padding, dilation, groups, padding_mode
    )
    dout = check_dout(dout, x, weight.shape[0], geo, unbatched)
    xp = _pad(x, geo.pads, geo.padding_mode)
    (s_h, s_w), (d_h, d_w), (H_out, W_out) = geo.stride, geo.dilation, geo.out_size
    N = x.shape[0]
    C_out, C_g, kh, kw = weight.shape
    out_per_group = C_out // geo.groups

    dxp = np.zeros_like(xp)
    dw = np.zeros_like(weight)
    db = np.zeros(C_out, dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // out_per_group) * C_g
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, o, i, j]  # dL/dy[n, o, i, j]
                    db[o] += g  # the bias is shared by every position too
                    for c in range(C_g):
                        for u in range(kh):
                            for v in range(kw):
                                r, q = i * s_h + u * d_h, j * s_w + v * d_w
                                # shared weight: accumulate over all positions (n, i, j)
                                dw[o, c, u, v] += g * xp[n, first + c, r, q]
                                # an input pixel is read by every window that covers it
                                dxp[n, first + c, r, q] += g * weight[o, c, u, v]
    dx = _pad_backward(dxp, geo.pads, geo.padding_mode)
    return (dx[0] if unbatched else dx), dw, (db if bias is not None else None)


# --------------------------------------------------------------------------
# Vectorised: the same sums as matrix products.
# --------------------------------------------------------------------------


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """2-D convolution (cross-correlation), ``torch.nn.functional.conv2d`` semantics.

    ``x``: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    ``weight``: ``(C_out, C_in // groups, kh, kw)``.
    ``bias``: ``(C_out,)`` or ``None``.
    ``stride``, ``dilation``: int or ``(h, w)``, positive.
    ``padding``: int, ``(h, w)``, ``"same"`` (stride 1 only) or ``"valid"``.
    ``groups``: divides ``C_in`` and ``C_out``.
    ``padding_mode``: ``"zeros"``, ``"circular"``, ``"reflect"`` or
    ``"replicate"``, as in ``torch.nn.Conv2d``.

    Returns ``(N, C_out, H_out, W_out)`` (``(C_out, H_out, W_out)`` for a 3-D
    ``x``), where ``H_out = floor((H + pad_h - dh*(kh-1) - 1) / sh) + 1``.
    Float32 inputs give a float32 result; integers are computed in float64.
    """
    x, weight, bias, geo, unbatched = conv2d_args(
        x, weight, bias, stride, padding, dilation, groups, padding_mode
    )
    N, C_in, H, W = x.shape
    C_out, C_g, kh, kw = weight.shape
    H_out, W_out = geo.out_size
    G, K = geo.groups, C_g * kh * kw
    (top, bottom), (left, right) = geo.pads
    # One image at a time, padded into a reused buffer; ``windows`` is a view of
    # the buffer, so it always shows the image currently in it.
    xp = np.zeros((C_in, H + top + bottom, W + left + right), dtype=x.dtype)
    windows = _windows(xp, (kh, kw), geo.stride, geo.dilation, geo.out_size)  # (C_in, H_out, W_out, kh, kw)
    w = weight.reshape(G, C_out // G, K)  # one row per kernel
    cols = np.empty((G, K + (bias is not None), H_out * W_out), dtype=x.dtype)
    if bias is not None:
        # The bias trick: a row of ones under the columns and the bias as one more
        # weight column, so that the matrix product adds the bias: [w | b] @ [cols; 1].
        cols[:, K] = 1
        w = np.concatenate([w, bias.reshape(G, C_out // G, 1)], axis=2)
    y = np.empty((N, G, C_out // G, H_out * W_out), dtype=x.dtype)
    for n in range(N):
        _pad_into(xp, x[n], geo.pads, geo.padding_mode)
        im2col(windows, G, out=cols[:, :K])  # (G, K, H_out*W_out); stays in the CPU cache
        np.matmul(w, cols, out=y[n])  # every kernel . every window
    y = y.reshape(N, C_out, H_out, W_out)
    return y[0] if unbatched else y


def conv2d_backward(dout, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Gradients of :func:`conv2d` (same arguments, plus ``dout``). Returns ``(dx, dw, db)``.

    ``dout`` is dL/dy with the output's shape. ``dx`` has the shape of ``x``,
    ``dw`` of ``weight``, ``db`` is ``(C_out,)`` or ``None`` when ``bias`` is ``None``.

    For one image, with ``cols`` its im2col matrix (one column per output
    position), the forward pass is ``y = w @ cols``, so

    * ``dw = sum over images of dout @ cols.T``: a sum over all N*H_out*W_out
      positions of (gradient at the position) x (window at the position).
      This sum *is* weight sharing: one kernel, used everywhere, collects
      gradient from everywhere.
    * ``dcols = w.T @ dout``, folded back onto the pixels (col2im) and through
      the padding (pad2d_backward) to give ``dx``.
    """
    x, weight, bias, geo, unbatched = conv2d_args(
        x, weight, bias, stride, padding, dilation, groups, padding_mode
    )
    C_out, C_g, kh, kw = weight.shape
    dout = check_dout(dout, x, C_out, geo, unbatched)
    N, C_in, H, W = x.shape
    G, K = geo.groups, C_g * kh * kw
    H_out, W_out = geo.out_size
    (top, bottom), (left, right) = geo.pads
    xp = np.zeros((C_in, H + top + bottom, W + left + right), dtype=x.dtype)  # one padded image
    windows = _windows(xp, (kh, kw), geo.stride, geo.dilation, geo.out_size)  # a view of xp
    dy = dout.reshape(N, G, C_out // G, H_out * W_out)  # (N, G, C_out/G, P)
    w_t = weight.reshape(G, C_out // G, K).transpose(0, 2, 1)  # (G, K, C_out/G)

    dw = np.zeros((G, C_out // G, K), dtype=x.dtype)
    dx = np.empty_like(x)
    dxp = np.empty_like(xp)
    cols = np.empty((G, K, H_out * W_out), dtype=x.dtype)
    for n in range(N):
        _pad_into(xp, x[n], geo.pads, geo.padding_mode)
        im2col(windows, G, out=cols)  # (G, K, P): the windows of image n
        # Shared weights: every position p adds dy[p] * window[p] to the same kernel,
        # so the gradient is a sum over positions, i.e. a matrix product.
        dw += np.matmul(dy[n], cols.transpose(0, 2, 1))  # (G, C_out/G, K)
        # Each window's gradient, w.T @ dy, goes back onto the pixels it was read from.
        dcols = np.matmul(w_t, dy[n], out=cols)  # (G, K, P), reusing the buffer
        dxp[...] = 0
        col2im(dcols, dxp, (kh, kw), geo.stride, geo.dilation)
        dx[n] = _pad_backward(dxp, geo.pads, geo.padding_mode)
    db = dout.sum(axis=(0, 2, 3)) if bias is not None else None
    return (dx[0] if unbatched else dx), dw.reshape(weight.shape), db

"""Translate an image: the group action behind translation equivariance.

``shift(x, dy, dx)`` moves the content of the last two axes ``dy`` pixels down
and ``dx`` pixels right:

    shift(x, dy, dx)[..., i, j] == x[..., i - dy, j - dx]

With ``mode="circular"`` indices wrap around (a torus: convolution with
circular padding commutes with it exactly); with ``mode="zeros"`` what
leaves the image is lost and what enters is 0.
"""

import numpy as np
import torch

from cnnlib.validate import check_integer

__all__ = ["shift"]

SHIFT_MODES = ("circular", "zeros")


def _span(d, n):
    """Slices (destination, source) along an axis of length ``n`` for a shift by ``d``."""
    if d >= 0:
        return slice(d, n), slice(0, n - d)
    return slice(0, n + d), slice(-d, n)


def shift(x, dy, dx, mode="circular"):
    """Shift the last two axes of ``x`` (shape ``(..., H, W)``) by ``dy`` rows, ``dx`` columns.

    Positive ``dy`` moves the content down, positive ``dx`` moves it right.
    ``x`` is a NumPy array (or anything ``np.asarray`` accepts) or a
    ``torch.Tensor``; the result has the same type, shape and dtype.
    """
    dy = check_integer("dy", dy)
    dx = check_integer("dx", dx)
    if mode not in SHIFT_MODES:
        raise ValueError(f"mode must be one of {SHIFT_MODES}, got {mode!r}")
    is_torch = isinstance(x, torch.Tensor)
    if not is_torch:
        x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]

    if mode == "circular":
        if is_torch:
            return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        return np.roll(x, (dy, dx), axis=(-2, -1))

    out = torch.zeros_like(x) if is_torch else np.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out  # everything left the image
    (rows_to, rows_from), (cols_to, cols_from) = _span(dy, h), _span(dx, w)
    out[..., rows_to, cols_to] = x[..., rows_from, cols_from]
    return out

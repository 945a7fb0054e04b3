"""Pooling in NumPy, with PyTorch's semantics (``ceil_mode=False``).

* ``x``: ``(N, C, H, W)`` or ``(C, H, W)``; each channel is pooled on its own.
* output: ``(N, C, H_out, W_out)`` with ``H_out = floor((H + 2*ph - kh) / sh) + 1``.

Pooling has no parameters: a window slides over the image like a kernel, but
instead of a weighted sum it takes the maximum or the mean.
"""

import numpy as np

from cnnlib.conv import _pad, sliding_windows
from cnnlib.shapes import conv_output_size, pair
from cnnlib.validate import as_real_array, check_rank

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d"]


def _pool_args(x, kernel_size, stride, padding):
    """Checked ``(x as 4-D, kernel, stride, pads, unbatched)``."""
    x = as_real_array("x", x)
    check_rank("x", x, (3, 4), "(N, C, H, W) or (C, H, W)")
    kernel = pair("kernel_size", kernel_size)
    stride = kernel if stride is None else pair("stride", stride)
    ph, pw = pair("padding", padding, minimum=0)
    for p, k in ((ph, kernel[0]), (pw, kernel[1])):
        if 2 * p > k:  # PyTorch's rule
            raise ValueError(
                f"padding should be at most half of kernel_size, got padding={padding} and kernel_size={kernel_size}"
            )
    conv_output_size(x.shape[-2:], kernel, stride, (ph, pw))  # raises if the window does not fit
    unbatched = x.ndim == 3
    return (x[None] if unbatched else x), kernel, stride, ((ph, ph), (pw, pw)), unbatched


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each ``kernel_size`` window, like ``torch.nn.functional.max_pool2d``.

    ``kernel_size``, ``stride`` (default: ``kernel_size``) and ``padding`` are
    ints or ``(h, w)`` pairs; ``padding <= kernel_size / 2``. The padding is
    ``-inf``, so it never wins. Returns ``(N, C, H_out, W_out)``.
    """
    x, kernel, stride, pads, unbatched = _pool_args(x, kernel_size, stride, padding)
    xp = _pad(x, pads, "zeros", value=-np.inf)
    y = sliding_windows(xp, kernel, stride).max(axis=(-2, -1))  # windows: (N, C, Ho, Wo, kh, kw)
    return y[0] if unbatched else y


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each ``kernel_size`` window, like ``torch.nn.functional.avg_pool2d``.

    Same arguments as :func:`max_pool2d`. The padding is zeros and counts in
    the mean (PyTorch's default ``count_include_pad=True``): every window is
    divided by ``kh * kw``. Returns ``(N, C, H_out, W_out)``.
    """
    x, kernel, stride, pads, unbatched = _pool_args(x, kernel_size, stride, padding)
    xp = _pad(x, pads, "zeros")
    y = sliding_windows(xp, kernel, stride).mean(axis=(-2, -1))
    return y[0] if unbatched else y


def global_avg_pool2d(x):
    """Mean over all positions: ``(N, C, H, W) -> (N, C)`` (or ``(C, H, W) -> (C,)``).

    The result no longer depends on *where* a feature appeared: this turns a
    translation-equivariant feature map into a translation-invariant vector
    (exactly invariant for circular shifts).
    """
    x = as_real_array("x", x)
    check_rank("x", x, (3, 4), "(N, C, H, W) or (C, H, W)")
    return x.mean(axis=(-2, -1))

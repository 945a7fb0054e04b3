"""What pooling keeps of a shifted feature map: detections kept in place, or moved whole.

A pooled map ``P(f)`` is *invariant* to a shift ``S`` where ``P(S f) == P(f)``
and *equivariant* where ``P(S f)`` is ``P(f)`` moved by some shift of the
pooled grid (after a pool with stride ``s``, a shift by ``s`` moves the map one
cell). Counting the non-zero pooled values (the detections, after a ReLU) that
survive bit for bit tells the two apart:

* :func:`_kept_in_place`: the share of detections that keep their value and
  their place (invariance);
* :func:`moved_fraction`: the share that reappear after the best cyclic shift
  of the pooled map, and that shift (equivariance);
* :func:`pooling_errors`: both, and the relative change in the Euclidean norm,
  for several pools and shifts (the measurements of the equivariance chapter,
  which the claims audit calls again);
* :func:`relu_features`: the feature map the chapter pools.

Shifts are those of :func:`cnnlib.shift` (``l`` alone means ``(0, l)``: ``l``
pixels to the right), cyclic. Arrays are NumPy ``(..., H, W)``.
"""

from numbers import Integral

import numpy as np
import torch

from cnnlib.conv import conv2d
from cnnlib.equivariance import chapter_image, chapter_kernel, invariance_error
from cnnlib.shift import shift as _shift
from cnnlib.validate import as_real_array

__all__ = ["moved_fraction", "pooling_errors", "relu_features"]


def _pair(shift):
    return (0, int(shift)) if isinstance(shift, Integral) else tuple(int(d) for d in shift)


def _pooled(pool, x, shift=(0, 0)):
    """``pool(S x)`` as a float64 NumPy array (torch outputs detached)."""
    with torch.no_grad():
        y = pool(_shift(x, *_pair(shift)))
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    return np.asarray(y, dtype=np.float64)


def _share_kept(first, after):
    """Share of the non-zero values of ``after`` equal, at the same position, in ``first``."""
    lit = after != 0
    if not lit.any():
        raise ValueError("the pooled map is zero everywhere: there is no detection to follow")
    return float(np.mean((first == after)[lit]))


def _kept_in_place(pool, x, shift):
    """The share of the detections of ``pool(x)`` (its non-zero values) unchanged, in place, in ``pool(S x)``."""
    return _share_kept(_pooled(pool, x, shift), _pooled(pool, x))


def moved_fraction(pool, x, shift):
    """The best share of detections carried bit for bit into ``pool(S x)`` by a cyclic shift of the pooled map.

    Returns ``(share, (dy, dx))``, the shift of the pooled map that carries the
    most; ties go to the smallest shift (``(0, 0)`` first, so the share is never
    below :func:`_kept_in_place`). For a pooled vector (no image axes) only ``(0, 0)``.
    """
    first, fx = _pooled(pool, x, shift), _pooled(pool, x)
    if fx.ndim < 2:
        return _share_kept(first, fx), (0, 0)
    h, w = fx.shape[-2:]
    offsets = sorted(((oy, ox) for oy in range(h) for ox in range(w)),
                     key=lambda o: (min(o[0], h - o[0]) + min(o[1], w - o[1]), o))
    best = None
    for oy, ox in offsets:
        share = _share_kept(first, _shift(fx, oy, ox))
        if best is None or share > best[0]:
            best = (share, (oy, ox))
    return best


def pooling_errors(features, pools, shifts=range(0, 9), moved=False):
    """How far each pooling in ``pools`` is from invariance to cyclic shifts, one value per shift.

    ``features`` ``(C, H, W)``; ``pools`` a dict ``name -> function`` (for
    example ``lambda f: max_pool2d(f, 2)``). Returns ``{name: array}``, the
    relative :func:`cnnlib.equivariance.invariance_error` in the Euclidean norm
    (``|P(S f) - P(f)| / |P(f)|``); ``{name + "_unchanged": array}``, the share
    of detections kept in place (:func:`_kept_in_place`); and, with ``moved=True``,
    ``{name + "_moved": array}``, the share after the best shift of the pooled
    map (:func:`moved_fraction`).
    """
    out = {}
    for name, pool in pools.items():
        out[name] = np.array([invariance_error(pool, features, d, norm="l2") for d in shifts])
        out[name + "_unchanged"] = np.array([_kept_in_place(pool, features, d) for d in shifts])
        if moved:
            out[name + "_moved"] = np.array([moved_fraction(pool, features, d)[0] for d in shifts])
    return out


def relu_features(image=None, kernel=None):
    """A feature map to pool: ReLU of the circular convolution with a zero-mean kernel, ``(1, H, W)``.

    Defaults :func:`cnnlib.equivariance.chapter_image` and
    :func:`cnnlib.equivariance.chapter_kernel`; the kernel's mean is
    subtracted, so that the response is positive about half the time (a
    detector that fires on some patterns, not everywhere or nowhere).
    """
    image = chapter_image() if image is None else as_real_array("image", image)
    kernel = chapter_kernel() if kernel is None else as_real_array("kernel", kernel)
    kernel = kernel - kernel.mean()
    return np.maximum(conv2d(image, kernel, padding=kernel.shape[-1] // 2, padding_mode="circular"), 0.0)

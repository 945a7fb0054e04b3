"""Counts of chapter 1 (locality), reused by the claims audit.

One grey-scale ``height x width`` image, one hidden unit per output
position, no bias unless asked:

* fully connected to an ``out_height x out_width`` layer:
  ``height * width * out_height * out_width`` weights;
* locally connected with ``window x window`` windows and one unit per pixel
  (``"same"`` padding): ``height * width * window**2`` weights.

All counts are exact Python integers (they come from :mod:`cnnlib.counting`).
"""

from typing import NamedTuple

from cnnlib import counting
from cnnlib.shapes import check_int, pair

__all__ = [
    "FLOAT32_BYTES",
    "full_image_params",
    "local_image_params",
    "magnitude",
    "CountRanges",
    "count_ranges",
    "sides_in_range",
]

FLOAT32_BYTES = 4


def full_image_params(image_size, out_size=None, bias=False):
    """Weights of a fully connected layer from an image to a layer of units.

    ``image_size``: ``(height, width)`` or a side; ``out_size``: the hidden
    layer's ``(height, width)``, a side, or ``None`` for one unit per pixel.
    """
    h, w = pair("image_size", image_size)
    oh, ow = (h, w) if out_size is None else pair("out_size", out_size)
    return counting.fully_connected_params(h * w, oh * ow, bias=bias)


def local_image_params(image_size, window, bias=False):
    """Weights of a locally connected layer with one unit per pixel, each
    seeing its own ``window x window`` neighbourhood (``"same"`` padding)."""
    return counting.locally_connected2d_params(pair("image_size", image_size), 1, 1, window,
                                               padding="same", bias=bias)


def magnitude(n):
    """The order of magnitude of a positive integer, exactly: ``floor(log10(n))``."""
    return len(str(check_int("n", n, 1))) - 1


class CountRanges(NamedTuple):
    full: tuple  # (smallest, largest) fully connected count
    local: tuple  # (smallest, largest) locally connected count


def count_ranges(side_min, side_max, window_min, window_max):
    """Smallest and largest counts over images whose height and width lie in
    ``[side_min, side_max]`` and windows in ``[window_min, window_max]``, with
    one hidden unit per pixel (``X*Y = W*H``, as source 002 assumes).

    Both counts grow with every argument, so the extremes are at the corners.
    """
    lo = check_int("side_min", side_min, 1)
    hi = check_int("side_max", side_max, lo)
    f_lo = check_int("window_min", window_min, 1)
    f_hi = check_int("window_max", window_max, f_lo)
    return CountRanges(
        full=(full_image_params(lo), full_image_params(hi)),
        local=(local_image_params(lo, f_lo), local_image_params(hi, f_hi)),
    )


def sides_in_range(low, high, window, kind="local"):
    """Square image sides whose layer has between ``low`` and ``high`` weights
    (inclusive): ``(smallest side, largest side)`` or ``None``.

    ``kind`` is ``"local"`` (``window x window`` windows) or ``"full"``.
    """
    low = check_int("low", low, 1)
    high = check_int("high", high, low)
    if kind not in ("local", "full"):
        raise ValueError(f"kind must be 'local' or 'full', got {kind!r}")

    def count(side):
        return local_image_params(side, window) if kind == "local" else full_image_params(side)

    side = 1
    while count(side) < low:
        side += 1
    first = side
    while count(side) <= high:
        side += 1
    return (first, side - 1) if side > first else None

"""Argument checks shared by the NumPy functions of cnnlib.

Every public function checks its inputs *before* computing anything, and the
error names the argument and the shapes involved, e.g.
``weight (2, 3, 3, 3) expects 3 input channels per group, x (1, 4, 5, 5) has 4 (groups=1)``.
Wrong types raise ``TypeError``; wrong values or shapes raise ``ValueError``.
"""

from numbers import Integral
from typing import NamedTuple

import numpy as np

from cnnlib.shapes import check_int, conv_output_size, pair, resolve_padding

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


def as_real_array(name, value):
    """``value`` as a NumPy array of floats.

    Floating arrays keep their dtype (float32 stays float32); integer arrays
    become float64. Booleans, complex numbers, strings and objects are refused
    with a ``TypeError``.
    """
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "iu":
        return array.astype(np.float64)
    what = {"b": "booleans", "c": "complex numbers"}.get(kind, "non-numeric values")
    raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype} ({what})")


def as_image(name, value):
    """``value`` as a non-empty 2-D NumPy array ``(H, W)`` of real numbers (its dtype kept)."""
    image = np.asarray(value)
    if image.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {image.dtype}")
    if image.ndim != 2 or min(image.shape) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (H, W), got shape {image.shape}")
    return image


def check_rank(name, array, ranks, layout):
    """Raise ``ValueError`` unless ``array.ndim`` is one of ``ranks``."""
    if array.ndim not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(f"{name} must be {wanted} {layout}, got shape {array.shape}")


def check_padding_mode(padding_mode):
    """Raise ``ValueError`` unless ``padding_mode`` is one of ``PADDING_MODES``."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    return padding_mode


def check_pads(pads, size, padding_mode):
    """PyTorch's limits on wrapped and mirrored padding.

    ``pads = ((top, bottom), (left, right))`` and ``size = (H, W)``. Circular
    padding may wrap around at most once (pad <= size); reflection needs a
    pixel to mirror (pad < size).
    """
    for axis, (before, after), n in zip(("height", "width"), pads, size):
        for p in (before, after):
            if padding_mode == "circular" and p > n:
                raise ValueError(
                    f"circular padding {p} wraps around the {axis} of the input ({n}) more than once"
                )
            if padding_mode == "reflect" and p >= n:
                raise ValueError(
                    f"reflect padding {p} must be less than the input {axis} ({n})"
                )


class ConvGeometry(NamedTuple):
    """Everything about a convolution except the numbers in x and weight."""

    stride: tuple  # (sh, sw)
    pads: tuple  # ((top, bottom), (left, right))
    dilation: tuple  # (dh, dw)
    groups: int
    padding_mode: str
    out_size: tuple  # (Ho, Wo)


def conv2d_args(x, weight, bias, stride, padding, dilation, groups, padding_mode, x_name="x"):
    """Check and normalise the arguments of ``conv2d``.

    Returns ``(x, weight, bias, geometry, unbatched)`` where ``x`` is always
    4-D ``(N, C, H, W)`` (a 3-D ``(C, H, W)`` input gets a batch axis of 1 and
    ``unbatched=True``), all arrays share one floating dtype and ``geometry``
    is a :class:`ConvGeometry`. ``x_name`` is how errors call ``x``.
    """
    x = as_real_array(x_name, x)
    weight = as_real_array("weight", weight)
    check_rank(x_name, x, (3, 4), "(N, C, H, W) or (C, H, W)")
    check_rank("weight", weight, (4,), "(out_channels, in_channels/groups, kh, kw)")
    shape = x.shape  # as given, for the error messages
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    groups = check_int("groups", groups, 1)
    out_channels, cin_per_group, kh, kw = weight.shape
    in_channels = x.shape[1]
    if min(weight.shape) == 0 or min(x.shape[1:]) == 0:  # an empty batch (N = 0) is fine
        raise ValueError(f"{x_name} {shape} and weight {weight.shape} must not have empty axes")
    if in_channels % groups:
        raise ValueError(f"groups={groups} must divide the input channels of {x_name} {shape} ({in_channels})")
    if out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide the output channels of weight {weight.shape} ({out_channels})"
        )
    if cin_per_group * groups != in_channels:
        raise ValueError(
            f"weight {weight.shape} expects {cin_per_group} input channels per group, "
            f"{x_name} {shape} has {in_channels // groups} (groups={groups})"
        )
    dtype = x.dtype if x.dtype == weight.dtype else np.result_type(x.dtype, weight.dtype)
    if bias is not None:
        bias = as_real_array("bias", bias)
        if bias.shape != (out_channels,):
            raise ValueError(
                f"bias must have shape ({out_channels},) to match weight {weight.shape}, got {bias.shape}"
            )
        if bias.dtype != dtype:
            dtype = np.result_type(dtype, bias.dtype)
            bias = bias.astype(dtype)
    check_padding_mode(padding_mode)
    stride = pair("stride", stride)
    dilation = pair("dilation", dilation)
    pads = resolve_padding(padding, (kh, kw), stride, dilation)
    size = x.shape[2:]
    if padding_mode != "zeros":
        check_pads(pads, size, padding_mode)
    out_size = conv_output_size(size, (kh, kw), stride, padding, dilation)
    geometry = ConvGeometry(stride, pads, dilation, groups, padding_mode, out_size)
    return x.astype(dtype, copy=False), weight.astype(dtype, copy=False), bias, geometry, unbatched


def check_integer(name, value):
    """``value`` as an ``int`` (any sign); ``TypeError`` for non-integers and booleans."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def check_dout(dout, x, out_channels, geometry, unbatched):
    """``dout`` as an array shaped like the output of the convolution."""
    dout = as_real_array("dout", dout)
    expected = (x.shape[0], out_channels, *geometry.out_size)
    if unbatched:
        expected = expected[1:]
    if dout.shape != expected:
        raise ValueError(
            f"dout must have the output's shape {expected} for x {x.shape[unbatched:]}, got {dout.shape}"
        )
    return dout.reshape((x.shape[0], out_channels, *geometry.out_size)).astype(x.dtype, copy=False)

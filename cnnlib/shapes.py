"""Geometry of a sliding window: argument checking and output sizes.

Every function here works on plain Python integers, so sizes such as
10**12 never overflow or round.
"""

from numbers import Integral

__all__ = ["conv_output_size", "pair", "resolve_padding"]


def check_int(name, value, minimum):
    """Return ``value`` as an ``int`` after checking it is an integer >= minimum."""
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, Integral)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        rule = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {value}")
    return value


def pair(name, value, minimum=1):
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``; checks both entries are integers >= minimum."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return (check_int(f"{name}[0]", value[0], minimum), check_int(f"{name}[1]", value[1], minimum))
    v = check_int(name, value, minimum)
    return (v, v)


def resolve_padding(padding, kernel_size, stride=1, dilation=1):
    """Padding as ``((top, bottom), (left, right))``.

    ``padding`` is an int, a pair ``(ph, pw)`` (the same on both sides, as in
    ``torch.nn.functional.conv2d``), ``"valid"`` (no padding) or ``"same"``
    (output as large as the input; stride must be 1; an odd total padding puts
    the extra row/column at the bottom/right, like PyTorch).
    """
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride {(sh, sw)}")
            th, tw = dh * (kh - 1), dw * (kw - 1)
            return ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = pair("padding", padding, minimum=0)
    return ((ph, ph), (pw, pw))


def _output_length(axis, size, kernel, stride, pad_before, pad_after, dilation):
    span = dilation * (kernel - 1) + 1
    padded = size + pad_before + pad_after
    if span > padded:
        raise ValueError(
            f"kernel_size {kernel} with dilation {dilation} spans {span} pixels along the {axis}, "
            f"but the padded input is only {padded} (size {size} + padding {pad_before + pad_after})"
        )
    return (padded - span) // stride + 1


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of a convolution or pooling window, PyTorch's rule (``ceil_mode=False``).

    ``out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    ``size`` is an int (one axis) or a pair ``(height, width)``; the result has
    the same form. Raises ``ValueError`` when the kernel does not fit in the
    padded input.
    """
    one_axis = not isinstance(size, (tuple, list))
    h, w = pair("size", size)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    (pt, pb), (pl, pr) = resolve_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    oh = _output_length("height", h, kh, sh, pt, pb, dh)
    if one_axis:
        return oh
    return (oh, _output_length("width", w, kw, sw, pl, pr, dw))

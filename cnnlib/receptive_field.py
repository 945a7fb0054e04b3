"""Receptive fields of stacked sliding-window layers (convolution, pooling).

The *receptive field* of a unit is the set of input pixels that can change its
value. One layer with a ``k``-wide window reaches ``k`` pixels; every further
layer widens the reach by ``(k - 1)`` steps of the previous layers' combined
stride (the *jump*):

    size_0 = 1,  jump_0 = 1
    size_l = size_{l-1} + dilation_l * (kernel_l - 1) * jump_{l-1}
    jump_l = jump_{l-1} * stride_l

Three ways to get at the same set, which the tests compare:

* :func:`receptive_field` and :func:`receptive_field_span`: the closed-form
  recurrence above (size, jump, first and last pixel);
* :func:`receptive_field_mask`: the exact set, by following the windows back
  from the unit layer by layer (it knows about borders and dilation holes);
* :func:`gradient_receptive_field`: PyTorch autograd on a real stack of
  convolutions with all-one kernels; the gradient of the unit with respect to
  the input is the number of paths from each pixel to the unit, non-zero
  exactly on the receptive field.

A stack is described by ``kernel_sizes`` (a list, one entry per layer) and
``strides``, ``paddings``, ``dilations``: a list gives one entry per layer,
an int or a ``(height, width)`` tuple applies to every layer. Entries are
ints or ``(height, width)`` pairs. Sizes are pixels along one axis unless stated.
"""

import numpy as np

from cnnlib.shapes import check_int, conv_output_size, pair

__all__ = [
    "receptive_field",
    "receptive_field_span",
    "receptive_field_mask",
    "gradient_receptive_field",
    "layers_to_cover",
]


def _per_layer(name, value, n_layers):
    """One ``(h, w)`` pair per layer: a list gives one entry per layer; an int
    or a ``(h, w)`` tuple applies to every layer."""
    minimum = 0 if name == "paddings" else 1
    if isinstance(value, list):
        if len(value) != n_layers:
            raise ValueError(f"{name} has {len(value)} entries but there are {n_layers} layers")
        return [pair(f"{name}[{i}]", v, minimum) for i, v in enumerate(value)]
    return [pair(name, value, minimum)] * n_layers


def _stack(kernel_sizes, strides=1, paddings=0, dilations=1):
    """Normalise a stack description to a list of ``(kernel, stride, padding, dilation)`` pairs."""
    if not isinstance(kernel_sizes, (list, tuple)):
        raise TypeError(
            f"kernel_sizes must be a list with one kernel size per layer, e.g. [3, 3], got {kernel_sizes!r}"
        )
    if len(kernel_sizes) == 0:
        raise ValueError("kernel_sizes must name at least one layer")
    n = len(kernel_sizes)
    kernels = [pair(f"kernel_sizes[{i}]", k) for i, k in enumerate(kernel_sizes)]
    return list(
        zip(
            kernels,
            _per_layer("strides", strides, n),
            _per_layer("paddings", paddings, n),
            _per_layer("dilations", dilations, n),
        )
    )


def _is_pairwise(kernel_sizes, *values):
    """True when any size is given as a ``(h, w)`` pair: results are then pairs too."""
    if any(isinstance(k, (list, tuple)) for k in kernel_sizes):
        return True
    for v in values:
        if isinstance(v, tuple) or (isinstance(v, list) and any(isinstance(e, (list, tuple)) for e in v)):
            return True
    return False


def _axis(stack, a):
    return [(k[a], s[a], p[a], d[a]) for k, s, p, d in stack]


def _size_jump(layers):
    size, jump = 1, 1
    for k, s, _, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size, jump


def receptive_field(kernel_sizes, strides=1, dilations=1):
    """Size of the receptive field of one unit after a stack of layers, and the jump.

    ``kernel_sizes``: one kernel size per layer (int or ``(kh, kw)``);
    ``strides``, ``dilations``: one value for all layers or one per layer.

    Returns ``(size, jump)``: ``size`` is the width of the window of input
    pixels a unit of the last layer reaches (its span; with dilation the
    window has holes), ``jump`` the distance in input pixels between two
    neighbouring units of the last layer. Both are ints, or ``(h, w)`` pairs
    when any argument is a pair.

    >>> receptive_field([3, 3, 3])
    (7, 1)
    >>> receptive_field([3, 3], strides=[2, 1])
    (7, 2)
    """
    stack = _stack(kernel_sizes, strides, 0, dilations)
    (sh, jh), (sw, jw) = _size_jump(_axis(stack, 0)), _size_jump(_axis(stack, 1))
    if _is_pairwise(kernel_sizes, strides, dilations):
        return (sh, sw), (jh, jw)
    return sh, jh


def _span_1d(index, layers):
    start, stop = index, index + 1  # half-open interval of units, last layer
    for k, s, p, d in reversed(layers):
        start, stop = start * s - p, (stop - 1) * s - p + d * (k - 1) + 1
    return start, stop


def receptive_field_span(index, kernel_sizes, strides=1, paddings=0, dilations=1):
    """First and last-plus-one input pixel that unit ``index`` of the last layer reaches.

    ``index`` is an int (one axis) or ``(i, j)``. Returns ``(start, stop)``
    (half-open, ``stop - start`` is the size of :func:`receptive_field`), or
    ``((top, bottom), (left, right))`` for a 2-D index. Positions are in the
    coordinates of the unpadded input, so padding can make ``start`` negative
    or ``stop`` larger than the input: those pixels are zeros of the padding.
    """
    stack = _stack(kernel_sizes, strides, paddings, dilations)
    if isinstance(index, (list, tuple)):
        i, j = (check_int("index[0]", index[0], 0), check_int("index[1]", index[1], 0))
        return _span_1d(i, _axis(stack, 0)), _span_1d(j, _axis(stack, 1))
    return _span_1d(check_int("index", index, 0), _axis(stack, 0))


def _layer_sizes(n, layers):
    sizes = [n]
    for k, s, p, d in layers:
        sizes.append(conv_output_size(sizes[-1], k, s, p, d))
    return sizes


def _mask_1d(n, index, layers, axis):
    sizes = _layer_sizes(n, layers)
    if index >= sizes[-1]:
        raise ValueError(
            f"unit index {index} is outside the last layer along the {axis} "
            f"(input {n} gives layer sizes {sizes})"
        )
    reached = np.zeros(sizes[-1], dtype=bool)
    reached[index] = True
    for (k, s, p, d), below in zip(reversed(layers), reversed(sizes[:-1])):
        prev = np.zeros(below, dtype=bool)
        for unit in np.flatnonzero(reached):
            taps = unit * s - p + d * np.arange(k)
            prev[taps[(taps >= 0) & (taps < below)]] = True  # taps in the padding read zeros
        reached = prev
    return reached


def receptive_field_mask(input_size, index, kernel_sizes, strides=1, paddings=0, dilations=1):
    """The exact receptive field of unit ``index`` as a boolean mask over the input.

    ``input_size``: ``(H, W)`` (or an int for a 1-D input); ``index``: ``(i, j)``
    (or an int) in the output of the last layer. Returns a ``bool`` array of
    shape ``(H, W)`` (or ``(H,)``), True on every pixel the unit depends on.
    The windows are followed back layer by layer, so borders (padding reads
    zeros, not pixels) and the holes of dilated kernels are exact.
    """
    stack = _stack(kernel_sizes, strides, paddings, dilations)
    if isinstance(input_size, (list, tuple)):
        h, w = pair("input_size", input_size)
        if not isinstance(index, (list, tuple)) or len(index) != 2:
            raise ValueError(f"a 2-D input_size {input_size} needs a 2-D index (i, j), got {index!r}")
        i, j = check_int("index[0]", index[0], 0), check_int("index[1]", index[1], 0)
        rows = _mask_1d(h, i, _axis(stack, 0), "height")
        cols = _mask_1d(w, j, _axis(stack, 1), "width")
        return rows[:, None] & cols[None, :]
    n = check_int("input_size", input_size, 1)
    return _mask_1d(n, check_int("index", index, 0), _axis(stack, 0), "length")


def gradient_receptive_field(input_size, index, kernel_sizes, strides=1, paddings=0, dilations=1):
    """Autograd oracle: gradient of one unit of a conv stack with respect to the input.

    Builds the stack as ``torch.nn.functional.conv2d`` layers with all-one
    kernels (one channel, no bias, no nonlinearity, float64), runs an input of
    shape ``input_size = (H, W)`` through it, and back-propagates from unit
    ``index = (i, j)`` of the last layer. Returns the gradient as an
    ``(H, W)`` NumPy array: entry ``[r, c]`` counts the paths from pixel
    ``(r, c)`` to the unit, so it is positive exactly on the receptive field
    and zero elsewhere.
    """
    import torch
    import torch.nn.functional as F

    stack = _stack(kernel_sizes, strides, paddings, dilations)
    h, w = pair("input_size", input_size)
    if not isinstance(index, (list, tuple)) or len(index) != 2:
        raise ValueError(f"index must be a pair (i, j), got {index!r}")
    x = torch.zeros(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, p, d in stack:
        y = F.conv2d(y, torch.ones(1, 1, *k, dtype=torch.float64), stride=s, padding=p, dilation=d)
    i, j = check_int("index[0]", index[0], 0), check_int("index[1]", index[1], 0)
    if i >= y.shape[2] or j >= y.shape[3]:
        raise ValueError(f"unit index {(i, j)} is outside the last layer's output {tuple(y.shape[2:])}")
    y[0, 0, i, j].backward()
    return x.grad[0, 0].numpy()


def layers_to_cover(size, kernel_size, stride=1):
    """How many identical layers (``kernel_size``, ``stride``) it takes before
    one unit's receptive field spans ``size`` pixels (one axis)."""
    size = check_int("size", size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    if k == 1 and size > 1:
        raise ValueError("1-wide kernels never grow the receptive field")
    layers, reach, jump = 0, 1, 1
    while reach < size:
        reach += (k - 1) * jump
        jump *= s
        layers += 1
    return layers

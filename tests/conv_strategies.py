"""Hypothesis strategies and PyTorch oracles shared by the convolution tests.

Shapes are tiny (a few pixels, one or two channels per group) so that
hundreds of examples per property run in seconds; the numbers are drawn by
NumPy from a seed that hypothesis draws (fast, and still shrinkable).
Sizes are constructed so that every drawn case is valid: no ``assume``.
"""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from cnnlib.shapes import pair, resolve_padding

MODES = ("zeros", "circular", "reflect", "replicate")

# Tiny tensors: PyTorch's thread pool only adds overhead (a lot of it on a busy machine).
torch.set_num_threads(1)

ints_or_pairs = lambda lo, hi: st.one_of(  # noqa: E731
    st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi))
)


def min_size(span, before, after, mode):
    """Smallest input length for which a window of ``span`` fits and PyTorch accepts the padding."""
    m = max(1, span - before - after)
    if mode == "reflect":
        m = max(m, before + 1, after + 1)
    if mode == "circular":
        m = max(m, before, after)
    return m


@st.composite
def conv_cases(draw, modes=MODES, max_batch=2, extra=3, paddings=None):
    """``(x, weight, bias, kwargs)``: a random valid float64 convolution.

    ``kwargs`` holds stride, padding (int, pair, "same" or "valid"),
    dilation, groups and padding_mode, ready for ``cnnlib.conv2d``.
    ``paddings`` is a strategy for the padding (default: any of those forms).
    """
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    n = draw(st.integers(1, max_batch))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = draw(ints_or_pairs(1, 2))
    if paddings is None:
        paddings = st.one_of(st.sampled_from(["same", "valid"]), ints_or_pairs(0, 2))
    padding = draw(paddings)
    stride = 1 if padding == "same" else draw(ints_or_pairs(1, 3))
    mode = draw(st.sampled_from(modes))
    (top, bottom), (left, right) = resolve_padding(padding, (kh, kw), stride, dilation)
    dh, dw = pair("dilation", dilation)
    h0 = min_size(dh * (kh - 1) + 1, top, bottom, mode)
    w0 = min_size(dw * (kw - 1) + 1, left, right, mode)
    h = draw(st.integers(h0, h0 + extra))
    w = draw(st.integers(w0, w0 + extra))
    use_bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c_in, h, w))
    weight = rng.standard_normal((c_out, c_in // groups, kh, kw))
    bias = rng.standard_normal(c_out) if use_bias else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    return x, weight, bias, kwargs


def torch_conv(x, weight, bias, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """The oracle: ``nn.Conv2d`` with these weights, applied to ``x`` (float64, with autograd).

    Returns ``(y, x_tensor, conv)``; after ``y.backward(g)`` the gradients are
    ``x_tensor.grad``, ``conv.weight.grad`` and ``conv.bias.grad``.
    """
    c_out, c_g, kh, kw = weight.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'same' with even kernels: a padded copy
        conv = torch.nn.Conv2d(
            c_g * groups, c_out, (kh, kw), stride, padding, dilation, groups,
            bias is not None, padding_mode, dtype=torch.float64,
        )
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weight))
            if bias is not None:
                conv.bias.copy_(torch.from_numpy(bias))
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        return conv(xt), xt, conv


def torch_pad(x, pads, mode):
    """``F.pad`` with ``pads = ((top, bottom), (left, right))`` and cnnlib's mode names."""
    (top, bottom), (left, right) = pads
    mode = "constant" if mode == "zeros" else mode
    return F.pad(x, (left, right, top, bottom), mode=mode)

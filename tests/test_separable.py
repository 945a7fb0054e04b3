"""Depthwise-separable convolutions: cnnlib.counting's formulas against real torch modules
(parameters stored, FLOPs measured by FlopCounterMode), a brute-force loop over channels
against nn.Conv2d(groups=C), and the ratio 1/C_out + 1/F² derived by hand."""

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import counting


def separable(c_in, c_out, k, stride=1, padding=0, dilation=1, bias=True):
    return nn.Sequential(nn.Conv2d(c_in, c_in, k, stride, padding, dilation, groups=c_in, bias=bias),
                         nn.Conv2d(c_in, c_out, 1, bias=bias))


def stored(module):
    return sum(p.numel() for p in module.parameters())


def measured_macs(module, x):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 2), st.integers(1, 2), st.booleans(), st.integers(1, 2))
def test_formulas_match_real_modules(c_in, c_out, kh, kw, stride, padding, dilation, bias, batch):
    h = max(dilation * (kh - 1) + 1 - 2 * padding, 1) + 3
    w = max(dilation * (kw - 1) + 1 - 2 * padding, 1) + 2
    module = separable(c_in, c_out, (kh, kw), stride, padding, dilation, bias)
    assert counting.depthwise_separable_conv2d_params(c_in, c_out, (kh, kw), bias=bias) == stored(module)
    x = torch.zeros(batch, c_in, h, w)
    assert counting.depthwise_separable_conv2d_macs((h, w), c_in, c_out, (kh, kw), stride, padding, dilation,
                                                    batch=batch) == measured_macs(module, x)


@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 7))
def test_the_ratio_to_a_standard_convolution_is_one_over_c_out_plus_one_over_f_squared(c_in, c_out, f):
    sep = counting.depthwise_separable_conv2d_params(c_in, c_out, f, bias=False)
    std = counting.conv2d_params(c_in, c_out, f, bias=False)
    assert Fraction(sep, std) == Fraction(1, c_out) + Fraction(1, f * f)
    side = f + 5
    sep_macs = counting.depthwise_separable_conv2d_macs(side, c_in, c_out, f, padding=f // 2)
    std_macs = counting.conv2d_macs(side, c_in, c_out, f, padding=f // 2)
    assert Fraction(sep_macs, std_macs) == Fraction(1, c_out) + Fraction(1, f * f)


def test_a_hand_counted_case():
    # 40 channels, 3×3, 120 out: 9·40 depthwise weights + 40·120 pointwise weights, + 40 + 120 biases
    assert counting.depthwise_separable_conv2d_params(40, 120, 3, bias=False) == 360 + 4800
    assert counting.depthwise_separable_conv2d_params(40, 120, 3) == 360 + 4800 + 40 + 120
    # on 30×30 with no padding: 28·28 positions, each 360 + 4800 multiply-adds
    assert counting.depthwise_separable_conv2d_macs(30, 40, 120, 3) == 28 * 28 * (360 + 4800)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(3, 7), st.integers(3, 7), st.integers(0, 2**16))
def test_the_depthwise_step_filters_each_channel_with_its_own_kernel(channels, f, h, w, seed):
    """nn.Conv2d(groups=C) against a brute-force loop over channels and positions."""
    if f > min(h, w):
        return
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((channels, h, w)), rng.standard_normal((channels, f, f))
    brute = np.zeros((channels, h - f + 1, w - f + 1))
    for c in range(channels):
        for i in range(h - f + 1):
            for j in range(w - f + 1):
                brute[c, i, j] = sum(k[c, a, b] * x[c, i + a, j + b] for a in range(f) for b in range(f))
    conv = nn.Conv2d(channels, channels, f, groups=channels, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(k)[:, None])
        out = conv(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(out, brute, atol=1e-12)


def test_bad_groups_are_refused():
    with pytest.raises(ValueError):
        counting.depthwise_separable_conv2d_params(0, 3, 3)
    with pytest.raises(ValueError):
        counting.depthwise_separable_conv2d_macs(2, 3, 4, 5)   # a 5×5 kernel does not fit in 2×2


def test_the_matrix_figure_shows_the_1x1_convolution():
    """The figure's output panel is torch's 1×1 convolution, its columns the pixels in row order."""
    import matplotlib
    matplotlib.use("Agg")
    from cnnlib.figures.inception import plot_one_by_one_as_matrix

    rng = np.random.default_rng(3)
    weight, x = rng.standard_normal((3, 4)), rng.standard_normal((4, 2, 5))
    fig = plot_one_by_one_as_matrix(weight, x)
    shown = [ax.get_images()[0].get_array() for ax in fig.axes[:3]]
    out = torch.nn.functional.conv2d(torch.from_numpy(x[None]), torch.from_numpy(weight[:, :, None, None]))[0]
    np.testing.assert_allclose(shown[0], weight)
    np.testing.assert_allclose(shown[1][:, 6], x[:, 1, 1])          # pixel (1, 1) is column 1·5 + 1
    np.testing.assert_allclose(shown[2], out.reshape(3, 10).numpy(), atol=1e-12)
    with pytest.raises(ValueError):
        plot_one_by_one_as_matrix(weight, x[:3])

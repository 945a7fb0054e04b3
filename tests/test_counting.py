"""cnnlib.counting against real torch modules (the oracle) and hand-derived cases."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import conv_output_size, counting


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def measured_flops(module, x):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    # an input large enough for the (dilated) kernel to fit
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    batch = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return dict(c_in=c_in, c_out=c_out, k=(kh, kw), s=(sh, sw), d=(dh, dw), p=(ph, pw),
                hw=(h, w), groups=groups, batch=batch, bias=bias)


@given(conv_configs())
def test_conv2d_counts_match_torch(cfg):
    conv = torch.nn.Conv2d(cfg["c_in"], cfg["c_out"], cfg["k"], stride=cfg["s"],
                           padding=cfg["p"], dilation=cfg["d"], groups=cfg["groups"],
                           bias=cfg["bias"])
    x = torch.zeros(cfg["batch"], cfg["c_in"], *cfg["hw"])
    assert counting.conv2d_params(cfg["c_in"], cfg["c_out"], cfg["k"], bias=cfg["bias"],
                                  groups=cfg["groups"]) == n_params(conv)
    macs = counting.conv2d_macs(cfg["hw"], cfg["c_in"], cfg["c_out"], cfg["k"], cfg["s"],
                                cfg["p"], cfg["d"], cfg["groups"], batch=cfg["batch"])
    assert 2 * macs == measured_flops(conv, x)
    # the output size formula agrees with the shape torch produces
    assert conv_output_size(cfg["hw"], cfg["k"], cfg["s"], cfg["p"], cfg["d"]) == tuple(conv(x).shape[-2:])


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 3), st.booleans())
def test_fully_connected_counts_match_torch(n_in, n_out, batch, bias):
    linear = torch.nn.Linear(n_in, n_out, bias=bias)
    assert counting.fully_connected_params(n_in, n_out, bias=bias) == n_params(linear)
    x = torch.zeros(batch, n_in)
    assert 2 * counting.fully_connected_macs(n_in, n_out, batch=batch) == measured_flops(linear, x)


@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 1), st.integers(4, 10), st.integers(1, 3))
def test_pooling_has_no_parameters_and_torch_output_size(k, s, p, side, c):
    p = min(p, k // 2)  # torch requires padding <= kernel_size / 2
    for pool in (torch.nn.MaxPool2d(k, s, p), torch.nn.AvgPool2d(k, s, p)):
        assert counting.module_params(pool) == n_params(pool) == 0
        out = pool(torch.zeros(1, c, side, side))
        oh, ow = out.shape[-2:]
        assert counting.pool2d_ops(side, c, k, s, p) == c * oh * ow * (k * k - 1)


def test_same_padding_keeps_size_like_torch():
    for k in range(1, 6):
        for d in (1, 2):
            conv = torch.nn.Conv2d(1, 1, k, padding="same", dilation=d)
            out = conv(torch.zeros(1, 1, 11, 12))
            assert tuple(out.shape[-2:]) == conv_output_size((11, 12), k, 1, "same", d) == (11, 12)


def test_large_counts_are_exact_python_integers():
    # 1000x1000 image to 10**6 hidden units: 10**6 * 10**6 weights, derived by hand
    full = counting.fully_connected_params(1000 * 1000, 10**6, bias=False)
    assert full == 10**12 and isinstance(full, int)
    # counts far beyond 2**63 stay exact
    huge = counting.fully_connected_params(10**12, 10**12, bias=False)
    assert huge == 10**24
    assert counting.conv2d_macs(100_000, 64, 64, 3, padding=1) == 100_000**2 * 64 * 64 * 9


def test_locally_connected_and_channel_shared_counts_by_hand():
    # 32x32x3 input, 3x3x3 kernel, no padding: 30x30 positions of 27 weights (+1 bias each)
    assert counting.locally_connected2d_params(32, 3, 1, 3, bias=False) == 30 * 30 * 27
    assert counting.locally_connected2d_params(32, 3, 1, 3) == 30 * 30 * 28
    # sharing saves storage, not arithmetic
    assert counting.locally_connected2d_macs(32, 3, 1, 3) == counting.conv2d_macs(32, 3, 1, 3)
    # one 3x3 kernel per output map, whatever the number of input channels
    assert counting.channel_shared_conv2d_params(120, 3, bias=False) == 3 * 3 * 120


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: counting.conv2d_params(4, 6, 3, groups=3), ValueError, "groups=3 must divide"),
        (lambda: counting.conv2d_params(0, 6, 3), ValueError, "in_channels must be positive"),
        (lambda: counting.conv2d_params(3, 6, 2.5), TypeError, "kernel_size must be an integer"),
        (lambda: counting.fully_connected_params(True, 3), TypeError, "in_features"),
        (lambda: counting.conv2d_macs(4, 1, 1, 5), ValueError, "kernel_size 5 .* padded input is only 4"),
        (lambda: counting.conv2d_macs(4, 1, 1, 3, stride=0), ValueError, "stride must be positive"),
        (lambda: counting.conv2d_macs(4, 1, 1, 3, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: counting.conv2d_macs(4, 1, 1, 3, stride=2, padding="same"), ValueError, "needs stride 1"),
        (lambda: counting.conv2d_macs(4, 1, 1, 3, padding="full"), ValueError, "padding must be"),
        (lambda: conv_output_size((4, 4, 4), 3), ValueError, "pair"),
    ],
)
def test_bad_arguments_get_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- real modules: module_params, module_macs, module_macs_by_layer --------------------------

def test_module_macs_of_a_linear_layer_and_per_layer():
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(5, 3)))
    assert counting.module_macs(model, (4, 7)) == 4 * (7 * 5 + 5 * 3)
    per = counting.module_macs_by_layer(model, (4, 7))
    assert per[""] == 4 * (7 * 5 + 5 * 3) and per["0"] == 4 * 7 * 5 and per["2.0"] == 4 * 5 * 3
    assert "1" not in per  # ReLU does no multiply-adds


def test_module_params_with_and_without_biases_and_frozen():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Sequential(torch.nn.Linear(5, 2)))
    assert counting.module_params(model) == 4 * 27 + 4 + 5 * 2 + 2
    assert counting.module_params(model, bias=False) == 4 * 27 + 5 * 2
    model[0].weight.requires_grad_(False)  # frozen parameters are parameters too
    assert counting.module_params(model) == 4 * 27 + 4 + 5 * 2 + 2
    with torch.device("meta"):
        huge = torch.nn.Linear(10**4, 10**4)
    assert counting.module_params(huge) == 10**8 + 10**4


def test_module_counts_reject_what_is_not_a_module():
    with pytest.raises(TypeError, match="module"):
        counting.module_params([1, 2])
    with pytest.raises(TypeError, match="x must be"):
        counting.module_macs(torch.nn.Linear(2, 2), "image")

"""LocallyConnected2d and ChannelSharedConv2d: parameter counts, equivalences, gradients."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import ChannelSharedConv2d, LocallyConnected2d, counting
from conv_strategies import ints_or_pairs

# nn.Conv2d(padding="same") with an even kernel warns that it pads a copy: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@st.composite
def geometries(draw):
    """Constructor arguments of a layer whose kernel fits, plus an input size."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = draw(ints_or_pairs(1, 2))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]), ints_or_pairs(0, 2)))
    stride = 1 if padding == "same" else draw(ints_or_pairs(1, 2))
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    size = tuple(draw(st.integers(d[a] * (k[a] - 1) + 1, d[a] * (k[a] - 1) + 4)) for a in range(2))
    return dict(
        in_channels=draw(st.integers(1, 3)),
        out_channels=draw(st.integers(1, 3)),
        kernel_size=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=draw(st.booleans()),
    ), size


@given(geometries())
def test_parameter_counts_match_counting(geometry):
    args, size = geometry
    lc = LocallyConnected2d(input_size=size, **args)
    assert n_params(lc) == counting.locally_connected2d_params(size, **args)
    shared = {k: args[k] for k in ("out_channels", "kernel_size", "bias")}
    cs = ChannelSharedConv2d(**args)
    assert n_params(cs) == counting.channel_shared_conv2d_params(**shared)
    assert cs.weight.shape == (args["out_channels"], 1, *args["kernel_size"])


@given(geometries(), st.integers(0, 2**32 - 1))
def test_locally_connected_with_tied_weights_is_the_convolution(geometry, seed):
    args, size = geometry
    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(**args, dtype=torch.float64)
    lc = LocallyConnected2d.from_conv(conv, size)
    x = torch.randn(2, args["in_channels"], *size, dtype=torch.float64)
    y_conv, y_lc = conv(x), lc(x)
    assert y_lc.shape == y_conv.shape
    torch.testing.assert_close(y_lc, y_conv, rtol=1e-10, atol=1e-10)

    # The gradient of the shared kernel is the sum of the per-position gradients.
    g = torch.randn_like(y_conv)
    y_conv.backward(g)
    y_lc.backward(g)
    torch.testing.assert_close(lc.weight.grad.sum(dim=(0, 1)), conv.weight.grad, rtol=1e-10, atol=1e-10)
    if conv.bias is not None:
        torch.testing.assert_close(lc.bias.grad.sum(dim=(0, 1)), conv.bias.grad, rtol=1e-10, atol=1e-10)


@given(geometries(), st.integers(0, 2**32 - 1))
def test_locally_connected_formula(geometry, seed):
    """y[n, o, i, j] = bias[i, j, o] + sum weight[i, j, o, c, u, v] * x_pad[n, c, i*sh + u*dh, j*sw + v*dw]."""
    args, size = geometry
    torch.manual_seed(seed)
    lc = LocallyConnected2d(input_size=size, **args, dtype=torch.float64)
    x = torch.randn(1, args["in_channels"], *size, dtype=torch.float64)
    y = lc(x).detach().numpy()
    (top, bottom), (left, right) = lc.pads
    xp = np.pad(x.numpy()[0], ((0, 0), (top, bottom), (left, right)))
    weight = lc.weight.detach().numpy()
    bias = None if lc.bias is None else lc.bias.detach().numpy()
    (sh, sw), (dh, dw), (kh, kw) = lc.stride, lc.dilation, lc.kernel_size
    expected = np.zeros_like(y[0])
    for i, j in np.ndindex(*lc.output_size):
        window = xp[:, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
        expected[:, i, j] = (weight[i, j] * window).sum(axis=(1, 2, 3))  # one kernel bank per position
        if bias is not None:
            expected[:, i, j] += bias[i, j]
    np.testing.assert_allclose(y[0], expected, rtol=1e-10, atol=1e-10)


def test_locally_connected_positions_are_independent():
    """Changing the kernel at one position changes the output at that position only."""
    torch.manual_seed(0)
    lc = LocallyConnected2d(2, 3, 3, input_size=(6, 6), padding=1)
    x = torch.randn(1, 2, 6, 6)
    before = lc(x).detach()
    with torch.no_grad():
        lc.weight[2, 4] += 1.0
    changed = (lc(x).detach() != before).any(dim=1)[0]
    assert changed[2, 4] and changed.sum() == 1


def test_locally_connected_unbatched_and_repr():
    lc = LocallyConnected2d(1, 4, (5, 5), input_size=28)
    x = torch.randn(1, 28, 28)
    assert lc(x).shape == (4, 24, 24)
    assert "output_size=(24, 24)" in repr(lc)


def test_init_bounds_like_conv():
    lc = LocallyConnected2d(3, 8, 3, input_size=(10, 10))
    cs = ChannelSharedConv2d(3, 8, 3)
    bound = 1 / math.sqrt(3 * 3 * 3)
    for p in (lc.weight, lc.bias, cs.weight, cs.bias):
        assert p.abs().max() <= bound
        assert p.abs().max() > 0.5 * bound  # not all tiny


def test_locally_connected_trains():
    """A few SGD steps on 28x28 inputs lower the loss (and run quickly on a CPU)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        LocallyConnected2d(1, 8, 5, input_size=28, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 12 * 12, 10),
    )
    x, labels = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@given(geometries(), st.integers(0, 2**32 - 1))
def test_channel_shared_sees_only_the_channel_sum(geometry, seed):
    args, size = geometry
    torch.manual_seed(seed)
    cs = ChannelSharedConv2d(**args, dtype=torch.float64)
    x = torch.randn(2, args["in_channels"], *size, dtype=torch.float64)
    y = cs(x)
    # the same as nn.Conv2d with the kernel copied to every input channel
    torch.testing.assert_close(y, cs.to_conv2d()(x), rtol=1e-10, atol=1e-10)
    # and as a one-channel convolution of the channel sum
    one = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x.sum(1, keepdim=True), (cs.pads[1][0], cs.pads[1][1], cs.pads[0][0], cs.pads[0][1])),
        cs.weight, cs.bias, cs.stride, 0, cs.dilation,
    )
    torch.testing.assert_close(y, one, rtol=1e-10, atol=1e-10)
    # moving signal between channels (same sum) changes nothing
    moved = x.clone()
    moved[:, 0] = x.sum(1)
    moved[:, 1:] = 0
    torch.testing.assert_close(cs(moved), y, rtol=1e-10, atol=1e-10)


def test_layer_input_checks():
    lc = LocallyConnected2d(2, 3, 3, input_size=(8, 8))
    with pytest.raises(ValueError, match=r"built for input_size \(8, 8\), x \(1, 2, 9, 8\) has \(9, 8\)"):
        lc(torch.randn(1, 2, 9, 8))
    with pytest.raises(ValueError, match=r"expects 2 input channels, x \(1, 3, 8, 8\) has 3"):
        lc(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\) or \(C, H, W\), got \(8, 8\)"):
        lc(torch.randn(8, 8))
    with pytest.raises(TypeError, match="expects a torch.Tensor"):
        lc(np.zeros((1, 2, 8, 8)))
    with pytest.raises(ValueError, match="kernel_size 5 .* spans 5 pixels .* padded input is only 4"):
        LocallyConnected2d(1, 1, 5, input_size=4)
    with pytest.raises(ValueError, match="in_channels must be positive"):
        LocallyConnected2d(0, 1, 3, input_size=4)
    with pytest.raises(ValueError, match="groups=2"):
        LocallyConnected2d.from_conv(torch.nn.Conv2d(2, 2, 3, groups=2), 8)
    with pytest.raises(ValueError, match="padding_mode='zeros'"):
        LocallyConnected2d.from_conv(torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), 8)
    with pytest.raises(TypeError, match="nn.Conv2d"):
        LocallyConnected2d.from_conv(torch.nn.Linear(2, 2), 8)
    cs = ChannelSharedConv2d(3, 2, 3)
    with pytest.raises(ValueError, match=r"expects 3 input channels, x \(1, 2, 8, 8\) has 2"):
        cs(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match="kernel_size 3 .* padded input is only 2"):
        cs(torch.randn(1, 3, 2, 8))

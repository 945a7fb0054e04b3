"""Experiments of chapters 1 and 2 (cnnlib.sharing, cnnlib.locality) against
PyTorch, brute force and hand-derived cases."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlib import ChannelSharedConv2d, LocallyConnected2d, counting, locality, sharing
from cnnlib.shapes import conv_output_size

# --- chapter 1: counts ----------------------------------------------------------


def test_full_and_local_counts_of_the_sources():
    assert locality.full_image_params(1000, 1000) == 10**12
    assert locality.local_image_params(1000, 10) == 10**8
    assert locality.full_image_params(32, 1) == 1024
    assert locality.full_image_params(32, (1, 1000)) == 1_024_000
    assert locality.full_image_params((360, 640), 1) == 230_400


@pytest.mark.parametrize("side, out", [(4, 3), (8, 1), ((5, 7), (2, 3))])
def test_full_counts_equal_nn_linear(side, out):
    h, w = (side, side) if isinstance(side, int) else side
    oh, ow = (out, out) if isinstance(out, int) else out
    for bias in (False, True):
        layer = nn.Linear(h * w, oh * ow, bias=bias)
        assert counting.module_params(layer) == locality.full_image_params(side, out, bias=bias)


@pytest.mark.parametrize("side, window", [(6, 3), (8, 4), (10, 10), ((6, 9), 5)])
def test_local_counts_equal_locally_connected2d(side, window):
    size = (side, side) if isinstance(side, int) else side
    for bias in (False, True):
        layer = LocallyConnected2d(1, 1, window, size, padding="same", bias=bias)
        assert layer.output_size == size  # one unit per pixel
        assert counting.module_params(layer) == locality.local_image_params(side, window, bias=bias)


@given(st.integers(1, 10**30))
def test_magnitude(n):
    m = locality.magnitude(n)
    assert 10**m <= n < 10 ** (m + 1)
    if n < 10**15:
        assert m == math.floor(math.log10(n))


def test_count_ranges_brute_force():
    ranges = locality.count_ranges(3, 6, 2, 4)
    full = [locality.full_image_params((h, w)) for h in range(3, 7) for w in range(3, 7)]
    local = [locality.local_image_params((h, w), f) for h in range(3, 7) for w in range(3, 7) for f in (2, 3, 4)]
    assert ranges.full == (min(full), max(full))
    assert ranges.local == (min(local), max(local))


@pytest.mark.parametrize("low, high, window, kind", [(10**5, 10**6, 10, "local"), (10**5, 10**6, 3, "local"),
                                                     (10**8, 10**12, 1, "full"), (50, 60, 3, "local")])
def test_sides_in_range_brute_force(low, high, window, kind):
    def count(s):
        return locality.local_image_params(s, window) if kind == "local" else locality.full_image_params(s)

    inside = [s for s in range(1, 1200) if low <= count(s) <= high]
    found = locality.sides_in_range(low, high, window, kind)
    assert found == ((inside[0], inside[-1]) if inside else None)


# --- chapter 2: the worked example and the window's pixels ------------------------


def test_source002_example_hand_derived_and_torch():
    example = sharing.source002_example()
    # by hand: 1*1 + 1*0 + 1*1 + 0*0 + 1*1 + 1*0 + 0*1 + 0*0 + 1*1 = 4, and so on
    np.testing.assert_array_equal(example.output, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    expected = F.conv2d(torch.tensor(example.image)[None, None], torch.tensor(example.kernel)[None, None])
    np.testing.assert_array_equal(example.output, expected[0, 0].numpy())


def test_window_pixel_indices_hand_derived():
    # source 002: a 2x2 window on an image 4 pixels wide reads pixels 0, 1, 4, 5 first
    np.testing.assert_array_equal(sharing.window_pixel_indices((4, 4), 2), [[0, 1], [4, 5]])
    np.testing.assert_array_equal(sharing.window_pixel_indices((4, 4), 3, padding=1),
                                  [[-1, -1, -1], [-1, 0, 1], [-1, 4, 5]])
    with pytest.raises(ValueError, match="outside"):
        sharing.window_pixel_indices((4, 4), 3, position=(2, 0))


@given(st.integers(2, 8), st.integers(2, 8), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.data())
def test_window_pixel_indices_against_torch_unfold(h, w, k, s, p, data):
    try:
        ho, wo = conv_output_size((h, w), k, s, p)
    except ValueError:
        return
    i, j = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    numbers = torch.arange(1, h * w + 1, dtype=torch.float64).reshape(1, 1, h, w)
    cols = F.unfold(numbers, k, padding=p, stride=s)  # (1, k*k, L)
    expected = cols[0, :, i * wo + j].reshape(k, k).numpy().astype(int) - 1
    np.testing.assert_array_equal(sharing.window_pixel_indices((h, w), k, (i, j), s, p), expected)


@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 5), st.integers(0, 3))
def test_window_coverage_against_torch_unfold(n, k, s, p):
    try:
        conv_output_size(n, k, s, p)
    except ValueError:
        return
    numbers = torch.arange(1, n + 1, dtype=torch.float64).reshape(1, 1, 1, n)
    cols = F.unfold(numbers, (1, k), padding=(0, p), stride=(1, s)).int().numpy().ravel()
    expected = np.bincount(cols[cols > 0] - 1, minlength=n)
    np.testing.assert_array_equal(sharing.window_coverage(n, k, s, p), expected)


def test_window_coverage_of_source004_stride8():
    coverage = sharing.window_coverage(1000, 10, 8)
    assert coverage.max() == 2  # neighbouring windows share 10 - 8 = 2 pixels
    assert np.flatnonzero(coverage == 0).tolist() == list(range(994, 1000))


# --- least squares and the channel-shared variant -----------------------------------


def test_fit_recovers_a_torch_convolution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 11))
    weight = rng.normal(size=(1, 3, 3, 3))
    y = F.conv2d(torch.tensor(x)[None], torch.tensor(weight), torch.tensor([0.7], dtype=torch.float64))[0, 0].numpy()
    fit = sharing.fit_conv_least_squares(x, y, 3)
    np.testing.assert_allclose(fit.weight, weight, atol=1e-10)
    assert abs(fit.bias - 0.7) < 1e-10 and fit.relative_residual < 1e-10


def test_fit_recovers_a_channel_shared_convolution():
    torch.manual_seed(0)
    layer = ChannelSharedConv2d(3, 1, 3, dtype=torch.float64)
    x = np.random.default_rng(1).normal(size=(3, 10, 10))
    with torch.no_grad():
        y = layer(torch.tensor(x)[None])[0, 0].numpy()
    fit = sharing.fit_conv_least_squares(x, y, 3, channel_shared=True)
    np.testing.assert_allclose(fit.weight, layer.weight.detach().numpy(), atol=1e-10)
    assert fit.relative_residual < 1e-10
    with pytest.raises(ValueError, match="valid output shape"):
        sharing.fit_conv_least_squares(x, y[1:], 3)


def test_channel_difference_experiment():
    image = np.random.default_rng(2).uniform(size=(3, 20, 24))
    result = sharing.channel_difference_experiment(image, 3)
    assert result.residual_conv < 1e-10
    assert result.residual_shared > 0.5  # independent channels: the sum tells little about R - G
    assert (result.params_conv, result.params_shared) == (28, 10)
    assert result.swap_change_shared == 0.0 and result.swap_change_target > 0.1
    assert result.module_gap < 1e-10
    expected = np.zeros((1, 3, 3, 3))
    expected[0, 0, 1, 1], expected[0, 1, 1, 1] = 1, -1  # R - G at the centre tap
    np.testing.assert_allclose(result.conv_weight, expected, atol=1e-10)
    with pytest.raises(ValueError, match="channels R, G, B"):
        sharing.channel_difference_experiment(image[:2])


# --- gradients, flips, cost -------------------------------------------------------------


@settings(max_examples=25)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 3]), st.integers(1, 2),
       st.integers(0, 1), st.integers(0, 2**31 - 1))
def test_shared_gradient_is_the_sum_over_positions(n, c_in, c_out, k, s, p, seed):
    rng = np.random.default_rng(seed)
    h, w = 6, 7
    ho, wo = conv_output_size((h, w), k, s, p)
    result = sharing.shared_gradient_experiment(rng.normal(size=(n, c_in, h, w)), rng.normal(size=(c_out, c_in, k, k)),
                                                rng.normal(size=(n, c_out, ho, wo)), stride=s, padding=p)
    assert result.per_position.shape == (ho, wo, c_out, c_in, k, k)
    for dw in (result.summed, result.numpy_dw, result.tied_dw):
        np.testing.assert_allclose(dw, result.torch_dw, atol=1e-10)
    assert result.spread > 0  # the positions' gradients differ; only their sum is applied


def test_flip_experiment():
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(3, 4))
    result = sharing.flip_experiment(rng.normal(size=(12, 13)), kernel)
    np.testing.assert_allclose(result.learned, kernel[::-1, ::-1], atol=1e-10)
    assert result.residual < 1e-10 and result.flip_identity_gap < 1e-12
    assert np.abs(result.learned - kernel).max() > 0.1  # not symmetric: the flip is visible


def test_local_vs_conv_cost_counts():
    cost = sharing.local_vs_conv_cost(input_size=8, in_channels=2, out_channels=3, kernel_size=3, batch=2,
                                      rounds=1, min_seconds=0.0)
    assert cost.macs_local == cost.macs_conv == 2 * 6 * 6 * 3 * 2 * 9
    assert cost.flops_local == cost.flops_conv == 2 * cost.macs_conv  # torch counts a multiply-add as 2 FLOPs
    assert cost.params_conv == 3 * (2 * 9 + 1)
    assert cost.params_local == 6 * 6 * cost.params_conv
    assert cost.max_output_gap < 1e-5
    assert set(cost.seconds) == {"nn.Conv2d", "unfold + one kernel", "LocallyConnected2d"}
    assert all(t > 0 for t in cost.seconds.values())

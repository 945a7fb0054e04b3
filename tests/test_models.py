"""cnnlib.models: parameter counts against brute force, the two spatial networks against each other,
blur pooling against SciPy, the small CNN of chapter 3 against its total stride."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from torch import nn

from cnnlib import LocallyConnected2d, counting, models
from cnnlib import equivariance as E
from cnnlib.models.blur import _binomial_filter, _blur_pool2d


def brute_force_count(model):
    """Every weight counted one by one (no numel)."""
    total = 0
    for p in model.parameters():
        for _ in p.detach().reshape(-1).tolist():
            total += 1
    return total


def test_default_counts_by_hand():
    # 16 -> 14 (3x3) -> 7 (pool 2) -> 5 (3x3); channels 16, 32; ten classes
    conv = 16 * (9 + 1) + 32 * (16 * 9 + 1) + (32 * 10 + 10)
    local = 14 * 14 * 16 * (9 + 1) + 5 * 5 * 32 * (16 * 9 + 1) + (32 * 10 + 10)
    full = (256 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10)
    expected = {"convolutional": conv, "locally connected": local, "fully connected": full}
    for kind, count in expected.items():
        model = models.build(kind)
        assert counting.module_params(model) == count == brute_force_count(model)
        assert models.counted_parameters(kind) == count


@settings(max_examples=40)
@given(
    canvas=st.integers(8, 14),
    c1=st.integers(1, 4),
    c2=st.integers(1, 4),
    kernel=st.sampled_from([1, 2, 3]),
    pool=st.sampled_from([1, 2]),
    padding=st.integers(0, 1),
)
def test_counted_parameters_match_the_modules(canvas, c1, c2, kernel, pool, padding):
    geometry = dict(canvas_size=canvas, channels=(c1, c2), kernel_size=kernel, pool=pool, padding=padding)
    for kind in ("convolutional", "locally connected"):
        model = models.build(kind, **geometry)
        assert counting.module_params(model) == models.counted_parameters(kind, **geometry)
        out = model(torch.zeros(2, 1, canvas, canvas))
        assert out.shape == (2, 10)
    hidden = (c1 * 3, c2 * 5)
    model = models.fully_connected(canvas_size=canvas, hidden=hidden)
    assert counting.module_params(model) == models.counted_parameters(
        "fully connected", canvas_size=canvas, hidden=hidden
    )


def test_geometry_and_shapes():
    assert models.geometry() == (14, 7, 5)
    assert models.geometry(canvas_size=32, kernel_size=5) == (28, 14, 10)
    assert models.geometry(canvas_size=16, padding=1) == (16, 8, 8)
    x = torch.rand(3, 1, 16, 16)
    for kind in models.KINDS:
        assert models.build(kind)(x).shape == (3, 10)


def test_locally_connected_with_tied_weights_is_the_convolutional_network():
    """Same geometry: copying the convolution's kernels to every position gives the same function."""
    conv = models.convolutional(seed=3)
    local = models.tied_locally_connected(conv)
    x = torch.rand(5, 1, 16, 16)
    torch.testing.assert_close(local(x), conv(x), rtol=1e-5, atol=1e-5)
    # the oracle by hand: position (i, j) of the first layer is the convolution's kernel there
    first = local[0]
    for i, j in [(0, 0), (5, 9), (13, 13)]:
        torch.testing.assert_close(first.weight[i, j], conv[0].weight)
    # other geometry, other channels
    conv = models.convolutional(canvas_size=12, channels=(3, 5), kernel_size=2, padding=1, seed=0)
    local = models.tied_locally_connected(conv, canvas_size=12, kernel_size=2, padding=1)
    x = torch.rand(2, 1, 12, 12)
    torch.testing.assert_close(local(x), conv(x), rtol=1e-5, atol=1e-5)
    assert [type(m) for m in conv] == [
        nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Conv2d, nn.ReLU, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear
    ]
    assert [type(m) for m in local] == [
        LocallyConnected2d if t is nn.Conv2d else t for t in map(type, conv)
    ]


def test_seeds_give_the_same_weights_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = models.build("locally connected", seed=7)
    after = torch.rand(1)
    assert torch.equal(before, after)  # the builder did not consume the global generator
    b = models.build("locally connected", seed=7)
    c = models.build("locally connected", seed=8)
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q)
        assert not torch.equal(p, r)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        models.build("recurrent")
    with pytest.raises(ValueError, match="kind"):
        models.counted_parameters("recurrent")
    with pytest.raises(ValueError, match="channels"):
        models.convolutional(channels=(4,))
    with pytest.raises(ValueError, match="too small"):
        models.convolutional(canvas_size=6)
    with pytest.raises(TypeError, match="seed"):
        models.convolutional(seed=1.5)


# --------------------------------------------------------------------------
# blur pooling
# --------------------------------------------------------------------------


def test_binomial_filters_by_hand():
    np.testing.assert_array_equal(_binomial_filter(1).numpy(), [[1.0]])
    np.testing.assert_allclose(_binomial_filter(3).numpy() * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    row = np.array([1, 4, 6, 4, 1]) / 16
    np.testing.assert_allclose(_binomial_filter(5).numpy(), np.outer(row, row), rtol=1e-6)


@pytest.mark.parametrize("size", [3, 5])
def test_blur_pool_matches_scipy(size):
    x = torch.randn(2, 3, 9, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = _blur_pool2d(x, size, 2, "circular")
    k = _binomial_filter(size).double().numpy()
    expected = np.stack([[ndimage.correlate(c, k, mode="wrap")[::2, ::2] for c in img] for img in x.numpy()])
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    assert got.shape == (2, 3, 5, 4)


@pytest.mark.parametrize("d", range(0, 6))
def test_blur_pool_is_equivariant_to_even_shifts(d):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    err, _ = E.strided_equivariance_error(lambda a: _blur_pool2d(a), x, (d, d), 2)
    assert (err < 1e-12) == (d % 2 == 0)


def test_max_blur_pool_is_max_then_blur():
    x = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    rolled = [torch.roll(x, (-a, -b), (2, 3)) for a in (0, 1) for b in (0, 1)]
    maxed = torch.stack(rolled).amax(0)  # max over the window [i, i+1] x [j, j+1], wrapped
    np.testing.assert_allclose(models.MaxBlurPool2d(2, 2)(x).numpy(), _blur_pool2d(maxed).numpy(), atol=1e-12)


def test_blur_pool_refuses_arrays_and_bad_modes():
    with pytest.raises(TypeError, match="torch.Tensor"):
        _blur_pool2d(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="padding_mode"):
        _blur_pool2d(torch.ones(1, 1, 4, 4), padding_mode="mirror")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        _blur_pool2d(torch.ones(4, 4))



# --------------------------------------------------------------------------
# the small CNN of chapter 3
# --------------------------------------------------------------------------


@pytest.mark.parametrize("antialias", [False, True])
def test_small_cnn_is_exactly_invariant_to_shifts_by_its_total_stride(antialias):
    torch.manual_seed(0)
    model = models.small_cnn(antialias=antialias, width=4).eval()
    x = torch.rand(3, 1, 16, 16, dtype=torch.float32)
    with torch.no_grad():
        base = model(x)
        assert model(x).shape == (3, 10)
        for d in (4, 8, -4):
            torch.testing.assert_close(model(torch.roll(x, (d, d), (2, 3))), base, atol=1e-5, rtol=1e-5)
        assert (model(torch.roll(x, 1, 3)) - base).abs().max() > 1e-4


def test_small_cnn_refuses_bad_heads_and_sizes():
    with pytest.raises(ValueError, match="head"):
        models.small_cnn(head="max")
    with pytest.raises(ValueError, match="divisible by 4"):
        models.small_cnn(head="flatten", input_size=18)

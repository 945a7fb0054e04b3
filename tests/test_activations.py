"""cnnlib.models.vgg: the VGG-style stack's per-layer parameters and activations, against
a real forward pass (shapes, numbers of values), torch's own parameter storage, the
output-size formula, and hand-derived counts."""

from math import prod

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlib import conv_output_size, counting
from cnnlib.models.vgg import layer_costs, vgg_stack


def real_outputs(model, x):
    """Every convolution's and pooling's output, recorded by a real forward pass."""
    outputs = {}
    for name, layer in model.named_children():
        x = layer(x)
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            outputs[name] = x.clone()
    return outputs


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(1, 2),
       st.sampled_from([1, 3]), st.integers(0, 5))
def test_meta_costs_match_a_real_forward_pass(c_in, widths, convs, k, extra):
    side = 2 ** len(widths) + extra
    real = vgg_stack(c_in, widths, convs, k)
    with torch.no_grad():
        outputs = real_outputs(real, torch.randn(1, c_in, side, side))
    with torch.device("meta"):
        meta = vgg_stack(c_in, widths, convs, k)
    rows = layer_costs(meta, (1, c_in, side, side))
    assert [r["layer"] for r in rows] == list(outputs)
    for r in rows:
        out = outputs[r["layer"]]
        assert r["shape"] == tuple(out.shape[1:])
        assert r["activations"] == out.numel()
        assert r["params"] == sum(p.numel() for p in getattr(real, r["layer"]).parameters())
    assert layer_costs(real, torch.randn(2, c_in, side, side)) == rows   # per image, whatever the batch


def test_the_224_stack_by_hand():
    with torch.device("meta"):
        model = vgg_stack()
    rows = {r["layer"]: r for r in layer_costs(model, (1, 3, 224, 224))}
    assert rows["conv1_1"]["shape"] == (64, 224, 224)
    assert rows["conv1_1"]["params"] == 3 * 3 * 3 * 64 + 64
    assert rows["conv1_1"]["activations"] == 64 * 224 * 224
    assert rows["conv1_1"]["macs"] == 224 * 224 * 64 * 3 * 3 * 3
    assert rows["pool4"]["shape"] == (512, 14, 14) and rows["pool4"]["params"] == 0
    assert rows["conv4_2"]["params"] == 3 * 3 * 512 * 512 + 512
    for name, r in rows.items():
        stage = int(name[4])                      # conv{s}_{n} and pool{s}
        pooled = name.startswith("pool")
        side = 224 // 2 ** (stage if pooled else stage - 1)
        assert r["shape"][1:] == (side, side)
        if not pooled:                            # "same" padding: the input has the output's side
            assert conv_output_size(side, 3, padding=1) == side
            c_out, c_in = r["shape"][0], getattr(model, name).in_channels
            assert r["macs"] == counting.conv2d_macs(side, c_in, c_out, 3, padding=1)


def test_bad_input():
    with pytest.raises(ValueError):
        vgg_stack(widths=())
    with pytest.raises(ValueError):
        vgg_stack(kernel_size=2)
    with pytest.raises(TypeError):
        layer_costs(nn.Conv2d(1, 1, 1), (1, 1, 4, 4))
    with pytest.raises(ValueError):
        layer_costs(vgg_stack(), torch.zeros(3, 8, 8))


def test_the_figure_draws_the_counted_numbers():
    import matplotlib
    matplotlib.use("Agg")
    from cnnlib.figures.inception import plot_params_vs_activations

    with torch.device("meta"):
        rows = layer_costs(vgg_stack(widths=(8, 16)), (1, 3, 16, 16))
    ax = plot_params_vs_activations(rows)
    heights = [bar.get_height() for bar in ax.patches]
    params, acts = heights[:len(rows)], heights[len(rows):]
    assert acts == [r["activations"] for r in rows]
    assert [h for h in params if h == h] == [r["params"] for r in rows if r["params"]]   # NaN: no bar
    assert ax.get_yscale() == "log"

"""cnnlib.inception against independent oracles: torch's own parameter counts and
FlopCounterMode, sums derived by hand from the papers' layer tables, and the
published GoogLeNet table where its figures can be derived."""

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import counting, models
from cnnlib import inception as inc
from cnnlib.figures.inception import _draw_inception, inception_figure, plot_reduction_costs


def torch_params(module):  # the oracle, written out here on purpose
    return sum(p.numel() for p in module.parameters())


def torch_macs(module, x):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2


def meta(build):
    with torch.device("meta"):
        return build()


@st.composite
def inception_configs(draw):
    widths = st.integers(1, 6)
    optional = st.one_of(st.none(), widths)
    return dict(in_channels=draw(widths), n1x1=draw(widths), n3x3=draw(widths), n5x5=draw(widths),
                n3x3_reduce=draw(optional), n5x5_reduce=draw(optional), pool_proj=draw(optional))


# --- the Inception module ---------------------------------------------------------------

# each example builds a module and runs FlopCounterMode: fewer examples than the profile's
@settings(max_examples=60)
@given(inception_configs(), st.integers(1, 7), st.integers(1, 7), st.booleans())
def test_module_counts_match_formulas_and_flop_counter(cfg, h, w, bias):
    module = models.Inception(**cfg, bias=bias)
    x = torch.zeros(2, cfg["in_channels"], h, w)
    y = module(x)
    assert y.shape == (2, inc.inception_out_channels(**cfg), h, w) == (2, module.out_channels, h, w)
    assert torch_params(module) == inc.inception_params(**cfg, bias=bias) == counting.module_params(module)
    macs = inc.inception_macs((h, w), **cfg, batch=2)
    assert torch_macs(module, x) == macs == counting.module_macs(module, x)
    costs = inc.inception_branch_costs((h, w), **cfg, bias=bias)
    assert sum(b["params"] for b in costs.values()) == torch_params(module)
    assert sum(b["macs"] for b in costs.values()) * 2 == macs


def test_inception_3a_by_hand():
    naive = models.Inception(192, 64, 128, 32, bias=False)
    assert torch_params(naive) == 192 * 64 + 9 * 192 * 128 + 25 * 192 * 32 == 387_072
    full = models.Inception(192, 64, 128, 32, n3x3_reduce=96, n5x5_reduce=16, pool_proj=32)
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert torch_params(full) == weights + biases == 163_696
    # and per layer, against cnnlib.counting
    conv = counting.conv2d_params
    assert torch_params(full) == (conv(192, 64, 1) + conv(192, 96, 1) + conv(96, 128, 3) + conv(192, 16, 1)
                                  + conv(16, 32, 5) + conv(192, 32, 1))
    assert counting.module_macs(full, (1, 192, 28, 28)) == 28 * 28 * weights == 128_049_152


def test_inception_forward_is_the_concatenation_of_its_branches():
    torch.manual_seed(0)
    m = models.Inception(4, 2, 3, 1, n3x3_reduce=2, n5x5_reduce=1, pool_proj=2)
    x = torch.randn(1, 4, 6, 5)
    b = m.branches
    by_hand = torch.cat([
        F.relu(F.conv2d(x, b["1x1"][0].weight, b["1x1"][0].bias)),
        F.relu(F.conv2d(F.relu(F.conv2d(x, b["3x3"][0].weight, b["3x3"][0].bias)),
                        b["3x3"][2].weight, b["3x3"][2].bias, padding=1)),
        F.relu(F.conv2d(F.relu(F.conv2d(x, b["5x5"][0].weight, b["5x5"][0].bias)),
                        b["5x5"][2].weight, b["5x5"][2].bias, padding=2)),
        F.relu(F.conv2d(F.max_pool2d(x, 3, 1, 1), b["pool"][1].weight, b["pool"][1].bias)),
    ], dim=1)
    torch.testing.assert_close(m(x), by_hand)


def test_bad_input_is_refused():
    m = models.Inception(4, 2, 3, 1)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\).*\(1, 3, 5, 5\)"):
        m(torch.zeros(1, 3, 5, 5))
    with pytest.raises(TypeError, match="n3x3"):
        models.inception_layers(4, 2, 3.0, 1)
    with pytest.raises(ValueError, match="pool_proj"):
        models.inception_layers(4, 2, 3, 1, pool_proj=0)


@settings(max_examples=100)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 5]), st.integers(1, 40), st.integers(1, 6))
def test_reduced_conv_counts_match_torch(c_in, c_out, k, r, side):
    direct = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    reduced = nn.Sequential(nn.Conv2d(c_in, r, 1, bias=False), nn.Conv2d(r, c_out, k, padding=k // 2, bias=False))
    x = torch.zeros(1, c_in, side, side)
    assert inc.reduced_conv_params(c_in, c_out, k) == torch_params(direct)
    assert inc.reduced_conv_params(c_in, c_out, k, r) == torch_params(reduced)
    assert inc.reduced_conv_macs(side, c_in, c_out, k) == torch_macs(direct, x)
    assert inc.reduced_conv_macs(side, c_in, c_out, k, r) == torch_macs(reduced, x)
    # below the break-even width the reduction saves weights, above it it costs more
    even = inc.reduction_break_even(c_in, c_out, k)
    saves = inc.reduced_conv_params(c_in, c_out, k, r) < inc.reduced_conv_params(c_in, c_out, k)
    assert saves == (r < even)


# --- GoogLeNet and AlexNet ------------------------------------------------------------------

def googlenet_by_hand(aux):
    """Parameters (weights + biases) summed from table 1 of the paper, independently of the modules."""
    conv = lambda c_in, c_out, k: k * k * c_in * c_out + c_out  # noqa: E731
    total = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    channels = 192
    for n1, r3, n3, r5, n5, pp in [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64),
                                   (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64),
                                   (128, 128, 256, 24, 64, 64), (112, 144, 288, 32, 64, 64),
                                   (256, 160, 320, 32, 128, 128), (256, 160, 320, 32, 128, 128),
                                   (384, 192, 384, 48, 128, 128)]:
        total += (conv(channels, n1, 1) + conv(channels, r3, 1) + conv(r3, n3, 3) + conv(channels, r5, 1)
                  + conv(r5, n5, 5) + conv(channels, pp, 1))
        channels = n1 + n3 + n5 + pp
    total += channels * 1000 + 1000
    if aux:
        for c in (512, 528):
            total += conv(c, 128, 1) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000)
    return total


def alexnet_by_hand(grouped):
    """Section 3.5 of Krizhevsky et al.: kernels of 11×11×3, 5×5×48, 3×3×256, 3×3×192, 3×3×192
    on two GPUs (half of the input channels for layers 2, 4, 5); 5×5×96, 3×3×384, 3×3×384 on one."""
    d = 1 if grouped else 2
    convs = (96 * 11 * 11 * 3 + 256 * 5 * 5 * (48 * d) + 384 * 3 * 3 * 256
             + 384 * 3 * 3 * (192 * d) + 256 * 3 * 3 * (192 * d) + 96 + 256 + 384 + 384 + 256)
    fcs = 6 * 6 * 256 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    return convs + fcs


@pytest.mark.parametrize("aux", [False, True])
def test_googlenet_parameters_by_hand(aux):
    assert torch_params(meta(lambda: models.GoogLeNet(aux_classifiers=aux))) == googlenet_by_hand(aux)


@pytest.mark.parametrize("grouped", [True, False])
def test_alexnet_parameters_by_hand(grouped):
    assert torch_params(meta(lambda: models.AlexNet(grouped=grouped))) == alexnet_by_hand(grouped)


def test_alexnet_is_the_papers_sixty_million():
    assert alexnet_by_hand(True) == 60_965_224
    assert round(alexnet_by_hand(True) / 1e6) == 61  # "60 million parameters" in the paper


def test_googlenet_shapes_follow_table_1():
    model = meta(models.GoogLeNet)
    shapes = models.layer_output_shapes(model, torch.zeros(1, 3, 224, 224, device="meta"))
    for row in models.GOOGLENET_TABLE:
        if row.name in ("softmax",):
            continue
        h, w, c = row.out_size
        expected = (c,) if row.name in ("dropout", "fc") else (c, h, w)
        assert shapes[row.name] == expected, row.name


def test_alexnet_shapes_follow_the_paper():
    shapes = models.layer_output_shapes(meta(models.AlexNet), (1, 3, 224, 224))
    assert shapes["conv1"] == (96, 55, 55) and shapes["pool1"] == (96, 27, 27)
    assert shapes["pool2"] == (256, 13, 13) and shapes["pool5"] == (256, 6, 6)
    assert shapes["fc8"] == (1000,)


def test_googlenet_aux_classifiers_only_in_training():
    model = meta(lambda: models.GoogLeNet(aux_classifiers=True))
    x = torch.zeros(2, 3, 224, 224, device="meta")
    logits, aux1, aux2 = model.train()(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 1000)
    assert model.eval()(x).shape == (2, 1000)


def test_depth_counts_layers_with_parameters_on_the_deepest_path():
    assert models.parameter_depth(meta(models.GoogLeNet)) == 22  # "22 layers deep ... with parameters"
    assert models.parameter_depth(meta(models.GoogLeNet), count_pooling=True) == 27  # "or 27 ... pooling"
    assert models.parameter_depth(meta(models.AlexNet)) == 8  # "eight layers with weights"
    assert models.parameter_depth(models.Inception(4, 1, 1, 1, 1, 1, 1)) == 2
    assert models.parameter_depth(models.Inception(4, 1, 1, 1), count_pooling=True) == 1
    with pytest.raises(TypeError, match="GRU"):
        models.parameter_depth(nn.GRU(2, 2))


def test_published_googlenet_table_where_derivable():
    rows = {r["name"]: r for r in inc.googlenet_table_check()}
    # The ops column (multiply-adds, M = 10**6) is reproduced to within one million for
    # the conv2 row, the linear row and every inception module except (5a).
    for name, r in rows.items():
        if name in ("conv1", "inception_5a"):
            continue
        assert abs(r["macs_m"] - r["published_ops_m"]) < 1, name
    assert rows["inception_3a"]["macs"] == 128_049_152  # "128M"
    assert abs(rows["inception_5a"]["macs_m"] - 54) > 2  # the table's 54M is not derivable
    # The params column counts weights (no biases) in units of 1024: exact for conv2
    # and the linear layer, within rounding for (3a), within 2% for most modules ...
    assert rows["conv2"]["weights_k"] == 112 and rows["fc"]["weights_k"] == 1000
    assert int(rows["inception_3a"]["weights_k"]) == 159
    for name in ("inception_3a", "inception_3b", "inception_4a", "inception_4b", "inception_4d",
                 "inception_4e", "inception_5b"):
        r = rows[name]
        assert abs(r["weights_k"] - r["published_params_k"]) / r["published_params_k"] < 0.02, name
    # ... but not for (4c), (5a) and the first convolution (9,408 weights, not 2.7K).
    for name in ("inception_4c", "inception_5a", "conv1"):
        r = rows[name]
        assert abs(r["weights_k"] - r["published_params_k"]) / r["published_params_k"] > 0.04, name
    assert rows["conv1"]["weights"] == 7 * 7 * 3 * 64


# --- source 004's claims -----------------------------------------------------------------

def test_one_by_one_convolution_is_a_scale_and_a_per_pixel_linear_layer():
    errors = inc.one_by_one_errors()
    assert errors["scale"] < 1e-12
    assert max(errors["linear"], errors["einsum"], errors["cnnlib"]) < 1e-12


def test_source_004_figures():
    assert inc.conv_3x3_192_128_params()["weights"] == 3 * 3 * 192 * 128
    p = inc.inception_3a_params()
    assert p["naive"] == 1 * 1 * 192 * 64 + 3 * 3 * 192 * 128 + 5 * 5 * 192 * 32 == 387_072
    assert p["bottleneck_no_pool_proj"] == 192 * 64 + (192 * 96 + 9 * 96 * 128) + (192 * 16 + 25 * 16 * 32) == 157_184
    assert inc.inception_3a_channels() == {"naive": 416, "bottleneck": 256}
    ops = inc.taught_example_ops()
    assert ops["naive"] == 28 * 28 * 256 * (128 + 9 * 192 + 25 * 96) == 854_196_224
    assert ops["bottleneck"] == 28 * 28 * (256 * 128 + 256 * 64 + 9 * 64 * 192 + 256 * 64 + 25 * 64 * 96
                                           + 256 * 64) == 271_351_808
    assert inc.taught_example_explain(358) == [("twice", "3×3")]
    assert inc.taught_example_explain(854) == []


# --- figures -----------------------------------------------------------------------------

def test_diagram_writes_the_computed_costs():
    import matplotlib.pyplot as plt

    cfg = dict(n1x1=64, n3x3=128, n5x5=32, n3x3_reduce=96, n5x5_reduce=16, pool_proj=32)
    fig, ax = plt.subplots()
    _draw_inception(ax, 28, 192, **cfg)
    text = "\n".join(t.get_text() for t in ax.texts) + ax.get_title()
    assert "110,720 params" in text and "86.7M MACs" in text and "28×28×256" in text
    assert f"{inc.inception_params(192, **cfg):,} parameters" in text
    plt.close(fig)
    fig = inception_figure(28, 192, dict(n1x1=64, n3x3=128, n5x5=32), cfg)
    assert len(fig.axes) == 3  # two modules and a colour bar
    plt.close(fig)
    ax = plot_reduction_costs(28, 192, 128, 3, range(1, 257), mark=96)
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(ax.figure)

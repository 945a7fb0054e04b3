"""1×1 convolutions and the Inception module: counted, and source 004's numbers computed.

Source 004 explains 1×1 convolutions and GoogLeNet's Inception module with
parameter and operation counts. The networks themselves are in
:mod:`cnnlib.models` (:class:`~cnnlib.models.Inception`,
:class:`~cnnlib.models.GoogLeNet`, :class:`~cnnlib.models.AlexNet`); this
module counts them in ways that must agree:

* by formula, with :mod:`cnnlib.counting` (exact Python integers):
  :func:`inception_params`, :func:`inception_macs`, :func:`inception_branch_costs`,
  :func:`reduced_conv_params`, :func:`reduction_break_even`;
* from the modules, with :func:`cnnlib.counting.module_params` and
  :func:`cnnlib.counting.module_macs`;
* against the layer table of the GoogLeNet paper (Szegedy et al. 2015,
  table 1, :data:`cnnlib.models.GOOGLENET_TABLE`): :func:`googlenet_table_check`;

and computes what source 004's claims are about (:func:`one_by_one_errors`,
:func:`inception_3a_params`, :func:`taught_example_ops`, ...), which the
chapter shows and the claims audit (:mod:`cnnlib.claims`) judges.

One "op" is one multiply-add (MAC); pooling, ReLU, normalisation and the
additions of biases are not counted (the paper's convention, and PyTorch's).
Sizes are ints or ``(height, width)`` pairs.
"""

from fractions import Fraction

import numpy as np
import torch
from torch import nn

from cnnlib import counting
from cnnlib.models.imagenet import AlexNet, GoogLeNet, GOOGLENET_TABLE, Inception, inception_layers, parameter_depth
from cnnlib.shapes import check_int, pair

__all__ = [
    # Inception branches, counted by formula
    "inception_out_channels", "inception_params", "inception_macs", "inception_branch_costs",
    # a k×k convolution with a 1×1 reduction in front
    "reduced_conv_params", "reduced_conv_macs", "reduction_break_even",
    # the networks against the paper's table
    "googlenet_table_check",
    # source 004's claims, computed
    "one_by_one_errors", "conv_3x3_192_128_params", "inception_3a_params",
    "inception_3a_channels", "inception_3a_macs", "TAUGHT_EXAMPLE", "taught_example_ops",
    "taught_example_terms", "taught_example_explain", "googlenet_alexnet_params", "network_depths",
]



# --- Inception branches, counted by formula ------------------------------------------

def inception_out_channels(in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None, n5x5_reduce=None,
                           pool_proj=None):
    """Channels of the concatenated output: the last layer of each branch, summed."""
    branches = inception_layers(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    return sum(layers[-1].out_channels for layers in branches.values())


def inception_params(in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None, n5x5_reduce=None,
                     pool_proj=None, bias=True):
    """Parameters of an Inception module: the sum of its convolutions' (pooling has none)."""
    branches = inception_layers(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    return sum(counting.conv2d_params(l.in_channels, l.out_channels, l.kernel_size, bias=bias)
               for layers in branches.values() for l in layers if l.kind == "conv")


def inception_macs(input_size, in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None,
                   n5x5_reduce=None, pool_proj=None, batch=1):
    """Multiply-adds of an Inception module on ``batch`` inputs of ``input_size`` (int or (h, w)):
    every convolution runs at every pixel (stride 1, "same" padding)."""
    branches = inception_layers(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    size = pair("input_size", input_size)
    return sum(counting.conv2d_macs(size, l.in_channels, l.out_channels, l.kernel_size,
                                    padding=l.kernel_size // 2, batch=batch)
               for layers in branches.values() for l in layers if l.kind == "conv")


def inception_branch_costs(input_size, in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None,
                           n5x5_reduce=None, pool_proj=None, bias=True):
    """Each branch's layers with their output shape, parameters and multiply-adds.

    Returns ``{branch: {"layers": [dict(label, kind, shape, params, macs)], "params": int,
    "macs": int, "out_channels": int}}``; ``shape`` is ``(h, w, channels)``.
    Max pooling is listed with 0 parameters and 0 multiply-adds.
    """
    size = pair("input_size", input_size)
    branches = inception_layers(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    costs = {}
    for name, layers in branches.items():
        rows = []
        for l in layers:
            conv = l.kind == "conv"
            params = counting.conv2d_params(l.in_channels, l.out_channels, l.kernel_size, bias=bias) if conv else 0
            macs = counting.conv2d_macs(size, l.in_channels, l.out_channels, l.kernel_size,
                                        padding=l.kernel_size // 2) if conv else 0
            rows.append(dict(label=l.label, kind=l.kind, shape=(*size, l.out_channels),
                             params=params, macs=macs))
        costs[name] = dict(layers=rows, params=sum(r["params"] for r in rows),
                           macs=sum(r["macs"] for r in rows), out_channels=layers[-1].out_channels)
    return costs


# --- a k×k convolution with a 1×1 reduction in front -------------------------------------

def reduced_conv_params(in_channels, out_channels, kernel_size, width=None, bias=False):
    """Parameters of ``in_channels -> out_channels`` with a k×k convolution, directly
    (``width=None``) or through a 1×1 reduction to ``width`` channels first."""
    if width is None:
        return counting.conv2d_params(in_channels, out_channels, kernel_size, bias=bias)
    return (counting.conv2d_params(in_channels, width, 1, bias=bias)
            + counting.conv2d_params(width, out_channels, kernel_size, bias=bias))


def reduced_conv_macs(input_size, in_channels, out_channels, kernel_size, width=None):
    """Multiply-adds of :func:`reduced_conv_params`'s layers at stride 1, "same" padding."""
    k = check_int("kernel_size", kernel_size, 1)
    if width is None:
        return counting.conv2d_macs(input_size, in_channels, out_channels, k, padding=k // 2)
    return (counting.conv2d_macs(input_size, in_channels, width, 1)
            + counting.conv2d_macs(input_size, width, out_channels, k, padding=k // 2))


def reduction_break_even(in_channels, out_channels, kernel_size):
    """The width ``r*`` at which a 1×1 reduction stops saving weights (no biases):
    ``r * (C_in + k²·C_out) = k²·C_in·C_out``, so ``r* = k²·C_in·C_out / (C_in + k²·C_out)``.

    Returned as an exact ``fractions.Fraction``; any width below it saves.
    Multiply-adds scale the same way (every layer runs at every pixel).
    """
    c_in = check_int("in_channels", in_channels, 1)
    c_out = check_int("out_channels", out_channels, 1)
    kk = check_int("kernel_size", kernel_size, 1) ** 2
    return Fraction(kk * c_in * c_out, c_in + kk * c_out)


# --- the networks against the GoogLeNet paper's table -------------------------------

def googlenet_table_check(model=None, unit=1024):
    """Every row of :data:`GOOGLENET_TABLE` that publishes figures, next to ours.

    ``model`` is a :class:`~cnnlib.models.GoogLeNet` (built on the meta device when omitted).
    Returns a list of dicts: ``name``, ``published_params_k``, ``weights``
    (parameters without biases, which is what the table counts), ``params``
    (with biases), ``weights_k`` (``weights / unit``; the table's K fits 1024
    best), ``published_ops_m``, ``macs`` and ``macs_m`` (``macs / 10**6``) for
    one 224×224 image.
    """
    if model is None:
        with torch.device("meta"):
            model = GoogLeNet()
    per_module = counting.module_macs_by_layer(model, (1, 3, 224, 224))
    rows = []
    for row in GOOGLENET_TABLE:
        if row.params_k is None:
            continue
        names = [row.name] + ([row.name + "_reduce"] if row.n3x3_reduce and row.type == "convolution" else [])
        modules = [getattr(model.layers, n) for n in names]
        weights = sum(counting.module_params(m, bias=False) for m in modules)
        params = sum(counting.module_params(m) for m in modules)
        macs = sum(per_module.get(f"layers.{n}", 0) for n in names)
        rows.append(dict(name=row.name, published_params_k=row.params_k, weights=weights, params=params,
                         weights_k=weights / unit, published_ops_m=row.ops_m, macs=macs, macs_m=macs / 10**6))
    return rows


# --- source 004's claims, computed ---------------------------------------------------

def one_by_one_errors(in_channels=8, out_channels=5, size=6, seed=0):
    """Largest absolute differences between a 1×1 convolution and its other forms,
    in float64 on a random ``(2, in_channels, size, size)`` input.

    * ``"scale"``: a 1×1 convolution of one channel to one channel vs the input
      times its single weight (source 004: it only rescales the input);
    * ``"linear"``: ``nn.Conv2d(C, D, 1)`` vs ``nn.Linear(C, D)`` with the same
      weights applied to the channel vector at every pixel;
    * ``"einsum"``: vs ``einsum("dc,nchw->ndhw", W, x) + b``;
    * ``"cnnlib"``: vs :func:`cnnlib.conv.conv2d` (NumPy).
    """
    from cnnlib.conv import conv2d

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, in_channels, size, size, generator=g, dtype=torch.float64)
    one = nn.Conv2d(1, 1, 1, bias=False).double()
    conv = nn.Conv2d(in_channels, out_channels, 1).double()
    with torch.no_grad():
        one.weight.copy_(torch.randn(1, 1, 1, 1, generator=g))
        conv.weight.copy_(torch.randn(out_channels, in_channels, 1, 1, generator=g))
        conv.bias.copy_(torch.randn(out_channels, generator=g))
        linear = nn.Linear(in_channels, out_channels).double()
        linear.weight.copy_(conv.weight[:, :, 0, 0])
        linear.bias.copy_(conv.bias)
        x1 = x[:, :1]
        y = conv(x)
        w, b = conv.weight[:, :, 0, 0], conv.bias
        errors = {
            "scale": (one(x1) - one.weight.item() * x1).abs().max().item(),
            "linear": (y - linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)).abs().max().item(),
            "einsum": (y - (torch.einsum("dc,nchw->ndhw", w, x) + b[:, None, None])).abs().max().item(),
            "cnnlib": float(np.abs(y.numpy() - conv2d(x.numpy(), conv.weight.numpy(), b.numpy())).max()),
        }
    return errors


def conv_3x3_192_128_params():
    """Source 004's 3×3 convolution from 192 to 128 channels, counted on real modules:
    ``{"weights": without bias, "params": with bias, "macs": on 28×28}``."""
    with torch.device("meta"):
        conv = nn.Conv2d(192, 128, 3, padding=1, bias=False)
        conv_b = nn.Conv2d(192, 128, 3, padding=1)
    return dict(weights=counting.module_params(conv), params=counting.module_params(conv_b),
                macs=counting.module_macs(conv, (1, 192, 28, 28)))


# GoogLeNet's inception (3a), as source 004 describes it (naive: no reductions).
INCEPTION_3A = dict(in_channels=192, n1x1=64, n3x3=128, n5x5=32)
INCEPTION_3A_REDUCTIONS = dict(n3x3_reduce=96, n5x5_reduce=16, pool_proj=32)


def _meta_inception(bias=True, **config):
    with torch.device("meta"):
        return Inception(**config, bias=bias)


def inception_3a_params():
    """Parameters of inception (3a) on 28×28×192, counted from real modules.

    Keys: ``naive`` and ``bottleneck_no_pool_proj`` count the weights of the
    modules that source 004's two sums describe (no biases, and its second sum
    leaves out the pool projection); ``bottleneck`` adds the pool projection
    (the module GoogLeNet uses); ``*_with_bias`` count every parameter;
    ``ratio`` = bottleneck / naive (weights only).
    """
    no_pp = dict(INCEPTION_3A, n3x3_reduce=96, n5x5_reduce=16)
    full = dict(INCEPTION_3A, **INCEPTION_3A_REDUCTIONS)
    out = dict(
        naive=counting.module_params(_meta_inception(False, **INCEPTION_3A)),
        bottleneck_no_pool_proj=counting.module_params(_meta_inception(False, **no_pp)),
        bottleneck=counting.module_params(_meta_inception(False, **full)),
        naive_with_bias=counting.module_params(_meta_inception(True, **INCEPTION_3A)),
        bottleneck_with_bias=counting.module_params(_meta_inception(True, **full)),
    )
    out["ratio"] = out["bottleneck"] / out["naive"]
    return out


def inception_3a_channels():
    """Output channels of inception (3a), naive and with reductions, read off the
    output of real modules on a 28×28×192 input: ``{"naive": ..., "bottleneck": ...}``."""
    x = torch.zeros(1, 192, 28, 28, device="meta")
    return {name: _meta_inception(**cfg)(x).shape[1]
            for name, cfg in (("naive", INCEPTION_3A), ("bottleneck", dict(INCEPTION_3A, **INCEPTION_3A_REDUCTIONS)))}


def inception_3a_macs():
    """Multiply-adds of inception (3a) on 28×28×192 (FlopCounterMode on real modules)."""
    return {name: counting.module_macs(_meta_inception(**cfg), (1, 192, 28, 28))
            for name, cfg in (("naive", INCEPTION_3A), ("bottleneck", dict(INCEPTION_3A, **INCEPTION_3A_REDUCTIONS)))}


# The widely taught example behind source 004's 854M and 358M: 28×28×256 input, branches
# 1×1/128, 3×3/192, 5×5/96, and 1×1/64 reductions before the 3×3 and 5×5 and after the pool.
TAUGHT_EXAMPLE = dict(input_size=28, in_channels=256, n1x1=128, n3x3=192, n5x5=96,
                      n3x3_reduce=64, n5x5_reduce=64, pool_proj=64)


def taught_example_ops(n3x3_reduce=64, n5x5_reduce=64, pool_proj=64):
    """Multiply-adds ("ops") of the taught 28×28×256 example, naive and with the
    given reductions, measured with FlopCounterMode on real modules:
    ``{"naive": ..., "bottleneck": ..., "naive_output": ..., "bottleneck_output": ...}``."""
    size, c = TAUGHT_EXAMPLE["input_size"], TAUGHT_EXAMPLE["in_channels"]
    widths = {k: TAUGHT_EXAMPLE[k] for k in ("n1x1", "n3x3", "n5x5")}
    naive = _meta_inception(in_channels=c, **widths)
    bottleneck = _meta_inception(in_channels=c, **widths, n3x3_reduce=n3x3_reduce,
                                 n5x5_reduce=n5x5_reduce, pool_proj=pool_proj)
    shape = (1, c, size, size)
    return dict(naive=counting.module_macs(naive, shape), bottleneck=counting.module_macs(bottleneck, shape),
                naive_output=naive.out_channels, bottleneck_output=bottleneck.out_channels)


def taught_example_terms(n3x3_reduce=64, n5x5_reduce=64, pool_proj=64):
    """The multiply-adds of each convolution of the taught example with reductions,
    measured per layer with FlopCounterMode: ``{"1×1": ..., "3×3 reduce": ..., "3×3": ..., ...}``."""
    t = TAUGHT_EXAMPLE
    module = _meta_inception(in_channels=t["in_channels"], n1x1=t["n1x1"], n3x3=t["n3x3"], n5x5=t["n5x5"],
                             n3x3_reduce=n3x3_reduce, n5x5_reduce=n5x5_reduce, pool_proj=pool_proj)
    per_module = counting.module_macs_by_layer(module, (1, t["in_channels"], t["input_size"], t["input_size"]))
    names = {"branches.1x1.0": "1×1", "branches.3x3.0": "3×3 reduce", "branches.3x3.2": "3×3",
             "branches.5x5.0": "5×5 reduce", "branches.5x5.2": "5×5", "branches.pool.1": "pool proj"}
    return {label: per_module[key] for key, label in names.items()}


def taught_example_explain(target_m, n3x3_reduce=64, n5x5_reduce=64, pool_proj=64):
    """Which single slip turns the true total of the taught example into ``target_m``
    million (rounded to the nearest million)? Tries counting each convolution's
    multiply-adds twice, and leaving each out; returns ``[("twice" | "left out", layer), ...]``.
    """
    terms = taught_example_terms(n3x3_reduce, n5x5_reduce, pool_proj)
    total = sum(terms.values())
    found = [("twice", name) for name, m in terms.items() if round((total + m) / 10**6) == target_m]
    found += [("left out", name) for name, m in terms.items() if round((total - m) / 10**6) == target_m]
    return found


def googlenet_alexnet_params():
    """Parameters of GoogLeNet (without / with the auxiliary classifiers) and of
    AlexNet (two-GPU grouped / single tower), counted from modules on the meta
    device, with the ratios AlexNet / GoogLeNet."""
    with torch.device("meta"):
        counts = dict(googlenet=counting.module_params(GoogLeNet()),
                      googlenet_aux=counting.module_params(GoogLeNet(aux_classifiers=True)),
                      alexnet_grouped=counting.module_params(AlexNet(grouped=True)),
                      alexnet_single=counting.module_params(AlexNet(grouped=False)))
    for a in ("alexnet_grouped", "alexnet_single"):
        for g in ("googlenet", "googlenet_aux"):
            counts[f"{a}_over_{g}"] = counts[a] / counts[g]
    return counts


def network_depths():
    """Depths of GoogLeNet and AlexNet by :func:`parameter_depth`:
    ``{"googlenet": 22?, "googlenet_with_pooling": 27?, "alexnet": 8?}`` (computed)."""
    with torch.device("meta"):
        googlenet, alexnet = GoogLeNet(), AlexNet()
    return dict(googlenet=parameter_depth(googlenet),
                googlenet_with_pooling=parameter_depth(googlenet, count_pooling=True),
                alexnet=parameter_depth(alexnet),
                alexnet_with_pooling=parameter_depth(alexnet, count_pooling=True))

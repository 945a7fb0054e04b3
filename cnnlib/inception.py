"""1×1 convolutions, the Inception module, GoogLeNet and AlexNet: built and counted.

Source 004 explains 1×1 convolutions and GoogLeNet's Inception module with
parameter and operation counts. This module builds what it talks about as
real ``torch.nn`` modules and counts them in ways that must agree:

* by formula, with :mod:`cnnlib.counting` (exact Python integers):
  :func:`inception_params`, :func:`inception_macs`, :func:`reduced_conv_params`;
* from the modules, with :func:`cnnlib.counting.module_params` and
  :func:`cnnlib.counting.module_macs` (``torch.utils.flop_counter.FlopCounterMode``);
* against the layer table of the GoogLeNet paper (Szegedy et al. 2015,
  table 1): :data:`GOOGLENET_TABLE`, :func:`googlenet_table_check`.

One "op" is one multiply-add (MAC). ``FlopCounterMode`` reports two FLOPs per
multiply-add; ``module_macs`` halves it. Pooling, ReLU, normalisation and
the additions of biases are not counted (the paper's convention, and
PyTorch's).

Shapes are NCHW. An Inception module keeps the height and width (stride 1,
"same" padding) and concatenates its four branches along the channels:
``(N, in_channels, H, W) -> (N, out_channels, H, W)`` with branches in the
order 1×1, 3×3, 5×5, pool.

No pretrained weights are used or downloaded: the networks are built from the
papers' layer tables, and a network built under ``with torch.device("meta"):``
allocates nothing, yet counting it and checking its shapes work.
"""

from collections import OrderedDict
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from cnnlib import counting
from cnnlib.shapes import check_int, pair

__all__ = [
    # Inception branches as data, and their counts
    "Layer", "inception_layers", "inception_out_channels", "inception_params",
    "inception_macs", "inception_branch_costs",
    # a k×k convolution with a 1×1 reduction in front
    "reduced_conv_params", "reduced_conv_macs", "reduction_break_even",
    # counting real modules
    "parameter_depth", "layer_output_shapes",
    # torch modules
    "Inception", "GoogLeNet", "AlexNet", "GOOGLENET_TABLE", "GoogLeNetRow",
    "googlenet_table_check",
    # source 004's claims, computed
    "one_by_one_errors", "conv_3x3_192_128_params", "inception_3a_params",
    "inception_3a_channels", "inception_3a_macs", "TAUGHT_EXAMPLE", "taught_example_ops",
    "taught_example_terms", "taught_example_explain", "googlenet_alexnet_params", "network_depths", "source_004_verdicts",
]

BRANCHES = ("1x1", "3x3", "5x5", "pool")


# --- Inception branches as data --------------------------------------------------

class Layer(NamedTuple):
    """One layer of an Inception branch: ``kind`` is ``"conv"`` or ``"maxpool"``.

    Every layer keeps the spatial size (stride 1, padding ``kernel_size // 2``).
    """

    kind: str
    in_channels: int
    out_channels: int
    kernel_size: int

    @property
    def label(self):
        k = f"{self.kernel_size}×{self.kernel_size}"
        return f"{k} conv, {self.out_channels}" if self.kind == "conv" else f"{k} max pool"


def _optional_width(name, value):
    return None if value is None else check_int(name, value, 1)


def inception_layers(in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None, n5x5_reduce=None,
                     pool_proj=None):
    """The four branches of an Inception module as lists of :class:`Layer`.

    ``{"1x1": [...], "3x3": [...], "5x5": [...], "pool": [...]}``. A reduction
    width of ``None`` leaves that branch without its 1×1 convolution: all three
    ``None`` give the naive module (the pool branch passes all ``in_channels``
    through), all three set give GoogLeNet's module with dimension reductions.
    """
    c = check_int("in_channels", in_channels, 1)
    n1 = check_int("n1x1", n1x1, 1)
    n3 = check_int("n3x3", n3x3, 1)
    n5 = check_int("n5x5", n5x5, 1)
    r3 = _optional_width("n3x3_reduce", n3x3_reduce)
    r5 = _optional_width("n5x5_reduce", n5x5_reduce)
    pp = _optional_width("pool_proj", pool_proj)

    def reduced(reduce, out, k):
        if reduce is None:
            return [Layer("conv", c, out, k)]
        return [Layer("conv", c, reduce, 1), Layer("conv", reduce, out, k)]

    pool = [Layer("maxpool", c, c, 3)]
    if pp is not None:
        pool.append(Layer("conv", c, pp, 1))
    return {"1x1": [Layer("conv", c, n1, 1)], "3x3": reduced(r3, n3, 3),
            "5x5": reduced(r5, n5, 5), "pool": pool}


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


# --- the depth and the shapes of a network ------------------------------------------

_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_WITH_WEIGHTS = (nn.Conv2d, nn.Linear)


def parameter_depth(module, count_pooling=False):
    """Layers along the deepest path of a network, counting only layers with
    parameters (convolutions and linear layers), as the GoogLeNet paper counts
    its "22 layers"; ``count_pooling=True`` also counts pooling layers.

    A ``Sequential`` adds its children's depths; an :class:`Inception` module
    takes the deepest of its branches; :class:`GoogLeNet` and
    :class:`AlexNet` are measured along their main path (``.layers``; the
    auxiliary classifiers are side branches). ReLU, dropout, normalisation,
    flattening count 0.
    """
    if isinstance(module, Inception):
        return max(parameter_depth(b, count_pooling) for b in module.branches.values())
    if isinstance(module, nn.Sequential):
        return sum(parameter_depth(m, count_pooling) for m in module)
    if isinstance(module, _WITH_WEIGHTS):
        return 1
    if isinstance(module, _POOLING):
        return int(count_pooling)
    if isinstance(module, (GoogLeNet, AlexNet)):
        return parameter_depth(module.layers, count_pooling)
    if isinstance(module, nn.Module) and not any(True for _ in module.parameters()) \
            and not any(True for _ in module.children()):
        return 0
    raise TypeError(f"parameter_depth does not know the layout of {type(module).__name__}")


def layer_output_shapes(model, x):
    """Output shape of every named layer of ``model.layers`` on input ``x``
    (a tensor or a shape), as ``{name: (C, H, W)}`` for one image."""
    if not isinstance(x, torch.Tensor):
        x = torch.zeros(tuple(x), device=next(model.parameters()).device)
    shapes = {}
    handles = [layer.register_forward_hook(
        lambda mod, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
        for name, layer in model.layers.named_children()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return shapes


# --- torch modules -------------------------------------------------------------------

def _branch(layers, bias):
    modules = []
    for l in layers:
        if l.kind == "conv":
            modules += [nn.Conv2d(l.in_channels, l.out_channels, l.kernel_size,
                                  padding=l.kernel_size // 2, bias=bias), nn.ReLU()]
        else:
            modules.append(nn.MaxPool2d(l.kernel_size, stride=1, padding=l.kernel_size // 2))
    return nn.Sequential(*modules)


class Inception(nn.Module):
    """The Inception module of Szegedy et al. (2015), naive or with 1×1 reductions.

    ``(N, in_channels, H, W) -> (N, out_channels, H, W)``: four branches on the
    same input, concatenated along the channels in the order 1×1, 3×3, 5×5,
    pool. Every convolution is followed by a ReLU. Leave ``n3x3_reduce``,
    ``n5x5_reduce`` and ``pool_proj`` at ``None`` for the naive module (fig. 2a
    of the paper); set them for the module with dimension reductions (fig. 2b).
    ``self.config`` holds the widths, so ``inception_params(**m.config)``
    recomputes the count by formula.
    """

    def __init__(self, in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None, n5x5_reduce=None,
                 pool_proj=None, bias=True):
        super().__init__()
        self.config = dict(in_channels=in_channels, n1x1=n1x1, n3x3=n3x3, n5x5=n5x5,
                           n3x3_reduce=n3x3_reduce, n5x5_reduce=n5x5_reduce, pool_proj=pool_proj)
        layers = inception_layers(**self.config)
        self.in_channels = in_channels
        self.out_channels = sum(branch[-1].out_channels for branch in layers.values())
        self.branches = nn.ModuleDict({name: _branch(branch, bias) for name, branch in layers.items()})

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Inception expects (N, {self.in_channels}, H, W), got x of shape {tuple(x.shape)}")
        return torch.cat([branch(x) for branch in self.branches.values()], dim=1)

    def extra_repr(self):
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}"


class GoogLeNetRow(NamedTuple):
    """One row of table 1 of Szegedy et al. (2015), with the published figures.

    ``params_k`` and ``ops_m`` are the table's "params" (in K) and "ops" (in M,
    multiply-adds); ``None`` where the table leaves the cell empty.
    """

    name: str
    type: str
    patch: int | None
    stride: int | None
    out_size: tuple  # (H, W, C)
    depth: int
    n1x1: int | None = None
    n3x3_reduce: int | None = None
    n3x3: int | None = None
    n5x5_reduce: int | None = None
    n5x5: int | None = None
    pool_proj: int | None = None
    params_k: float | None = None
    ops_m: float | None = None


# Table 1 of "Going deeper with convolutions", typed from the paper: these are the
# published values that the course checks, not results.
GOOGLENET_TABLE = (
    GoogLeNetRow("conv1", "convolution", 7, 2, (112, 112, 64), 1, params_k=2.7, ops_m=34),
    GoogLeNetRow("pool1", "max pool", 3, 2, (56, 56, 64), 0),
    GoogLeNetRow("conv2", "convolution", 3, 1, (56, 56, 192), 2, n3x3_reduce=64, n3x3=192,
                 params_k=112, ops_m=360),
    GoogLeNetRow("pool2", "max pool", 3, 2, (28, 28, 192), 0),
    GoogLeNetRow("inception_3a", "inception", None, None, (28, 28, 256), 2, 64, 96, 128, 16, 32, 32, 159, 128),
    GoogLeNetRow("inception_3b", "inception", None, None, (28, 28, 480), 2, 128, 128, 192, 32, 96, 64, 380, 304),
    GoogLeNetRow("pool3", "max pool", 3, 2, (14, 14, 480), 0),
    GoogLeNetRow("inception_4a", "inception", None, None, (14, 14, 512), 2, 192, 96, 208, 16, 48, 64, 364, 73),
    GoogLeNetRow("inception_4b", "inception", None, None, (14, 14, 512), 2, 160, 112, 224, 24, 64, 64, 437, 88),
    GoogLeNetRow("inception_4c", "inception", None, None, (14, 14, 512), 2, 128, 128, 256, 24, 64, 64, 463, 100),
    GoogLeNetRow("inception_4d", "inception", None, None, (14, 14, 528), 2, 112, 144, 288, 32, 64, 64, 580, 119),
    GoogLeNetRow("inception_4e", "inception", None, None, (14, 14, 832), 2, 256, 160, 320, 32, 128, 128, 840, 170),
    GoogLeNetRow("pool4", "max pool", 3, 2, (7, 7, 832), 0),
    GoogLeNetRow("inception_5a", "inception", None, None, (7, 7, 832), 2, 256, 160, 320, 32, 128, 128, 1072, 54),
    GoogLeNetRow("inception_5b", "inception", None, None, (7, 7, 1024), 2, 384, 192, 384, 48, 128, 128, 1388, 71),
    GoogLeNetRow("avgpool", "avg pool", 7, 1, (1, 1, 1024), 0),
    GoogLeNetRow("dropout", "dropout (40%)", None, None, (1, 1, 1024), 0),
    GoogLeNetRow("fc", "linear", None, None, (1, 1, 1000), 1, params_k=1000, ops_m=1),
    GoogLeNetRow("softmax", "softmax", None, None, (1, 1, 1000), 0),
)


def _aux_classifier(in_channels, num_classes):
    """Section 5 of the paper: 5×5/3 average pooling (14×14 -> 4×4), 1×1 conv with
    128 filters + ReLU, fully connected 1024 + ReLU, dropout 70 %, linear."""
    return nn.Sequential(
        nn.AvgPool2d(5, stride=3), nn.Conv2d(in_channels, 128, 1), nn.ReLU(), nn.Flatten(),
        nn.Linear(128 * 4 * 4, 1024), nn.ReLU(), nn.Dropout(0.7), nn.Linear(1024, num_classes))


class GoogLeNet(nn.Module):
    """GoogLeNet as in table 1 and fig. 3 of Szegedy et al. (2015), built from
    :data:`GOOGLENET_TABLE`: ``(N, 3, 224, 224) -> (N, num_classes)`` logits.

    ``self.layers`` is the main path, one named entry per table row (plus the
    two local response normalisations of fig. 3, ``norm1`` and ``norm2``,
    which have no parameters); the softmax row is left to the loss. Max pooling
    rounds up (``ceil_mode=True``, as in the reference Caffe model) so that the
    sizes are the table's: 112 -> 56 -> 28 -> 14 -> 7. With
    ``aux_classifiers=True`` the two side classifiers of section 5 hang off
    (4a) and (4d); in training mode ``forward`` then returns
    ``(logits, aux1, aux2)``.
    """

    def __init__(self, aux_classifiers=False, num_classes=1000):
        super().__init__()
        num_classes = check_int("num_classes", num_classes, 1)
        layers = OrderedDict()
        channels = 3
        for row in GOOGLENET_TABLE:
            if row.type == "convolution" and row.n3x3_reduce is None:
                layers[row.name] = nn.Sequential(
                    nn.Conv2d(channels, row.out_size[2], row.patch, stride=row.stride, padding=row.patch // 2),
                    nn.ReLU())
            elif row.type == "convolution":  # a 1×1 reduction, then the 3×3 convolution
                layers[row.name + "_reduce"] = nn.Sequential(nn.Conv2d(channels, row.n3x3_reduce, 1), nn.ReLU())
                layers[row.name] = nn.Sequential(
                    nn.Conv2d(row.n3x3_reduce, row.n3x3, row.patch, padding=row.patch // 2), nn.ReLU())
                layers["norm2"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            elif row.type == "max pool":
                layers[row.name] = nn.MaxPool2d(row.patch, stride=row.stride, ceil_mode=True)
                if row.name == "pool1":
                    layers["norm1"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            elif row.type == "inception":
                layers[row.name] = Inception(channels, row.n1x1, row.n3x3, row.n5x5,
                                             row.n3x3_reduce, row.n5x5_reduce, row.pool_proj)
            elif row.type == "avg pool":
                layers[row.name] = nn.AvgPool2d(row.patch, stride=row.stride)
                layers["flatten"] = nn.Flatten()
            elif row.type.startswith("dropout"):
                layers[row.name] = nn.Dropout(0.4)
            elif row.type == "linear":
                layers[row.name] = nn.Linear(channels, num_classes)
            if row.type != "softmax":
                channels = row.out_size[2]
        self.layers = nn.Sequential(layers)
        self.aux = nn.ModuleDict()
        if aux_classifiers:
            self.aux["inception_4a"] = _aux_classifier(512, num_classes)
            self.aux["inception_4d"] = _aux_classifier(528, num_classes)

    def forward(self, x):
        aux = []
        for name, layer in self.layers.named_children():
            x = layer(x)
            if self.training and name in self.aux:
                aux.append(self.aux[name](x))
        return (x, *aux) if aux else x


class AlexNet(nn.Module):
    """AlexNet as in section 3.5 and fig. 2 of Krizhevsky et al. (2012):
    ``(N, 3, 224, 224) -> (N, num_classes)`` logits.

    Five convolutions (96 kernels 11×11/4, 256 of 5×5, 384, 384, 256 of 3×3)
    and three fully connected layers (4096, 4096, 1000), with ReLU, local
    response normalisation after the first two convolutions and 3×3/2
    overlapping max pooling. ``grouped=True`` is the paper's two-GPU network:
    the second, fourth and fifth convolutions see only the half of the
    channels on their own GPU (``groups=2``: kernels of 5×5×48, 3×3×192,
    3×3×192); ``grouped=False`` is the same network on one GPU. The paper's
    224 input gives the 55×55 first layer only with padding; we pad by 2
    (227 without padding gives the same sizes). ``self.layers`` is the whole
    network.
    """

    def __init__(self, grouped=True, num_classes=1000):
        super().__init__()
        num_classes = check_int("num_classes", num_classes, 1)
        g = 2 if grouped else 1
        self.grouped = bool(grouped)

        def lrn():
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

        self.layers = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(3, 96, 11, stride=4, padding=2), relu1=nn.ReLU(), norm1=lrn(),
            pool1=nn.MaxPool2d(3, stride=2),
            conv2=nn.Conv2d(96, 256, 5, padding=2, groups=g), relu2=nn.ReLU(), norm2=lrn(),
            pool2=nn.MaxPool2d(3, stride=2),
            conv3=nn.Conv2d(256, 384, 3, padding=1), relu3=nn.ReLU(),
            conv4=nn.Conv2d(384, 384, 3, padding=1, groups=g), relu4=nn.ReLU(),
            conv5=nn.Conv2d(384, 256, 3, padding=1, groups=g), relu5=nn.ReLU(),
            pool5=nn.MaxPool2d(3, stride=2), flatten=nn.Flatten(),
            fc6=nn.Linear(256 * 6 * 6, 4096), relu6=nn.ReLU(), dropout6=nn.Dropout(0.5),
            fc7=nn.Linear(4096, 4096), relu7=nn.ReLU(), dropout7=nn.Dropout(0.5),
            fc8=nn.Linear(4096, num_classes),
        ))

    def forward(self, x):
        return self.layers(x)


def googlenet_table_check(model=None, unit=1024):
    """Every row of :data:`GOOGLENET_TABLE` that publishes figures, next to ours.

    ``model`` is a :class:`GoogLeNet` (built on the meta device when omitted).
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
    """Source 004's 3×3 convolution from 192 to 128 channels: ``{"source": 3*3*192*128,
    "weights": from nn.Conv2d without bias, "params": with bias, "macs": on 28×28}``."""
    with torch.device("meta"):
        conv = nn.Conv2d(192, 128, 3, padding=1, bias=False)
        conv_b = nn.Conv2d(192, 128, 3, padding=1)
    return dict(source=3 * 3 * 192 * 128, weights=counting.module_params(conv), params=counting.module_params(conv_b),
                macs=counting.module_macs(conv, (1, 192, 28, 28)))


# GoogLeNet's inception (3a), as source 004 describes it (naive: no reductions).
INCEPTION_3A = dict(in_channels=192, n1x1=64, n3x3=128, n5x5=32)
INCEPTION_3A_REDUCTIONS = dict(n3x3_reduce=96, n5x5_reduce=16, pool_proj=32)


def _meta_inception(bias=True, **config):
    with torch.device("meta"):
        return Inception(**config, bias=bias)


def inception_3a_params():
    """Parameters of inception (3a) on 28×28×192, counted from real modules.

    Keys: ``source_naive`` and ``source_bottleneck`` evaluate source 004's two
    expressions literally; ``naive`` and ``bottleneck_no_pool_proj`` count the
    weights of the matching modules (no biases, and the source's bottleneck
    expression leaves out the pool projection); ``bottleneck`` adds the pool
    projection (the module GoogLeNet uses); ``*_with_bias`` count every
    parameter. ``ratio_source`` = source_bottleneck / source_naive,
    ``ratio`` = bottleneck / naive (both weights only).
    """
    source_naive = 1 * 1 * 192 * 64 + 3 * 3 * 192 * 128 + 5 * 5 * 192 * 32
    source_bottleneck = (1 * 1 * 192 * 64 + (1 * 1 * 192 * 96 + 3 * 3 * 96 * 128)
                         + (1 * 1 * 192 * 16 + 5 * 5 * 16 * 32))
    no_pp = dict(INCEPTION_3A, n3x3_reduce=96, n5x5_reduce=16)
    full = dict(INCEPTION_3A, **INCEPTION_3A_REDUCTIONS)
    out = dict(
        source_naive=source_naive, source_bottleneck=source_bottleneck,
        naive=counting.module_params(_meta_inception(False, **INCEPTION_3A)),
        bottleneck_no_pool_proj=counting.module_params(_meta_inception(False, **no_pp)),
        bottleneck=counting.module_params(_meta_inception(False, **full)),
        naive_with_bias=counting.module_params(_meta_inception(True, **INCEPTION_3A)),
        bottleneck_with_bias=counting.module_params(_meta_inception(True, **full)),
    )
    out["ratio_source"] = source_bottleneck / source_naive
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


def taught_example_explain(target_m=358, n3x3_reduce=64, n5x5_reduce=64, pool_proj=64):
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


def source_004_verdicts():
    """Source 004's claims on 1×1 convolutions and Inception, computed and judged.

    A list of dicts with ``id`` (as in claims.md), ``claimed``, ``computed``,
    ``verdict`` (holds / holds approximately / wrong / misleading) and ``note``.
    Every verdict and every number in a note follows from what is computed here.
    """
    out = []

    def add(id, claimed, computed, verdict, note=""):
        out.append(dict(id=id, claimed=claimed, computed=computed, verdict=verdict, note=note))

    tol = 1e-12
    err = one_by_one_errors()
    add("S4-1x1-scale", "qualitative", f"largest difference {err['scale']:.1e}",
        "holds" if err["scale"] < tol else "wrong",
        "a 1×1 kernel on one channel multiplies every pixel by its single weight")
    fc = max(err["linear"], err["einsum"], err["cnnlib"])
    add("S4-1x1-fc", "qualitative", f"largest difference {fc:.1e} (float64)", "holds" if fc < tol else "wrong",
        "nn.Conv2d(C, D, 1) equals nn.Linear(C, D) applied to the channel vector at every pixel")

    c = conv_3x3_192_128_params()
    add("S4-conv-3x3-192-128", "221,184", f"{c['weights']:,}",
        "holds" if c["weights"] == c["source"] == 221_184 else "wrong",
        f"weights only; with the {c['params'] - c['weights']} biases {c['params']:,}")

    p = inception_3a_params()
    rel = abs(1 / 3 - p["ratio_source"]) / p["ratio_source"]
    sums_right = p["source_naive"] == p["naive"] and p["source_bottleneck"] == p["bottleneck_no_pool_proj"]
    add("S4-inception-params", "≈ 1/3",
        f"{p['source_bottleneck']:,} / {p['source_naive']:,} = {p['ratio_source']:.3f}",
        "holds approximately" if sums_right and rel <= 0.25 else "wrong",
        f"the source's sums are {'right' if sums_right else 'wrong'}, but they give "
        f"{p['ratio_source']:.2f} (relative error of 1/3: {rel:.0%}); "
        f"with the pool projection the module keeps {p['ratio']:.2f} of the weights")

    ch = inception_3a_channels()
    add("S4-channels-416", "416", f"{ch['naive']}", "holds" if ch["naive"] == 416 else "wrong",
        "the pool branch passes all 192 input channels through")
    add("S4-channels-256", "256", f"{ch['bottleneck']}", "holds" if ch["bottleneck"] == 256 else "wrong",
        "the pool projection keeps 32 of them")

    g = googlenet_alexnet_params()
    d = network_depths()
    ratio = g["alexnet_grouped_over_googlenet"]
    add("S4-googlenet-alexnet", "22 layers, 1/12", f"{d['googlenet']} layers, 1/{ratio:.1f}",
        "holds" if d["googlenet"] == 22 and round(ratio) == 12 else "wrong",
        f"{d['googlenet']} layers with parameters on the deepest path ({d['googlenet_with_pooling']} with "
        f"pooling); AlexNet ({g['alexnet_grouped']:,}) has {ratio:.1f}× the parameters of GoogLeNet "
        f"({g['googlenet']:,}), not 12× ({g['alexnet_single_over_googlenet']:.1f}× for the one-GPU "
        f"AlexNet, {g['alexnet_grouped_over_googlenet_aux']:.1f}× with GoogLeNet's auxiliary classifiers)")

    ops = taught_example_ops()
    add("S4-naive-ops", "854M", f"{ops['naive']:,}",
        "holds" if round(ops["naive"] / 10**6) == 854 else "wrong",
        "the taught 28×28×256 example (1×1/128, 3×3/192, 5×5/96; one op = one multiply-add); "
        f"inception (3a) naive needs {inception_3a_macs()['naive']:,}")
    slips = taught_example_explain(358)
    add("S4-bottleneck-ops", "358M", f"{ops['bottleneck']:,}",
        "holds" if round(ops["bottleneck"] / 10**6) == 358 else "wrong",
        f"the right value is {round(ops['bottleneck'] / 10**6)}M; 358M is the sum with "
        + " or ".join(f"the {name} convolution {how}" for how, name in slips))
    return out

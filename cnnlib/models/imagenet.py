"""The ImageNet networks of chapter 5, as torch modules built from the papers' layer tables.

* :class:`Inception`: the module of Szegedy et al. (2015), naive or with 1×1
  reductions; :func:`inception_layers` lists its branches as data
  (:class:`Layer`), which :mod:`cnnlib.inception` also counts by formula;
* :class:`GoogLeNet`, built row by row from :data:`GOOGLENET_TABLE` (table 1
  of the paper, with its published parameter and operation counts);
* :class:`AlexNet` (Krizhevsky et al. 2012), on two GPUs (grouped) or one;
* :func:`parameter_depth`, the depth as the GoogLeNet paper counts it, and
  :func:`layer_output_shapes`.

Shapes are NCHW. An Inception module keeps the height and width (stride 1,
"same" padding) and concatenates its four branches along the channels:
``(N, in_channels, H, W) -> (N, out_channels, H, W)`` with branches in the
order 1×1, 3×3, 5×5, pool.

No pretrained weights are used or downloaded. A network built under
``with torch.device("meta"):`` allocates nothing, yet it can be counted
(:mod:`cnnlib.counting`) and its shapes checked.
"""

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cnnlib.models._shapes import output_shapes
from cnnlib.shapes import check_int

__all__ = ["Layer", "inception_layers", "Inception", "GoogLeNetRow", "GOOGLENET_TABLE", "GoogLeNet", "AlexNet",
           "parameter_depth", "layer_output_shapes"]


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


# --- the modules ---------------------------------------------------------------------

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
    return output_shapes(model, model.layers.named_children(), x)

"""The small digit classifiers of chapters 3 and 6, built by name (:func:`build`).

Chapter 6 compares three networks that differ only in the constraint on their
layers (:data:`KINDS`):

* ``convolutional``: local windows, one kernel shared by every position
  (``nn.Conv2d``), then global average pooling and a linear classifier;
* ``locally_connected``: the same layers, windows, channels, pooling and
  classifier, but a separate kernel at every position
  (``cnnlib.LocallyConnected2d``): local, not shared;
* ``fully_connected``: every hidden unit sees the whole image (``nn.Linear``).

The two spatial networks are, for ``channels=(c1, c2)``, kernel ``k`` and
pooling ``p`` on a ``1 × S × S`` input::

    layer(1 -> c1, k×k) -> ReLU -> MaxPool(p) -> layer(c1 -> c2, k×k) -> ReLU
        -> global average pool -> Linear(c2 -> classes)

with no padding and stride 1, so that a shift of the input by a multiple of
``p`` shifts the convolutional feature maps exactly. ``counted_parameters``
computes a network's parameter count from the formulas of
:mod:`cnnlib.counting` (``counting.module_params`` counts the built module).

Chapter 3 compares three convolutional networks that differ in how they
downsample and read out (:data:`POOLING_KINDS`, all :func:`small_cnn` with
batch normalisation): ``"max pool"`` (max pooling, global average pooling),
``"blur pool"`` (anti-aliased max pooling, :class:`~cnnlib.models.MaxBlurPool2d`)
and ``"flatten"`` (max pooling, the final maps flattened into the linear layer).

Every builder takes ``seed``: the same seed gives the same initial weights,
whatever the global random state (the global generator is left untouched).
"""

import torch
from torch import nn

from cnnlib import counting
from cnnlib.layers import LocallyConnected2d
from cnnlib.models.blur import MaxBlurPool2d
from cnnlib.shapes import check_int, conv_output_size

KINDS = ("fully connected", "locally connected", "convolutional")
POOLING_KINDS = ("max pool", "blur pool", "flatten")


def _check_channels(channels):
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ValueError(f"channels must be a pair (c1, c2), got {channels!r}")
    return tuple(check_int(f"channels[{i}]", c, minimum=1) for i, c in enumerate(channels))


def geometry(canvas_size=16, kernel_size=3, pool=2, padding=0):
    """Spatial sizes of the two spatial networks: ``(first_out, pooled, second_out)``, each an int.

    For the defaults: 16 -> 14 (3×3 window) -> 7 (2×2 pooling) -> 5 (3×3 window).
    Raises ``ValueError`` when the canvas is too small for the layers.
    """
    canvas_size = check_int("canvas_size", canvas_size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    pool = check_int("pool", pool, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    first = conv_output_size(canvas_size, kernel_size, padding=padding)
    pooled = first // pool
    if pooled < kernel_size:
        raise ValueError(
            f"canvas_size {canvas_size} is too small: after a {kernel_size}×{kernel_size} window and "
            f"{pool}×{pool} pooling the maps are {pooled}×{pooled}, smaller than the second window"
        )
    return first, pooled, conv_output_size(pooled, kernel_size, padding=padding)


def _seeded(build, seed):
    seed = check_int("seed", seed, minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _spatial(layer, canvas_size, channels, kernel_size, pool, classes, padding):
    c1, c2 = _check_channels(channels)
    classes = check_int("classes", classes, minimum=2)
    _, pooled, _ = geometry(canvas_size, kernel_size, pool, padding)
    return nn.Sequential(
        layer(1, c1, kernel_size, canvas_size, padding),
        nn.ReLU(),
        nn.MaxPool2d(pool),
        layer(c1, c2, kernel_size, pooled, padding),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(c2, classes),
    )


def _conv(in_channels, out_channels, kernel_size, input_size, padding):
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)


def _local(in_channels, out_channels, kernel_size, input_size, padding):
    return LocallyConnected2d(in_channels, out_channels, kernel_size, input_size, padding=padding)


def convolutional(canvas_size=16, channels=(16, 32), kernel_size=3, pool=2, padding=0, classes=10, seed=0):
    """Conv -> ReLU -> max-pool -> conv -> ReLU -> global average pool -> linear. Input ``(N, 1, S, S)``."""
    return _seeded(lambda: _spatial(_conv, canvas_size, channels, kernel_size, pool, classes, padding), seed)


def locally_connected(canvas_size=16, channels=(16, 32), kernel_size=3, pool=2, padding=0, classes=10, seed=0):
    """``convolutional`` with every ``nn.Conv2d`` replaced by a ``LocallyConnected2d`` of the same geometry."""
    return _seeded(lambda: _spatial(_local, canvas_size, channels, kernel_size, pool, classes, padding), seed)


def fully_connected(canvas_size=16, hidden=(256, 256), classes=10, seed=0):
    """Flatten -> linear -> ReLU -> ... -> linear, one hidden layer per entry of ``hidden``."""
    canvas_size = check_int("canvas_size", canvas_size, minimum=1)
    classes = check_int("classes", classes, minimum=2)
    widths = [canvas_size * canvas_size] + [check_int("hidden width", h, minimum=1) for h in hidden]

    def build():
        layers = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(widths[-1], classes))

    return _seeded(build, seed)


def small_cnn(antialias=False, width=8, classes=10, padding_mode="circular", batch_norm=False, head="average",
              input_size=16):
    """A three-layer digit classifier for ``(N, 1, H, W)`` images, ``H`` and ``W`` divisible by 4.

    conv 5×5 (1 → width) → ReLU → downsample → conv 5×5 (width → 2·width)
    → ReLU → downsample → conv 3×3 (2·width → 2·width) → ReLU → head.
    "downsample" is ``nn.MaxPool2d(2)``, or with ``antialias``
    :class:`MaxBlurPool2d`: the same max, blurred before it is subsampled.
    Every convolution pads with ``padding_mode``; with ``batch_norm`` a
    ``BatchNorm2d`` follows each convolution. ``head="average"``: global
    average pooling, then linear (2·width → classes); ``head="flatten"``: the
    final maps flattened into one vector, then linear (the layout of LeNet;
    needs ``input_size``, the side of the square input).
    """
    width = check_int("width", width, 1)
    classes = check_int("classes", classes, 1)
    if head not in ("average", "flatten"):
        raise ValueError(f"head must be 'average' or 'flatten', got {head!r}")
    side = check_int("input_size", input_size, 4)
    if side % 4:
        raise ValueError(f"input_size must be divisible by 4 (two downsamplings by 2), got {side}")

    def down():
        return MaxBlurPool2d(2, 2) if antialias else nn.MaxPool2d(2)

    def norm(channels):
        return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()

    w2 = 2 * width
    return nn.Sequential(
        nn.Conv2d(1, width, 5, padding=2, padding_mode=padding_mode),
        norm(width),
        nn.ReLU(),
        down(),
        nn.Conv2d(width, w2, 5, padding=2, padding_mode=padding_mode),
        norm(w2),
        nn.ReLU(),
        down(),
        nn.Conv2d(w2, w2, 3, padding=1, padding_mode=padding_mode),
        norm(w2),
        nn.ReLU(),
        *([nn.AdaptiveAvgPool2d(1)] if head == "average" else []),
        nn.Flatten(),
        nn.Linear(w2 if head == "average" else w2 * (side // 4) ** 2, classes),
    )


def _pooling_builder(antialias, head):
    def build(canvas_size=16, width=8, classes=10, seed=0):
        return _seeded(lambda: small_cnn(antialias=antialias, width=width, classes=classes, batch_norm=True,
                                         head=head, input_size=canvas_size), seed)

    return build


_BUILDERS = {
    "fully connected": fully_connected,
    "locally connected": locally_connected,
    "convolutional": convolutional,
    "max pool": _pooling_builder(False, "average"),
    "blur pool": _pooling_builder(True, "average"),
    "flatten": _pooling_builder(False, "flatten"),
}


def build(kind, seed=0, **options):
    """``build("convolutional", seed=1, channels=(8, 16))``: a network of :data:`KINDS` or
    :data:`POOLING_KINDS` with its options (``canvas_size`` for all of them)."""
    if kind not in _BUILDERS:
        raise ValueError(f"kind must be one of {tuple(_BUILDERS)}, got {kind!r}")
    return _BUILDERS[kind](seed=seed, **options)


def tied_locally_connected(conv_net, canvas_size=16, kernel_size=3, pool=2, padding=0):
    """A locally connected network that computes exactly what ``conv_net`` computes.

    ``conv_net`` is a network from :func:`convolutional` with this geometry.
    Every position of every ``LocallyConnected2d`` gets a copy of the
    corresponding convolution's kernels and biases
    (``LocallyConnected2d.from_conv``), the classifier is copied as it is.
    The copies are independent parameters: training would untie them.
    """
    channels = (conv_net[0].out_channels, conv_net[3].out_channels)
    local = locally_connected(canvas_size, channels, kernel_size, pool, padding, conv_net[-1].out_features)
    with torch.no_grad():
        for i in (0, 3):
            copy = LocallyConnected2d.from_conv(conv_net[i], local[i].input_size)
            local[i].weight.copy_(copy.weight)
            local[i].bias.copy_(copy.bias)
        local[-1].load_state_dict(conv_net[-1].state_dict())
    return local


def counted_parameters(
    kind, canvas_size=16, channels=(16, 32), kernel_size=3, pool=2, padding=0, hidden=(256, 256), classes=10
):
    """The parameter count of ``build(kind, ...)`` from the layer formulas of :mod:`cnnlib.counting`."""
    if kind == "fully connected":
        widths = [canvas_size * canvas_size, *hidden, classes]
        return sum(counting.fully_connected_params(a, b) for a, b in zip(widths[:-1], widths[1:]))
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    c1, c2 = _check_channels(channels)
    _, pooled, _ = geometry(canvas_size, kernel_size, pool, padding)
    head = counting.fully_connected_params(c2, classes)  # pooling has no parameters
    if kind == "convolutional":
        return counting.conv2d_params(1, c1, kernel_size) + counting.conv2d_params(c1, c2, kernel_size) + head
    return (
        counting.locally_connected2d_params(canvas_size, 1, c1, kernel_size, padding=padding)
        + counting.locally_connected2d_params(pooled, c1, c2, kernel_size, padding=padding)
        + head
    )

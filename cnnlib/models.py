"""Three small image classifiers that differ only in the constraint on their layers.

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

Every builder takes ``seed``: the same seed gives the same initial weights,
whatever the global random state (the global generator is left untouched).
"""

import torch
from torch import nn

from cnnlib import counting
from cnnlib.layers import LocallyConnected2d
from cnnlib.shapes import check_int, conv_output_size

KINDS = ("fully connected", "locally connected", "convolutional")


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


BUILDERS = {"fully connected": fully_connected, "locally connected": locally_connected, "convolutional": convolutional}


def build(kind, seed=0, **options):
    """``build("convolutional", seed=1, channels=(8, 16))``: one of :data:`KINDS` with its options."""
    if kind not in BUILDERS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return BUILDERS[kind](seed=seed, **options)


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

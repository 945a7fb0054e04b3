"""A small VGG-style stack, and where its weights and its activations are.

VGG networks (Simonyan and Zisserman 2015) stack 3×3 convolutions with
"same" padding in stages; a 2×2 max pooling halves the height and width
after each stage and the next stage doubles the channels. Chapter 5 builds
such a stack and counts, layer by layer, its parameters (what the layer
stores) against its activations (the values of its output, which a forward
pass writes and training keeps for the backward pass):

* :func:`vgg_stack`: the stack as an ``nn.Sequential`` with named layers
  (``conv1_1``, ``relu1_1``, ..., ``pool1``, ...);
* :func:`layer_costs`: one row per convolution and pooling layer, with its
  output shape, parameters, activations and multiply-adds, from one forward
  pass with hooks. On a model built under ``with torch.device("meta"):`` the
  pass computes shapes only and allocates nothing, so a 224×224 input costs
  no memory and no time.
"""

from collections import OrderedDict
from math import prod

import torch
from torch import nn

from cnnlib import counting
from cnnlib.models._shapes import output_shapes
from cnnlib.shapes import check_int

__all__ = ["vgg_stack", "layer_costs"]


def vgg_stack(in_channels=3, widths=(64, 128, 256, 512), convs_per_stage=2, kernel_size=3, bias=True):
    """``len(widths)`` stages of ``convs_per_stage`` convolutions (``kernel_size``,
    "same" padding, each followed by a ReLU) and one 2×2 max pooling (stride 2);
    stage ``s`` has ``widths[s]`` channels. Layer names: ``conv{s}_{n}``,
    ``relu{s}_{n}``, ``pool{s}``, counted from 1 as in the VGG paper."""
    channels = check_int("in_channels", in_channels, 1)
    convs = check_int("convs_per_stage", convs_per_stage, 1)
    k = check_int("kernel_size", kernel_size, 1)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd for 'same' padding, got {k}")
    if not widths:
        raise ValueError("widths must name at least one stage")
    layers = []
    for s, width in enumerate(widths, start=1):
        width = check_int(f"widths[{s - 1}]", width, 1)
        for n in range(1, convs + 1):
            layers.append((f"conv{s}_{n}", nn.Conv2d(channels, width, k, padding=k // 2, bias=bias)))
            layers.append((f"relu{s}_{n}", nn.ReLU(inplace=True)))
            channels = width
        layers.append((f"pool{s}", nn.MaxPool2d(2)))
    return nn.Sequential(OrderedDict(layers))


def layer_costs(model, x):
    """One row per convolution and max pooling of the ``nn.Sequential`` ``model`` on
    input ``x`` (a tensor, or a shape such as ``(1, 3, 224, 224)``, zeros on the
    model's device), in order: ``dict(layer, shape, params, activations, macs)``.

    ``shape`` is the layer's output ``(C, H, W)`` for one image; ``activations``
    the number of values in it (``C·H·W``; a convolution's ReLU works in place
    and adds none); ``params`` from :func:`cnnlib.counting.module_params`;
    ``macs`` from :func:`cnnlib.counting.module_macs_by_layer` (one image).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        first = next(model.parameters(), None)
        x = torch.zeros(tuple(x), device=first.device if first is not None else "cpu")
    if x.dim() != 4:
        raise ValueError(f"x must be one batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    counted = [(name, layer) for name, layer in model.named_children()
               if isinstance(layer, (nn.Conv2d, nn.MaxPool2d))]
    shapes = output_shapes(model, counted, x)
    macs = counting.module_macs_by_layer(model, x[:1])
    return [dict(layer=name, shape=shapes[name], params=counting.module_params(layer),
                 activations=prod(shapes[name]), macs=macs.get(name, 0))
            for name, layer in counted]

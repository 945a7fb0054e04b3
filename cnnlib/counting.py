"""Counting parameters and multiply-adds: from formulas, and from real torch modules.

Two ways that must agree, and the tests check that they do:

* **formulas** (:func:`conv2d_params`, :func:`conv2d_macs`, ...): exact
  Python integers, so 10**12 is exact, for layers of any size, even ones
  too large to build;
* **real modules**: :func:`module_params` counts what a ``torch.nn.Module``
  stores, :func:`module_macs` measures one forward pass with
  ``torch.utils.flop_counter.FlopCounterMode`` (both work on modules built
  under ``with torch.device("meta"):``, which allocate nothing).

*Parameters* means every number the module stores as a parameter: every
element of every tensor of ``module.parameters()``, weights and biases,
trainable or frozen (the course never freezes any, so "trainable
parameters" would be the same number). ``bias=False`` counts the weights
alone, as the sources often do. A *multiply-add* (MAC) is one
multiplication followed by one addition; ``FlopCounterMode`` reports two
FLOPs for each. Biases are counted as parameters but their additions are not
counted as multiply-adds; pooling, ReLU and normalisation do none (the usual
convention, and PyTorch's).

Sizes are ints or ``(height, width)`` pairs; ``padding`` is an int, a pair,
``"same"`` or ``"valid"`` as in :func:`cnnlib.conv_output_size`.
"""

from cnnlib.shapes import check_int, conv_output_size, pair

__all__ = [
    "fully_connected_params",
    "fully_connected_macs",
    "conv2d_params",
    "conv2d_macs",
    "locally_connected2d_params",
    "locally_connected2d_macs",
    "channel_shared_conv2d_params",
    "depthwise_separable_conv2d_params",
    "depthwise_separable_conv2d_macs",
    "pool2d_ops",
    "module_params",
    "module_macs",
    "module_macs_by_layer",
]


def _channels(in_channels, out_channels, groups=1):
    c_in = check_int("in_channels", in_channels, 1)
    c_out = check_int("out_channels", out_channels, 1)
    g = check_int("groups", groups, 1)
    if c_in % g or c_out % g:
        raise ValueError(
            f"groups={g} must divide both in_channels={c_in} and out_channels={c_out}"
        )
    return c_in, c_out, g


# --- fully connected ------------------------------------------------------

def fully_connected_params(in_features, out_features, bias=True):
    """Parameters of ``nn.Linear(in_features, out_features)``: a weight per pair, a bias per output."""
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    return n_in * n_out + (n_out if bias else 0)


def fully_connected_macs(in_features, out_features, batch=1):
    """Multiply-adds of ``nn.Linear`` on ``batch`` inputs: every weight is used once per input."""
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    return check_int("batch", batch, 1) * n_in * n_out


# --- convolution: local and shared -----------------------------------------

def conv2d_params(in_channels, out_channels, kernel_size, bias=True, groups=1):
    """Parameters of ``nn.Conv2d``: ``out_channels`` kernels of shape
    ``(in_channels/groups, kh, kw)``, plus one bias per output channel.

    The input size does not appear: that is parameter sharing.
    """
    c_in, c_out, g = _channels(in_channels, out_channels, groups)
    kh, kw = pair("kernel_size", kernel_size)
    return c_out * (c_in // g) * kh * kw + (c_out if bias else 0)


def conv2d_macs(input_size, in_channels, out_channels, kernel_size, stride=1,
                padding=0, dilation=1, groups=1, batch=1):
    """Multiply-adds of ``nn.Conv2d`` on ``batch`` images of ``input_size``:
    one per kernel weight per output position."""
    c_in, c_out, g = _channels(in_channels, out_channels, groups)
    kh, kw = pair("kernel_size", kernel_size)
    oh, ow = conv_output_size(pair("input_size", input_size), (kh, kw), stride, padding, dilation)
    return check_int("batch", batch, 1) * oh * ow * c_out * (c_in // g) * kh * kw


def locally_connected2d_params(input_size, in_channels, out_channels, kernel_size,
                               stride=1, padding=0, dilation=1, bias=True):
    """Parameters of a locally connected layer (``cnnlib.LocallyConnected2d``):
    the geometry of a convolution, but a separate kernel and bias at every
    output position, ``out_h * out_w * out_channels * (in_channels*kh*kw + 1)``."""
    c_in, c_out, _ = _channels(in_channels, out_channels)
    kh, kw = pair("kernel_size", kernel_size)
    oh, ow = conv_output_size(pair("input_size", input_size), (kh, kw), stride, padding, dilation)
    return oh * ow * c_out * (c_in * kh * kw + (1 if bias else 0))


def locally_connected2d_macs(input_size, in_channels, out_channels, kernel_size,
                             stride=1, padding=0, dilation=1, batch=1):
    """Multiply-adds of a locally connected layer: exactly those of the
    convolution with the same geometry (sharing saves storage, not arithmetic)."""
    return conv2d_macs(input_size, in_channels, out_channels, kernel_size, stride,
                       padding, dilation, groups=1, batch=batch)


def channel_shared_conv2d_params(out_channels, kernel_size, bias=True):
    """Parameters of ``cnnlib.ChannelSharedConv2d``: one 2-D kernel per output
    map, shared by all input channels (the variant of sources 000 and 004)."""
    c_out = check_int("out_channels", out_channels, 1)
    kh, kw = pair("kernel_size", kernel_size)
    return c_out * (kh * kw + (1 if bias else 0))


def depthwise_separable_conv2d_params(in_channels, out_channels, kernel_size, bias=True):
    """Parameters of a depthwise-separable convolution: a depthwise ``kh×kw``
    convolution (``groups=in_channels``, one 2-D kernel per input channel) followed
    by a 1×1 convolution to ``out_channels``, ``kh*kw*C_in + C_in*C_out`` weights
    (plus ``C_in + C_out`` biases)."""
    return (conv2d_params(in_channels, in_channels, kernel_size, bias=bias, groups=in_channels)
            + conv2d_params(in_channels, out_channels, 1, bias=bias))


def depthwise_separable_conv2d_macs(input_size, in_channels, out_channels, kernel_size, stride=1,
                                    padding=0, dilation=1, batch=1):
    """Multiply-adds of :func:`depthwise_separable_conv2d_params`'s two layers: the
    depthwise convolution on ``input_size``, then the 1×1 convolution on its output."""
    kh, kw = pair("kernel_size", kernel_size)
    depthwise = conv2d_macs(input_size, in_channels, in_channels, (kh, kw), stride, padding,
                            dilation, groups=in_channels, batch=batch)
    out_size = conv_output_size(pair("input_size", input_size), (kh, kw), stride, padding, dilation)
    return depthwise + conv2d_macs(out_size, in_channels, out_channels, 1, batch=batch)


# --- pooling -------------------------------------------------------------

def pool2d_ops(input_size, channels, kernel_size, stride=None, padding=0, batch=1):
    """Elementary operations of max or average pooling: ``kh*kw - 1``
    comparisons (max) or additions (average) per output value, no multiply-adds."""
    c = check_int("channels", channels, 1)
    kh, kw = pair("kernel_size", kernel_size)
    stride = (kh, kw) if stride is None else stride
    oh, ow = conv_output_size(pair("input_size", input_size), (kh, kw), stride, padding)
    return check_int("batch", batch, 1) * c * oh * ow * (kh * kw - 1)


# --- real torch modules ------------------------------------------------------

def _check_module(module):
    from torch import nn

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return module


def module_params(module, bias=True):
    """Parameters of a torch module: every element of every parameter tensor.

    ``bias=False`` leaves out the parameters named ``bias`` (or ``*.bias``),
    the weights alone. Works on the meta device too.
    """
    _check_module(module)
    return sum(p.numel() for name, p in module.named_parameters()
               if bias or name.rpartition(".")[2] != "bias")


def _as_input(module, x):
    import torch

    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list, torch.Size)):
        shape = tuple(check_int(f"x[{i}]", s, 1) for i, s in enumerate(x))
        first = next(module.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        return torch.zeros(shape, device=device)
    raise TypeError(f"x must be a tensor or a shape tuple, got {type(x).__name__}")


def _flop_counter(module, x):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    _check_module(module)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(_as_input(module, x))
    return counter


def module_macs(module, x):
    """Multiply-adds of one forward pass of ``module`` on ``x``, measured by
    ``torch.utils.flop_counter.FlopCounterMode`` (which counts 2 FLOPs per MAC).

    ``x`` is a tensor or a shape such as ``(1, 3, 224, 224)`` (zeros on the
    module's device). Runs under ``torch.no_grad()``; the module's train/eval
    mode is left as it is (GoogLeNet runs its auxiliary classifiers only in
    training mode).
    """
    return _flop_counter(module, x).get_total_flops() // 2


def module_macs_by_layer(module, x):
    """Multiply-adds per submodule, ``{"layers.inception_3a": macs, ...}``.

    Keys are the names of :meth:`torch.nn.Module.named_modules` (``""`` is the
    whole module); submodules that do no multiply-adds are left out.
    """
    found = {}
    for name, ops in _flop_counter(module, x).get_flop_counts().items():
        if name == "Global":
            continue
        _, _, rest = name.partition(".")
        found[rest] = sum(ops.values()) // 2
    return found

"""Two PyTorch layers that sit beside ``nn.Conv2d`` in the course.

* :class:`LocallyConnected2d`: the geometry of a convolution (small windows,
  stride, padding, dilation) but a *separate* kernel and bias at every output
  position. Locality without weight sharing.
* :class:`ChannelSharedConv2d`: one 2-D kernel per output map, shared by all
  input channels. More sharing than ``nn.Conv2d``.

Parameter counts (see :mod:`cnnlib.counting`):

* ``LocallyConnected2d``: ``H_out * W_out * C_out * (C_in*kh*kw + 1)``
* ``nn.Conv2d``:          ``C_out * (C_in*kh*kw + 1)``
* ``ChannelSharedConv2d``: ``C_out * (kh*kw + 1)``
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.shapes import check_int, conv_output_size, pair, resolve_padding

__all__ = ["LocallyConnected2d", "ChannelSharedConv2d"]


def _check_input(layer, x, in_channels, input_size=None):
    """Raise ``ValueError`` unless ``x`` is ``(N, C, H, W)`` or ``(C, H, W)`` as ``layer`` expects."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (3, 4):
        raise ValueError(f"{layer} expects x of shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    if x.shape[-3] != in_channels:
        raise ValueError(f"{layer} expects {in_channels} input channels, x {tuple(x.shape)} has {x.shape[-3]}")
    if input_size is not None and tuple(x.shape[-2:]) != input_size:
        raise ValueError(
            f"{layer} was built for input_size {input_size}, x {tuple(x.shape)} has {tuple(x.shape[-2:])}"
        )


def _pad_input(x, pads):
    """Zero-pad ``x`` by ``((top, bottom), (left, right))`` (possibly unequal, for ``"same"``)."""
    (top, bottom), (left, right) = pads
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom))
    return x


class LocallyConnected2d(nn.Module):
    """Like ``nn.Conv2d``, but every output position has its own kernel and bias.

    Arguments as ``nn.Conv2d`` (``padding``: int, pair, ``"same"`` or
    ``"valid"``; zero padding), plus ``input_size = (H, W)``, which the layer
    needs because its number of parameters depends on it.

    Parameters:

    * ``weight``: ``(H_out, W_out, C_out, C_in, kh, kw)``; ``weight[i, j]`` is
      the conv-shaped kernel bank used at output position ``(i, j)``.
    * ``bias``: ``(H_out, W_out, C_out)`` or ``None``.

    Input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; output ``(N, C_out, H_out, W_out)``:

        y[n, o, i, j] = bias[i, j, o] + sum_{c,u,v} weight[i, j, o, c, u, v] * x_pad[n, c, i*sh + u*dh, j*sw + v*dw]

    The same formula as a convolution, except that the weight carries the
    position ``(i, j)``. :meth:`from_conv` fills every position with the same
    kernel: the layer then computes exactly the convolution, and the gradient
    of that shared kernel is ``weight.grad.sum(dim=(0, 1))``, the sum of the
    per-position gradients.

    Initialisation as ``nn.Conv2d``: uniform in ``+-1/sqrt(C_in*kh*kw)``.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        input_size,
        stride=1,
        padding=0,
        dilation=1,
        bias=True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = pair("kernel_size", kernel_size)
        self.input_size = pair("input_size", input_size)
        self.stride = pair("stride", stride)
        self.dilation = pair("dilation", dilation)
        self.padding = padding
        self.pads = resolve_padding(padding, self.kernel_size, self.stride, self.dilation)
        self.output_size = conv_output_size(
            self.input_size, self.kernel_size, self.stride, padding, self.dilation
        )
        h_out, w_out = self.output_size
        kh, kw = self.kernel_size
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(
            torch.empty(h_out, w_out, self.out_channels, self.in_channels, kh, kw, **factory)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(h_out, w_out, self.out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        kh, kw = self.kernel_size
        bound = 1 / math.sqrt(self.in_channels * kh * kw)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_conv(cls, conv, input_size):
        """A locally connected layer whose every position holds ``conv``'s kernels (and bias).

        ``conv`` is an ``nn.Conv2d`` with ``groups=1`` and zero padding. The
        result computes ``conv(x)`` for inputs of ``input_size``, with the
        weights copied (untied) at every position.
        """
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
        if conv.groups != 1:
            raise ValueError(f"from_conv needs groups=1, conv has groups={conv.groups}")
        if conv.padding_mode != "zeros":
            raise ValueError(f"from_conv needs padding_mode='zeros', conv has {conv.padding_mode!r}")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            input_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(conv.weight.expand_as(layer.weight))  # (O, C, kh, kw) at every (i, j)
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.expand_as(layer.bias))
        return layer

    def forward(self, x):
        _check_input(type(self).__name__, x, self.in_channels, self.input_size)
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)
        x = _pad_input(x, self.pads)
        # cols[n, (c, u, v), l]: the window under output position l = i*W_out + j
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, stride=self.stride)
        h_out, w_out = self.output_size
        n, positions = x.shape[0], h_out * w_out
        w = self.weight.reshape(positions, self.out_channels, -1)  # (L, C_out, C_in*kh*kw)
        # one small matrix product per position: (L, N, K) @ (L, K, C_out) -> (L, N, C_out)
        y = torch.bmm(cols.permute(2, 0, 1), w.transpose(1, 2))
        y = y.permute(1, 2, 0).reshape(n, self.out_channels, h_out, w_out)
        if self.bias is not None:
            y = y + self.bias.permute(2, 0, 1)
        return y[0] if unbatched else y

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, stride={self.stride}, padding={self.padding!r}, "
            f"dilation={self.dilation}, output_size={self.output_size}, bias={self.bias is not None}"
        )


class ChannelSharedConv2d(nn.Module):
    """A convolution with one 2-D kernel per output map, shared by all input channels.

    ``weight``: ``(C_out, 1, kh, kw)``; ``bias``: ``(C_out,)`` or ``None``.
    Input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; output ``(N, C_out, H_out, W_out)``:

        y[n, o] = b[o] + sum_c  w[o, 0] * x[n, c]   (* = 2-D cross-correlation)
                = b[o] + w[o, 0] * (sum_c x[n, c])

    Because the kernel does not depend on ``c``, the layer only ever sees the
    **sum of the input channels**: it is an ``nn.Conv2d(1, C_out, ...)``
    applied to ``x.sum(dim=1, keepdim=True)``, and also an
    ``nn.Conv2d(C_in, C_out, ...)`` whose kernel is the same for every input
    channel (:meth:`to_conv2d`). Two inputs with equal channel sums give equal outputs.

    Other arguments as ``nn.Conv2d`` (zero padding; ``padding`` int, pair,
    ``"same"`` or ``"valid"``). Initialisation uniform in
    ``+-1/sqrt(C_in*kh*kw)``, the bound of the equivalent ``nn.Conv2d``.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        bias=True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = pair("kernel_size", kernel_size)
        self.stride = pair("stride", stride)
        self.dilation = pair("dilation", dilation)
        self.padding = padding
        self.pads = resolve_padding(padding, self.kernel_size, self.stride, self.dilation)
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(self.out_channels, 1, *self.kernel_size, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        kh, kw = self.kernel_size
        bound = 1 / math.sqrt(self.in_channels * kh * kw)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        _check_input(type(self).__name__, x, self.in_channels)
        # raises ValueError if the kernel does not fit in the padded input
        conv_output_size(tuple(x.shape[-2:]), self.kernel_size, self.stride, self.padding, self.dilation)
        total = x.sum(dim=-3, keepdim=True)  # (N, 1, H, W) or (1, H, W): all the layer can see
        total = _pad_input(total, self.pads)
        return F.conv2d(total, self.weight, self.bias, self.stride, 0, self.dilation)

    def to_conv2d(self):
        """The equivalent ``nn.Conv2d(C_in, C_out, ...)``: the shared kernel copied to every input channel."""
        conv = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            bias=self.bias is not None,
            device=self.weight.device,
            dtype=self.weight.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(self.weight.expand_as(conv.weight))
            if self.bias is not None:
                conv.bias.copy_(self.bias)
        return conv

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding!r}, dilation={self.dilation}, "
            f"bias={self.bias is not None}"
        )

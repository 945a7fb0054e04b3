"""Anti-aliased downsampling (Zhang 2019): blur, then subsample. PyTorch, no parameters.

``nn.MaxPool2d(2)`` takes the maximum and keeps every second value in one
step, so a one-pixel shift of the input can change which values are kept
(aliasing). Blurring with a small binomial filter before keeping every
second value removes the fine detail that a shift would move between the
kept and the discarded pixels:

* :func:`_binomial_filter`: the normalised 2-D binomial filter;
* :func:`_blur_pool2d` and :class:`BlurPool2d`: blur every channel, then subsample;
* :class:`MaxBlurPool2d`: max over windows at stride 1, then :class:`BlurPool2d`.

Tensors are ``(N, C, H, W)``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.shapes import check_int

__all__ = ["BlurPool2d", "MaxBlurPool2d"]


def _binomial_filter(size=3):
    """The normalised 2-D binomial filter ``(size, size)``: row ``[1, 2, 1] / 4`` times its transpose for ``size=3``.

    float32 torch tensor summing to 1: a cheap low-pass filter (Zhang 2019).
    """
    size = check_int("size", size, 1)
    row = torch.ones(1, dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    for _ in range(size - 1):  # Pascal's triangle: each row is the last one plus itself shifted by one
        row = torch.cat([row, zero]) + torch.cat([zero, row])
    row = row / row.sum()
    return torch.outer(row, row).to(torch.float32)


def _check_tensor(name, x):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be (N, C, H, W), got shape {tuple(x.shape)}")


def _blur_pool2d(x, filter_size=3, stride=2, padding_mode="circular"):
    """Blur every channel with :func:`_binomial_filter`, then keep every ``stride``-th pixel.

    ``x`` torch ``(N, C, H, W)``; padding ``(filter_size - 1) // 2`` on every
    side with ``padding_mode`` (``"circular"``, ``"reflect"``, ``"replicate"``
    or ``"zeros"``). Returns ``(N, C, ceil(H / stride), ceil(W / stride))``
    for odd ``filter_size``. With ``"circular"`` it commutes with cyclic
    shifts by multiples of ``stride`` (the output moving by ``shift / stride``).
    """
    _check_tensor("x", x)
    stride = check_int("stride", stride, 1)
    kernel = _binomial_filter(filter_size).to(x.dtype)
    channels = x.shape[1]
    lo, hi = (filter_size - 1) // 2, filter_size // 2
    if padding_mode == "zeros":
        x = F.pad(x, (lo, hi, lo, hi))
    elif padding_mode in ("circular", "reflect", "replicate"):
        x = F.pad(x, (lo, hi, lo, hi), mode=padding_mode)
    else:
        raise ValueError(f"padding_mode must be 'circular', 'reflect', 'replicate' or 'zeros', got {padding_mode!r}")
    weight = kernel.expand(channels, 1, filter_size, filter_size)
    return F.conv2d(x, weight, stride=stride, groups=channels)


class BlurPool2d(nn.Module):
    """:func:`_blur_pool2d` as a module (no parameters)."""

    def __init__(self, filter_size=3, stride=2, padding_mode="circular"):
        super().__init__()
        self.filter_size = check_int("filter_size", filter_size, 1)
        self.stride = check_int("stride", stride, 1)
        self.padding_mode = padding_mode

    def forward(self, x):
        return _blur_pool2d(x, self.filter_size, self.stride, self.padding_mode)

    def extra_repr(self):
        return f"filter_size={self.filter_size}, stride={self.stride}, padding_mode={self.padding_mode!r}"


class MaxBlurPool2d(nn.Module):
    """Zhang's anti-aliased max pooling: max over ``kernel_size`` windows at stride 1, then :class:`BlurPool2d`.

    ``nn.MaxPool2d(kernel_size, stride)`` evaluates the max and subsamples in
    one step; this module keeps the max everywhere (circularly padded, so the
    map keeps its size ``H × W``) and blurs before it subsamples. Input
    ``(N, C, H, W)``, output ``(N, C, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, kernel_size=2, stride=2, filter_size=3):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.blur = BlurPool2d(filter_size, stride, "circular")

    def forward(self, x):
        _check_tensor("x", x)
        k = self.kernel_size
        x = F.pad(x, (0, k - 1, 0, k - 1), mode="circular") if k > 1 else x
        return self.blur(F.max_pool2d(x, k, stride=1))

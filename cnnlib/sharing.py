"""Experiments of chapter 2 (one kernel everywhere), reused by the claims audit.

* :func:`source002_example`: the worked 5x5 (*) 3x3 example of source 002;
* :func:`window_pixel_indices`: which input pixel each kernel weight multiplies
  at one output position (found by probing the convolution, not by formula);
* :func:`window_coverage`: how many windows cover each pixel (stride, borders);
* :func:`floor_needed`: where source 002's output-size formula, written without
  its floor, is not even an integer;
* :func:`fit_conv_least_squares`: the best convolution (or channel-shared
  convolution) for a target, by linear least squares;
* :func:`channel_difference_experiment`: what the channel-shared variant of
  sources 000 and 004 cannot represent (a difference of colour channels);
* :func:`shared_gradient_experiment`: the gradient of a shared weight is the
  sum of its gradients at every position (on :func:`gradient_example`);
  :func:`sigmoid_slope`, the derivative of the sigmoid source 002 bounds;
* :func:`flip_experiment`: cross-correlation vs convolution when the kernel
  is learned (on :func:`flip_example`);
* :func:`local_vs_conv_cost`: multiply-adds (counted) and time (measured) of
  a locally connected layer and a convolution of the same geometry.

Shapes follow PyTorch: images ``(C, H, W)``, kernels ``(C_out, C_in, kh, kw)``.
"""

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from cnnlib import counting
from cnnlib.conv import conv2d, conv2d_backward
from cnnlib.layers import ChannelSharedConv2d, LocallyConnected2d
from cnnlib.shapes import check_int, conv_output_size, pair
from cnnlib.timing import single_thread, time_side_by_side

__all__ = [
    "SOURCE002_IMAGE",
    "SOURCE002_KERNEL",
    "source002_example",
    "window_pixel_indices",
    "window_coverage",
    "floor_needed",
    "fit_conv_least_squares",
    "channel_difference_experiment",
    "gradient_example",
    "shared_gradient_experiment",
    "sigmoid_slope",
    "flip_example",
    "flip_experiment",
    "local_vs_conv_cost",
]

# Source 002's worked example: a 5x5 binary image and a 3x3 "X" kernel.
SOURCE002_IMAGE = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], dtype=float
)
SOURCE002_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)


class WorkedExample(NamedTuple):
    image: np.ndarray  # (5, 5)
    kernel: np.ndarray  # (3, 3)
    output: np.ndarray  # (3, 3)


def source002_example():
    """Source 002's example computed with :func:`cnnlib.conv2d` (stride 1, no padding).

    Returns ``WorkedExample(image (5, 5), kernel (3, 3), output (3, 3))``;
    ``output[0, 0]`` is the "first value" the source computes by hand.
    """
    out = conv2d(SOURCE002_IMAGE[None, None], SOURCE002_KERNEL[None, None])[0, 0]
    return WorkedExample(SOURCE002_IMAGE.copy(), SOURCE002_KERNEL.copy(), out)


def window_pixel_indices(input_shape, kernel_size, position=(0, 0), stride=1, padding=0):
    """Which input pixel each kernel weight multiplies at output ``position``.

    Pixels are numbered row by row, ``0 .. H*W-1``; ``-1`` marks a tap that
    reads the zero padding. Found by running :func:`cnnlib.conv2d` on the
    image of pixel numbers with a one-hot kernel per tap, so it tests the
    convolution rather than restating its formula. Returns an int array
    ``(kh, kw)``.
    """
    h, w = pair("input_shape", tuple(input_shape))
    kh, kw = pair("kernel_size", kernel_size)
    numbers = np.arange(1, h * w + 1, dtype=float).reshape(1, 1, h, w)  # 0 is left for the padding
    one_hot = np.eye(kh * kw).reshape(kh * kw, 1, kh, kw)
    out = conv2d(numbers, one_hot, stride=stride, padding=padding)  # (1, kh*kw, Ho, Wo)
    i, j = position
    if not (0 <= i < out.shape[2] and 0 <= j < out.shape[3]):
        raise ValueError(f"position {position} is outside the {out.shape[2]}x{out.shape[3]} output")
    return out[0, :, i, j].reshape(kh, kw).astype(int) - 1


def window_coverage(size, kernel_size, stride=1, padding=0):
    """How many windows read each input pixel along one axis: an int array ``(size,)``.

    Zeros are pixels that no output unit ever sees (when ``size + 2*padding
    - kernel_size`` is not a multiple of the stride, the last pixels are
    dropped, as in PyTorch).
    """
    n = check_int("size", size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    count = np.zeros(n, dtype=int)
    for o in range(conv_output_size(n, k, s, p)):
        start = o * s - p
        count[max(start, 0) : max(min(start + k, n), 0)] += 1
    return count


def floor_needed(sizes=range(1, 13), kernels=range(1, 6), paddings=range(0, 3), strides=range(1, 4)):
    """Where the output-size formula needs its floor: ``(needed, settings)``, two ints.

    ``settings`` counts the combinations ``(n, f, p, s)`` of the given input
    sizes, window sizes, paddings and strides where a window fits
    (``f <= n + 2p``); ``needed`` those where ``(n + 2p - f) / s + 1``, the
    formula as source 002 writes it, is not a whole number. The defaults are
    the cases the sharing chapter checks against PyTorch.
    """
    cases = [(n, f, p, s) for n in sizes for f in kernels for p in paddings for s in strides if f <= n + 2 * p]
    return sum((n + 2 * p - f) % s != 0 for n, f, p, s in cases), len(cases)


# --------------------------------------------------------------------------
# The best kernel for a target: linear least squares on the windows
# --------------------------------------------------------------------------


class Fit(NamedTuple):
    weight: np.ndarray  # (1, C, kh, kw) for a convolution, (1, 1, kh, kw) channel-shared
    bias: float
    prediction: np.ndarray  # (Ho, Wo)
    relative_residual: float  # ||y - prediction|| / ||y - mean(y)||: 0 perfect, 1 no better than a constant


def _windows(x, kh, kw):
    """``(Ho*Wo, C*kh*kw)``: one row per output position, in ``weight[0]``'s (c, u, v) order."""
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (C, Ho, Wo, kh, kw)
    c, ho, wo = win.shape[:3]
    return win.transpose(1, 2, 0, 3, 4).reshape(ho * wo, c * kh * kw), (ho, wo)


def fit_conv_least_squares(x, y, kernel_size, channel_shared=False, bias=True):
    """The kernel (and bias) minimising ``||conv(x) - y||`` exactly, by least squares.

    ``x``: ``(C, H, W)``; ``y``: ``(H - kh + 1, W - kw + 1)`` (stride 1, no
    padding). ``channel_shared=True`` fits the variant with one 2-D kernel
    for all channels (:class:`cnnlib.ChannelSharedConv2d`). The optimum over
    *all* kernels: no amount of training can do better. Returns a :class:`Fit`.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (C, H, W), got shape {x.shape}")
    kh, kw = pair("kernel_size", kernel_size)
    source = x.sum(axis=0, keepdims=True) if channel_shared else x
    a, (ho, wo) = _windows(source, kh, kw)
    if y.shape != (ho, wo):
        raise ValueError(f"y must have the valid output shape {(ho, wo)} of x {x.shape} and a {kh}x{kw} kernel, "
                         f"got {y.shape}")
    if bias:
        a = np.hstack([a, np.ones((a.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(a, y.ravel(), rcond=None)
    prediction = (a @ coef).reshape(ho, wo)
    weight = coef[: source.shape[0] * kh * kw].reshape(1, source.shape[0], kh, kw)
    b = float(coef[-1]) if bias else 0.0
    spread = np.linalg.norm(y - y.mean())
    residual = float(np.linalg.norm(y - prediction) / spread) if spread > 0 else 0.0
    return Fit(weight, b, prediction, residual)


class ChannelExperiment(NamedTuple):
    residual_conv: float  # relative residual of the best nn.Conv2d(3, 1, k)
    residual_shared: float  # relative residual of the best ChannelSharedConv2d(3, 1, k)
    params_conv: int
    params_shared: int
    conv_weight: np.ndarray  # (1, 3, k, k): the fitted kernel, one slice per channel
    swap_change_target: float  # max |target(x) - target(x with R, G swapped)|
    swap_change_shared: float  # max |shared(x) - shared(x with R, G swapped)|
    module_gap: float  # max |module output - least-squares prediction| over both modules


def channel_difference_experiment(image, kernel_size=3):
    """Fit the target ``R - G`` (centre pixel) with a convolution and with the channel-shared variant.

    ``image``: ``(3, H, W)`` floats (red, green, blue). The target needs the
    *difference* of two channels; the channel-shared layer only sees their
    sum, so it cannot represent it. Both fits are exact least squares, then
    loaded into the real modules (``nn.Conv2d`` and
    :class:`cnnlib.ChannelSharedConv2d`) to check that the modules compute
    the same predictions. Also swaps the red and green channels: the target
    changes sign, the channel-shared output does not change at all.
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"image must be (3, H, W) with channels R, G, B, got shape {x.shape}")
    k = check_int("kernel_size", kernel_size, 1)
    r = k // 2

    def target(img):
        diff = img[0] - img[1]
        return diff[r : img.shape[1] - (k - 1 - r), r : img.shape[2] - (k - 1 - r)]

    y = target(x)
    full = fit_conv_least_squares(x, y, k)
    shared = fit_conv_least_squares(x, y, k, channel_shared=True)

    xt = torch.from_numpy(x)[None]
    conv = nn.Conv2d(3, 1, k, dtype=torch.float64)
    variant = ChannelSharedConv2d(3, 1, k, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(full.weight))
        conv.bias.fill_(full.bias)
        variant.weight.copy_(torch.from_numpy(shared.weight))
        variant.bias.fill_(shared.bias)
        gap = max(
            float(np.abs(conv(xt)[0, 0].numpy() - full.prediction).max()),
            float(np.abs(variant(xt)[0, 0].numpy() - shared.prediction).max()),
        )
        swapped = x[[1, 0, 2]]
        swap_shared = float(np.abs(variant(xt)[0, 0].numpy() - variant(torch.from_numpy(swapped)[None])[0, 0].numpy())
                            .max())
    return ChannelExperiment(
        residual_conv=full.relative_residual,
        residual_shared=shared.relative_residual,
        params_conv=counting.module_params(conv),
        params_shared=counting.module_params(variant),
        conv_weight=full.weight,
        swap_change_target=float(np.abs(y - target(swapped)).max()),
        swap_change_shared=swap_shared,
        module_gap=gap,
    )


# --------------------------------------------------------------------------
# Gradients of shared weights
# --------------------------------------------------------------------------


class GradientExperiment(NamedTuple):
    per_position: np.ndarray  # (Ho, Wo, C_out, C_in, kh, kw): each position's own kernel gradient
    summed: np.ndarray  # (C_out, C_in, kh, kw): per_position summed over positions
    numpy_dw: np.ndarray  # cnnlib.conv2d_backward's dw
    torch_dw: np.ndarray  # autograd on nn.Conv2d
    tied_dw: np.ndarray  # autograd on a LocallyConnected2d whose positions all point at one kernel
    spread: float  # max over taps of (largest - smallest) per-position gradient: > 0, they differ


def gradient_example(seed=0):
    """The sharing chapter's example: ``(x, weight, dout)``, standard normal from ``default_rng(seed)``.

    Two 3-channel 8×8 images ``(2, 3, 8, 8)``, four 3×3×3 kernels
    ``(4, 3, 3, 3)`` and an upstream gradient for the 6×6 outputs ``(2, 4, 6, 6)``.
    """
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, 3, 8, 8)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=(2, 4, 6, 6))


def sigmoid_slope(x):
    """The derivative of the logistic sigmoid, ``s(x) (1 - s(x))``, float64.

    Written as ``e / (1 + e)**2`` with ``e = exp(-|x|)``, which stays accurate
    far from 0 (where ``1 - s(x)`` would round to 0). Its maximum is 1/4, at
    ``x = 0``; it is positive everywhere.
    """
    e = np.exp(-np.abs(np.asarray(x, dtype=np.float64)))
    return e / (1 + e) ** 2


def shared_gradient_experiment(x, weight, dout, stride=1, padding=0):
    """The gradient of a shared kernel, computed four ways.

    ``x``: ``(N, C_in, H, W)``; ``weight``: ``(C_out, C_in, kh, kw)``;
    ``dout``: the upstream gradient ``dL/dy``, shaped like the output. The
    loss is ``L = sum(y * dout)``.

    1. a :class:`cnnlib.LocallyConnected2d` holding a copy of the kernel at
       every position (``from_conv``): autograd gives each position's own
       gradient; ``summed`` adds them up;
    2. :func:`cnnlib.conv2d_backward`'s ``dw``;
    3. autograd through ``nn.Conv2d``;
    4. a locally connected layer *tied by hand*: its weight is one kernel
       tensor expanded to every position, so autograd itself adds up the
       positions' gradients into that one tensor.
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    c_out, c_in, kh, kw = weight.shape
    input_size = x.shape[2:]
    xt, gt = torch.from_numpy(x), torch.from_numpy(dout)

    conv = nn.Conv2d(c_in, c_out, (kh, kw), stride=stride, padding=padding, bias=False, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight))
    local = LocallyConnected2d.from_conv(conv, input_size)
    (local(xt) * gt).sum().backward()
    per_position = local.weight.grad.numpy()

    (conv(xt) * gt).sum().backward()
    torch_dw = conv.weight.grad.numpy()

    _, numpy_dw, _ = conv2d_backward(dout, x, weight, stride=stride, padding=padding)

    tied = LocallyConnected2d.from_conv(conv, input_size)
    kernel = torch.from_numpy(weight.copy()).requires_grad_()
    del tied.weight  # replace the parameter by a view of one kernel at every position
    tied.weight = kernel.expand(*tied.output_size, c_out, c_in, kh, kw)
    (tied(xt) * gt).sum().backward()

    flat = per_position.reshape(-1, c_out * c_in * kh * kw)
    return GradientExperiment(
        per_position=per_position,
        summed=per_position.sum(axis=(0, 1)),
        numpy_dw=numpy_dw,
        torch_dw=torch_dw,
        tied_dw=kernel.grad.numpy(),
        spread=float((flat.max(axis=0) - flat.min(axis=0)).max()),
    )


# --------------------------------------------------------------------------
# Cross-correlation vs convolution
# --------------------------------------------------------------------------


class FlipExperiment(NamedTuple):
    kernel: np.ndarray  # (kh, kw): the kernel of the true convolution that made the targets
    learned: np.ndarray  # (kh, kw): the cross-correlation kernel learned from the targets
    residual: float  # relative residual of the learned layer (0: exact)
    flip_identity_gap: float  # max |convolve(x, k) - correlate(x, flip(k))|


def flip_example():
    """The sharing chapter's example: ``(image, kernel)``, scikit-image's ``camera`` averaged down to
    64×64 in [0, 1], and an asymmetric 3×3 kernel (its flip differs from it)."""
    from skimage import data, transform

    image = transform.downscale_local_mean(data.camera() / 255.0, (8, 8))
    return image, np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.0, 0.0, -2.0]])


def flip_experiment(image, kernel):
    """Targets made by a true convolution (kernel flipped, ``scipy.signal.convolve2d``),
    learned by a cross-correlation layer (what ``nn.Conv2d`` and :func:`cnnlib.conv2d` compute).

    ``image``: ``(H, W)``; ``kernel``: ``(kh, kw)``. The learned kernel is the
    flipped one: the two operations differ by a relabelling of the weights,
    which learning absorbs.
    """
    from scipy.signal import convolve2d

    x = np.asarray(image, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or k.ndim != 2:
        raise ValueError(f"image and kernel must be 2-D, got shapes {x.shape} and {k.shape}")
    y = convolve2d(x, k, mode="valid")
    fit = fit_conv_least_squares(x[None], y, k.shape, bias=False)
    flipped = conv2d(x[None, None], k[::-1, ::-1][None, None].copy())[0, 0]
    return FlipExperiment(k, fit.weight[0, 0], fit.relative_residual, float(np.abs(y - flipped).max()))


# --------------------------------------------------------------------------
# Sharing saves storage, not arithmetic
# --------------------------------------------------------------------------


class CostComparison(NamedTuple):
    macs_local: int  # counted (cnnlib.counting)
    macs_conv: int
    flops_local: int  # counted by torch.utils.flop_counter on the real modules
    flops_conv: int
    params_local: int
    params_conv: int
    seconds: dict  # median seconds per forward pass: "nn.Conv2d", "unfold + one kernel", "LocallyConnected2d"
    max_output_gap: float  # max |local(x) - conv(x)| with the kernels tied


def local_vs_conv_cost(input_size=32, in_channels=16, out_channels=16, kernel_size=3, batch=8,
                       rounds=9, min_seconds=0.02, seed=0):
    """Count and time a convolution and a locally connected layer of the same geometry.

    The locally connected layer holds the convolution's kernel at every
    position (``from_conv``), so both compute the same function. Three
    forward passes are timed in turn, round after round, on one thread
    (:func:`cnnlib.timing.time_side_by_side`): ``nn.Conv2d``; "unfold + one
    kernel", the convolution written the same way as the locally connected
    layer (windows unfolded, one matrix product); and ``LocallyConnected2d``
    (windows unfolded, one small product per position).
    """
    torch.manual_seed(seed)
    h, w = pair("input_size", input_size)
    conv = nn.Conv2d(in_channels, out_channels, kernel_size)
    local = LocallyConnected2d.from_conv(conv, (h, w))
    x = torch.randn(batch, in_channels, h, w)
    k = pair("kernel_size", kernel_size)
    ho, wo = conv_output_size((h, w), k)

    def unfold_conv():
        cols = F.unfold(x, k)  # (N, C*kh*kw, L)
        y = conv.weight.reshape(out_channels, -1) @ cols  # one kernel for every window
        return (y + conv.bias[:, None]).reshape(batch, out_channels, ho, wo)

    with torch.no_grad(), single_thread():  # one thread: fair, and no thread contention on a busy machine
        gap = float((local(x) - conv(x)).abs().max())
        gap = max(gap, float((unfold_conv() - conv(x)).abs().max()))
        seconds = time_side_by_side(
            {"nn.Conv2d": lambda: conv(x), "unfold + one kernel": unfold_conv,
             "LocallyConnected2d": lambda: local(x)},
            repeat=check_int("rounds", rounds, 1), min_time=min_seconds,
        )
    return CostComparison(
        macs_local=counting.locally_connected2d_macs((h, w), in_channels, out_channels, kernel_size, batch=batch),
        macs_conv=counting.conv2d_macs((h, w), in_channels, out_channels, kernel_size, batch=batch),
        flops_local=2 * counting.module_macs(local, x),  # FlopCounterMode: two FLOPs per multiply-add
        flops_conv=2 * counting.module_macs(conv, x),
        params_local=counting.module_params(local),
        params_conv=counting.module_params(conv),
        seconds=seconds,
        max_output_gap=gap,
    )

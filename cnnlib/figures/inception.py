"""Figures for the chapter on 1×1 convolutions: the Inception module drawn with
each branch's shapes and costs, the cost of a convolution with a 1×1
reduction in front as a function of the reduction width, and the parameters
against the activations of each layer of a VGG-style stack.

Every number written on a figure is computed by :mod:`cnnlib.inception`
(:func:`~cnnlib.inception.inception_branch_costs`,
:func:`~cnnlib.inception.reduced_conv_params`), never typed.
"""

import matplotlib.pyplot as plt
from matplotlib import colors as mcolors
from matplotlib.cm import ScalarMappable
from matplotlib.patches import FancyBboxPatch

from cnnlib.inception import (inception_branch_costs, inception_params, inception_macs,
                              inception_out_channels, reduced_conv_params, reduction_break_even)
from cnnlib.figures._style import COLUMN_WIDTH_IN
from cnnlib.shapes import pair

__all__ = ["inception_figure", "plot_reduction_costs", "plot_params_vs_activations", "plot_one_by_one_as_matrix"]

_GREY = "#d9d9d9"
_BOX_W, _BOX_H = 0.92, 0.66
_NAMES = {"1x1": "1×1", "3x3": "3×3", "5x5": "5×5", "pool": "pool"}


def _shape_text(shape):
    return "×".join(str(s) for s in shape)


def _text_colour(facecolour):
    r, g, b, _ = mcolors.to_rgba(facecolour)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _box(ax, x, y, text, facecolour, fontsize):
    ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                boxstyle="round,pad=0.02,rounding_size=0.05",
                                facecolor=facecolour, edgecolor="black", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=_text_colour(facecolour))


def _line(ax, xs, ys):
    ax.plot(xs, ys, color="black", linewidth=0.8, solid_capstyle="butt")


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color="black", linewidth=0.8, shrinkA=0, shrinkB=0))


def _draw_inception(ax, input_size, in_channels, n1x1, n3x3, n5x5, n3x3_reduce=None,
                   n5x5_reduce=None, pool_proj=None, norm=None, cmap="viridis", fontsize=8.5,
                   title=None):
    """Draw one Inception module on ``ax``: the input at the bottom, the four
    branches (1×1, 3×3, 5×5, pool) as columns of boxes, the concatenation on top.

    Each convolution's box gives its output shape (H×W×C), its parameters
    (with biases) and its multiply-adds, and is coloured by its multiply-adds
    on ``norm`` (a ``matplotlib.colors.Normalize``; by default 0 to this
    module's most expensive layer); pooling, input and output boxes are grey.
    Returns the ``Normalize`` used, so a second module can share the scale.
    """
    h, w = pair("input_size", input_size)
    costs = inception_branch_costs((h, w), in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    if norm is None:
        norm = mcolors.Normalize(0, max(l["macs"] for b in costs.values() for l in b["layers"]))
    colour_map = plt.get_cmap(cmap)
    top = 3.0
    low_bus, high_bus = 0.5, 2.5  # the input fans out along one line, the branches join along another
    _box(ax, 2.0, 0.0, f"input\n{_shape_text((h, w, in_channels))}", _GREY, fontsize)
    _line(ax, [2.0, 2.0], [_BOX_H / 2, low_bus])
    _line(ax, [0.5, 3.5], [low_bus, low_bus])
    _line(ax, [0.5, 3.5], [high_bus, high_bus])
    _arrow(ax, (2.0, high_bus), (2.0, top - _BOX_H / 2))
    for column, (name, branch) in enumerate(costs.items()):
        x = column + 0.5
        levels = [2.0] if len(branch["layers"]) == 1 else [1.0, 2.0]
        _arrow(ax, (x, low_bus), (x, levels[0] - _BOX_H / 2))
        for level, layer in zip(levels, branch["layers"]):
            if layer["kind"] == "conv":
                text = (f"{layer['label']}\n{_shape_text(layer['shape'])}\n"
                        f"{layer['params']:,} params\n{layer['macs'] / 1e6:,.1f}M MACs")
                face = colour_map(norm(layer["macs"]))
            else:
                text = f"{layer['label']}\n{_shape_text(layer['shape'])}\nno parameters"
                face = _GREY
            _box(ax, x, level, text, face, fontsize)
        if len(levels) == 2:
            _arrow(ax, (x, 1.0 + _BOX_H / 2), (x, 2.0 - _BOX_H / 2))
        _line(ax, [x, x], [2.0 + _BOX_H / 2, high_bus])
    out_c = inception_out_channels(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    params = inception_params(in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    macs = inception_macs((h, w), in_channels, n1x1, n3x3, n5x5, n3x3_reduce, n5x5_reduce, pool_proj)
    widths = " + ".join(str(b["out_channels"]) for b in costs.values())
    _box(ax, 2.0, top, f"concatenate\n{widths}\n= {_shape_text((h, w, out_c))}", _GREY, fontsize)  # fits the box
    summary = f"{params:,} parameters, {macs / 1e6:,.1f}M multiply-adds"
    ax.set_title(f"{title}\n{summary}" if title else summary, fontsize=fontsize + 2)
    ax.set_xlim(-0.05, 4.05)
    ax.set_ylim(-0.4, top + 0.4)
    ax.set_axis_off()
    return norm


def inception_figure(input_size, in_channels, naive, bottleneck, cmap="viridis", titles=None):
    """Two Inception modules, one above the other, on one colour scale: ``naive`` and
    ``bottleneck`` are dicts of branch widths (``n1x1``, ``n3x3``, ... as for
    :func:`_draw_inception`). Returns the figure."""
    costs = [inception_branch_costs(input_size, in_channels, **cfg) for cfg in (naive, bottleneck)]
    vmax = max(l["macs"] for c in costs for b in c.values() for l in b["layers"])
    norm = mcolors.Normalize(0, vmax / 1e6)
    scaled = mcolors.Normalize(0, vmax)
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 10), layout="constrained")
    titles = titles or ("naive Inception module", "Inception module with 1×1 reductions")
    for ax, cfg, title in zip(axes, (naive, bottleneck), titles):
        _draw_inception(ax, input_size, in_channels, **cfg, norm=scaled, cmap=cmap, title=title)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, orientation="horizontal",
                       shrink=0.7, pad=0.01, aspect=40)
    bar.set_label("multiply-adds of the layer (millions)")
    return fig


def plot_reduction_costs(input_size, in_channels, out_channels, kernel_size, widths, mark=None, ax=None):
    """Weights of a k×k convolution ``in_channels -> out_channels`` with a 1×1
    reduction to ``width`` channels in front, against ``width``, beside the
    direct convolution (no biases). The right axis gives the multiply-adds at
    ``input_size`` (every layer runs at every pixel, so they are the weights
    times H·W). ``mark`` highlights one width. Returns the axes."""
    h, w = pair("input_size", input_size)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    widths = list(widths)
    reduced = [reduced_conv_params(in_channels, out_channels, kernel_size, r) for r in widths]
    direct = reduced_conv_params(in_channels, out_channels, kernel_size)
    colours = plt.get_cmap("viridis")
    k = f"{kernel_size}×{kernel_size}"
    ax.plot(widths, reduced, color=colours(0.15), linewidth=2,
            label=f"1×1 to r channels, then {k} to {out_channels}")
    ax.axhline(direct, color=colours(0.75), linestyle="--", linewidth=2,
               label=f"{k} directly, {in_channels} to {out_channels}")
    even = reduction_break_even(in_channels, out_channels, kernel_size)
    ax.axvline(float(even), color="grey", linestyle=":", linewidth=1.2,
               label=f"break-even width r = {float(even):.1f}")
    if mark is not None:
        y = reduced_conv_params(in_channels, out_channels, kernel_size, mark)
        ax.plot([mark], [y], "o", color="black", label=f"r = {mark}: {y:,} weights")
    ax.set_xlabel("reduction width r (channels after the 1×1 convolution)")
    ax.set_ylabel("weights")
    ax.ticklabel_format(axis="y", style="plain")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    hw = h * w
    right = ax.secondary_yaxis("right", functions=(lambda p: p * hw / 1e6, lambda m: m * 1e6 / hw))
    right.set_ylabel(f"multiply-adds on {h}×{w} (millions)")
    ax.set_xlim(0, max(widths))
    ax.set_ylim(0, None)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_params_vs_activations(rows, bytes_per_value=4, ax=None):
    """Bars per layer: parameters beside activations (values of the layer's output, one
    image), on a log scale. ``rows`` are :func:`cnnlib.models.vgg.layer_costs`'s; a
    pooling layer has no parameters and gets no bar for them. The right axis reads
    the same counts as memory at ``bytes_per_value`` bytes a value (float32: 4).
    Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    names = [r["layer"] for r in rows]
    xs = range(len(rows))
    colours = plt.get_cmap("viridis")
    ax.bar([x - 0.2 for x in xs], [r["params"] or float("nan") for r in rows], width=0.4,
           color=colours(0.2), label="parameters (stored)")
    ax.bar([x + 0.2 for x in xs], [r["activations"] for r in rows], width=0.4,
           color=colours(0.75), label="activations (output values, one image)")
    ax.set_yscale("log")
    counts = [n for r in rows for n in (r["params"], r["activations"]) if n]
    ax.set_ylim(min(counts) / 3, max(counts) * 40)      # room for the legend above the bars
    ax.set_xticks(list(xs), names, rotation=45, ha="right")
    ax.set_ylabel("numbers (log scale)")
    mib = 2 ** 20 / bytes_per_value
    right = ax.secondary_yaxis("right", functions=(lambda n: n / mib, lambda m: m * mib))
    right.set_ylabel(f"memory at {bytes_per_value} bytes a number (MiB)")
    ax.legend(loc="upper center", ncol=2, fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax


def plot_one_by_one_as_matrix(weight, x, cmap="cividis"):
    """A 1×1 convolution as one matrix product: ``weight`` ``(C_out, C_in)`` times the
    pixels of ``x`` ``(C_in, H, W)`` laid out as the columns of a ``(C_in, H·W)``
    matrix gives the ``(C_out, H·W)`` output, folded back to ``(C_out, H, W)``.
    Three heat maps on one colour scale per panel, with the shapes in the titles;
    one pixel's column is outlined in the pixels and in the output. Returns the figure."""
    import numpy as np
    from matplotlib.patches import Rectangle

    weight, x = np.asarray(weight, dtype=float), np.asarray(x, dtype=float)
    if weight.ndim != 2 or x.ndim != 3 or weight.shape[1] != x.shape[0]:
        raise ValueError(f"weight (C_out, C_in) and x (C_in, H, W) must agree on C_in, "
                         f"got weight {weight.shape} and x {x.shape}")
    c_in, height, width = x.shape
    pixels = x.reshape(c_in, height * width)
    out = weight @ pixels
    panels = [(weight, f"kernel, {weight.shape[0]}×{c_in}", "c", "d"),
              (pixels, f"pixels as columns, {c_in}×{height * width}", "pixel (i, j), row by row", "c"),
              (out, f"output, {out.shape[0]}×{height * width}", "pixel (i, j), row by row", "d")]
    ratios = [weight.shape[1], pixels.shape[1], out.shape[1]]
    # the product as it is written, kernel times pixels equals output, at one cell size
    fig, axes = plt.subplots(1, 3, figsize=(COLUMN_WIDTH_IN, 2.3), layout="constrained",
                             gridspec_kw=dict(width_ratios=ratios))
    for ax, (matrix, title, xlabel, ylabel) in zip(axes, panels):
        bound = np.abs(matrix).max() or 1.0
        ax.imshow(matrix, cmap=cmap, vmin=-bound, vmax=bound)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    for ax in axes[1:]:
        rows = ax.get_images()[0].get_array().shape[0]
        ax.add_patch(Rectangle((-0.5, -0.5), 1, rows, fill=False, edgecolor="black", linewidth=2))
    return fig

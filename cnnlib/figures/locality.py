"""Figures of chapter 1 (locality): receptive fields that grow with depth, and parameter counts that grow
with the image.

Every number on a figure is computed (:mod:`cnnlib.receptive_field`, :mod:`cnnlib.counting`).
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Rectangle

from cnnlib.figures.connections import KINDS, TITLES, draw_receptive_cone_1d
from cnnlib.receptive_field import gradient_receptive_field, receptive_field_span
from cnnlib.shapes import check_int, conv_output_size

__all__ = ["receptive_field_figure", "parameter_growth_figure"]


def receptive_field_figure(depths=(1, 2, 3), kernel_size=3, input_side=9):
    """Receptive field of the centre unit after 1, 2, 3 stacked layers.

    Left: the 1-D cone (:func:`draw_receptive_cone_1d`) for the deepest stack.
    Right: for each depth, the autograd gradient of the centre unit with
    respect to a ``input_side``-square input (all-one kernels, so each value
    is a number of paths), zero in white, and the span of
    :func:`receptive_field_span` outlined. Returns ``(fig, gradients)`` with
    ``gradients[depth]`` the ``(input_side, input_side)`` array.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.7 * len(depths) + 0.5, 6.2), layout="constrained")
    grid = fig.add_gridspec(2, len(depths), height_ratios=[1, 1.15])
    cone = fig.add_subplot(grid[0, :])
    draw_receptive_cone_1d(cone, input_side, max(depths), kernel_size)
    cone.set_title(f"{max(depths)} layers of {kernel_size}-wide windows (1-D): the cone of one top unit",
                   fontsize=10)
    axes = [cone] + [fig.add_subplot(grid[1, i]) for i in range(len(depths))]
    cmap = colormaps["viridis"].with_extremes(bad="white")
    gradients = {}
    for ax, depth in zip(axes[1:], depths):
        kernels = [kernel_size] * depth
        out_side = input_side
        for _ in range(depth):
            out_side = conv_output_size(out_side, kernel_size)
        centre = (out_side // 2, out_side // 2)
        grad = gradient_receptive_field((input_side, input_side), centre, kernels)
        gradients[depth] = grad
        peak = grad.max()
        ax.imshow(np.ma.masked_equal(grad, 0), cmap=cmap, vmin=0, vmax=peak)
        for (r, c), value in np.ndenumerate(grad):
            if value:
                ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=10,
                        color="black" if value > 0.6 * peak else "white")
        (top, bottom), (left, right) = receptive_field_span(centre, kernels)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                               edgecolor="black", linewidth=2))
        ax.set_xticks(range(0, input_side, 2))          # pixel indices: whole numbers
        ax.set_yticks(range(0, input_side, 2))
        ax.set_xticks(np.arange(-0.5, input_side, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, input_side, 1), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel("input column")
        if ax is axes[1]:
            ax.set_ylabel("input row")
        ax.set_title(f"{depth} layer{'s' if depth > 1 else ''}: {right - left}×{bottom - top}", fontsize=10)
    return fig, gradients


def parameter_growth_figure(sides, window=10, marks=()):
    """Weights of one layer against the side of a square image (log-log).

    One hidden unit per pixel (``"same"`` padding), one channel, no bias:
    fully connected ``side**4``, locally connected ``side**2 * window**2``,
    convolution ``window**2``. A second axis gives the float32 storage.
    ``marks`` are image sides to mark with a dotted line. Returns
    ``(fig, counts)`` with ``counts[kind]`` the list of exact counts.
    """
    import matplotlib.pyplot as plt

    from cnnlib import counting

    sides = [check_int("side", s, 1) for s in sides]
    if min(sides) < window:
        raise ValueError(f"every side must be at least the window ({window}), got {min(sides)}")
    counts = {
        "full": [counting.fully_connected_params(s * s, s * s, bias=False) for s in sides],
        "local": [counting.locally_connected2d_params(s, 1, 1, window, padding="same", bias=False)
                  for s in sides],
        "shared": [counting.conv2d_params(1, 1, window, bias=False) for _ in sides],
    }
    fig, ax = plt.subplots(figsize=(7, 4.2))
    styles = {"full": ("-", "o"), "local": ("--", "s"), "shared": (":", "^")}
    for t, kind in zip((0.1, 0.5, 0.8), KINDS):
        line, marker = styles[kind]
        ax.plot(sides, [float(c) for c in counts[kind]], line, marker=marker, markersize=4,
                color=colormaps["viridis"](t), label=f"{TITLES[kind]}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    top = max(float(c) for c in counts["full"]) / 10
    for m in marks:
        ax.axvline(m, color="0.5", linestyle=":", linewidth=1)
        ax.text(m * 1.06, top, f"{m}×{m}", color="0.3", fontsize=8, va="top")
    ax.set_xlabel("image side (pixels); the image is side × side")
    ax.set_ylabel("weights of one layer")
    secondary = ax.secondary_yaxis("right", functions=(lambda n: 4 * n, lambda b: b / 4))
    secondary.set_ylabel("float32 storage (bytes)")
    ax.grid(which="major", alpha=0.3)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.1), fontsize=9)
    ax.set_title(f"One hidden unit per pixel, {window}×{window} windows", fontsize=10)
    fig.tight_layout()
    return fig, counts

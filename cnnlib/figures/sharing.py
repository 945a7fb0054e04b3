"""Figures of chapter 2 (sharing): a kernel sliding over a small image, image panels, window coverage.

A frame shows one moment of a convolution (cross-correlation, as in
PyTorch): the padded input with the window under the kernel outlined, and the
output map filled in up to the current position. :func:`sliding_window_widget`
redraws a frame from three sliders (stride, padding, position), once per
change, on :class:`cnnlib.figures.live.LiveFigure`; the book shows static frames
(:func:`sliding_window_figure`) beside it. :func:`image_panels` shows images
side by side, :func:`coverage_figure` how many windows read each pixel
(:func:`cnnlib.sharing.window_coverage`).

Shapes: ``image`` is ``(H, W)``, ``kernel`` ``(kh, kw)``; both small (a few
pixels) for the sliding window, since every value is written into its cell.
"""

import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Rectangle

from cnnlib.conv import conv2d
from cnnlib.figures._style import COLUMN_WIDTH_IN
from cnnlib.shapes import check_int, conv_output_size, pair
from cnnlib.sharing import SOURCE002_IMAGE, SOURCE002_KERNEL

__all__ = [
    "sliding_window_widget",
    "sliding_window_figure",
    "image_panels",
    "coverage_figure",
]

# The worked example of source 002: a 5x5 binary image and a 3x3 "X" kernel.
_EXAMPLE_IMAGE = SOURCE002_IMAGE
_EXAMPLE_KERNEL = SOURCE002_KERNEL

WINDOW_COLOUR = "#fde725"  # viridis' yellow: light, visible in grey too
OUTLINE_COLOUR = "#440154"  # viridis' dark purple


def _check_2d(name, array):
    array = np.asarray(array, dtype=float)
    if array.ndim != 2 or min(array.shape) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (H, W), got shape {array.shape}")
    return array


def _frame_geometry(image_shape, kernel_shape, stride=1, padding=0):
    """Output size ``(Ho, Wo)`` of the frame's convolution, and the number of positions ``Ho*Wo``."""
    out = conv_output_size(pair("image_shape", tuple(image_shape)), pair("kernel_shape", tuple(kernel_shape)),
                           stride, padding)
    return out, out[0] * out[1]


def _correlate(image, kernel, stride=1, padding=0):
    """The full output map that the frames fill in: ``(Ho, Wo)``, zero padding, no flip."""
    image, kernel = _check_2d("image", image), _check_2d("kernel", kernel)
    return conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


def _grid(ax, values, shown, fill, corner=None):
    """Cells with their values written in; ``shown`` masks which values to write, ``corner`` which
    go to the cell's top left (to leave room for a weight at its bottom right)."""
    h, w = values.shape
    ax.imshow(fill, cmap="gray", vmin=0, vmax=1, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    for i in range(h):
        for j in range(w):
            if shown[i, j]:
                moved = corner is not None and corner[i, j]
                ax.text(j - 0.36 * moved, i - 0.36 * moved, f"{values[i, j]:g}", ha="left" if moved else "center",
                        va="top" if moved else "center", fontsize=10)
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="0.55", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)


def _draw_frame(ax_in, ax_out, image=None, kernel=None, position=0, stride=1, padding=0):
    """Draw one frame of the sliding window on two axes; return the output value at ``position``.

    ``ax_in`` shows the zero-padded input (padding cells shaded grey), the
    window under the kernel in yellow with a dark outline, and each kernel
    weight as a small ``×w`` in its window cell. ``ax_out`` shows the output
    map filled in up to ``position`` (row-major index, or ``(i, j)``), the
    current cell in yellow. Defaults: the 5x5 image and 3x3 kernel of source 002.
    """
    image = _EXAMPLE_IMAGE if image is None else _check_2d("image", image)
    kernel = _EXAMPLE_KERNEL if kernel is None else _check_2d("kernel", kernel)
    (ho, wo), n_positions = _frame_geometry(image.shape, kernel.shape, stride, padding)
    if isinstance(position, (tuple, list)):
        i, j = position
        if not (0 <= i < ho and 0 <= j < wo):
            raise ValueError(f"position {position} is outside the {ho}x{wo} output")
    else:
        if not 0 <= position < n_positions:
            raise ValueError(f"position must be in [0, {n_positions - 1}] for a {ho}x{wo} output, got {position}")
        i, j = divmod(int(position), wo)
    sh, sw = pair("stride", stride)
    ph, pw = pair("padding", padding, minimum=0)
    kh, kw = kernel.shape
    xp = np.pad(image, ((ph, ph), (pw, pw)))
    out = _correlate(image, kernel, stride, padding)

    # input: white pixels, grey padding, yellow window
    fill = np.ones_like(xp)
    fill[:ph, :] = fill[xp.shape[0] - ph :, :] = 0.82
    fill[:, :pw] = fill[:, xp.shape[1] - pw :] = 0.82
    r0, c0 = i * sh, j * sw
    window = np.zeros_like(xp, dtype=bool)
    window[r0:r0 + kh, c0:c0 + kw] = True
    _grid(ax_in, xp, np.ones_like(xp, dtype=bool), fill, corner=window)
    ax_in.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), kw, kh, facecolor=WINDOW_COLOUR, alpha=0.55, zorder=2))
    ax_in.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), kw, kh, fill=False, edgecolor=OUTLINE_COLOUR, linewidth=2.5,
                              zorder=3))
    for u in range(kh):
        for v in range(kw):
            ax_in.text(c0 + v + 0.4, r0 + u + 0.4, f"×{kernel[u, v]:g}", ha="right", va="bottom", fontsize=10,
                       color=OUTLINE_COLOUR, zorder=4)
    ax_in.set_title(f"input {image.shape[0]}×{image.shape[1]}, padding {ph}, stride {sh}", fontsize=10)

    # output: values up to the current position
    done = np.arange(ho * wo).reshape(ho, wo) <= i * wo + j
    _grid(ax_out, out, done, np.ones_like(out))
    ax_out.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=WINDOW_COLOUR, alpha=0.55, zorder=2))
    ax_out.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=OUTLINE_COLOUR, linewidth=2.5,
                               zorder=3))
    ax_out.set_title(f"output {ho}×{wo}: h[{i},{j}] = {out[i, j]:g}", fontsize=10)
    return out[i, j]


def _draw_frame_figure(fig, stride=1, padding=0, position=0, image=None, kernel=None):
    """The widget's picture: :func:`_draw_frame` on an empty figure ``fig``, input left, output right.

    ``position`` is clamped to the last position of the output, so any value
    the position slider may hold while the geometry changes draws a frame.
    Returns the output value at the drawn position.
    """
    image = _EXAMPLE_IMAGE if image is None else _check_2d("image", image)
    kernel = _EXAMPLE_KERNEL if kernel is None else _check_2d("kernel", kernel)
    n_positions = _frame_geometry(image.shape, kernel.shape, stride, padding)[1]
    ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    value = _draw_frame(ax_in, ax_out, image, kernel, min(int(position), n_positions - 1), stride, padding)
    fig.tight_layout()
    return value


def sliding_window_widget(image=None, kernel=None, max_stride=3, max_padding=2):
    """A :class:`cnnlib.figures.live.LiveFigure` with sliders for stride, padding and position.

    Moving stride or padding changes the output size, and the position
    slider's range follows (a position beyond the new range moves to the
    last one) within the same redraw. The picture is
    :func:`_draw_frame_figure` of the sliders' values, redrawn once per
    change. Display it in a notebook; the rendered book shows static frames
    (:func:`cnnlib.figures.sharing.sliding_window_figure`) instead.
    """
    import ipywidgets as widgets

    from cnnlib.figures.live import LiveFigure

    image = _EXAMPLE_IMAGE if image is None else _check_2d("image", image)
    kernel = _EXAMPLE_KERNEL if kernel is None else _check_2d("kernel", kernel)

    def positions(s, p):
        return _frame_geometry(image.shape, kernel.shape, s, p)[1]

    def constrain(controls):   # the position slider spans the output of the current geometry
        controls["position"].max = positions(controls["stride"].value, controls["padding"].value) - 1

    def draw(fig, stride, padding, position):
        _draw_frame_figure(fig, stride, padding, position, image, kernel)

    return LiveFigure(draw, {
        "stride": widgets.IntSlider(value=1, min=1, max=max_stride, description="stride"),
        "padding": widgets.IntSlider(value=0, min=0, max=max_padding, description="padding"),
        "position": widgets.IntSlider(value=0, min=0, max=positions(1, 0) - 1, description="position"),
    }, constrain=constrain, figsize=(8, 4))


# --------------------------------------------------------------------------
# The chapter's static figures
# --------------------------------------------------------------------------


def sliding_window_figure(frames, image=None, kernel=None, columns=2):
    """Static frames of the sliding window, ``columns`` frames per row: each
    frame is the input with the window, above the output map.

    ``frames`` is a list of ``(stride, padding, position)``. Returns
    ``(fig, values)`` with the output value of each frame.
    """
    import matplotlib.pyplot as plt


    columns = check_int("columns", columns, 1)
    rows = -(-len(frames) // columns)
    fig, axes = plt.subplots(2 * rows, columns, figsize=(3.6 * columns, 5.6 * rows), squeeze=False,
                             gridspec_kw={"height_ratios": [1.35, 1] * rows}, layout="constrained")
    values = []
    for k, (stride, padding, position) in enumerate(frames):
        r, c = divmod(k, columns)
        values.append(_draw_frame(axes[2 * r, c], axes[2 * r + 1, c], image, kernel, position, stride, padding))
    for k in range(len(frames), rows * columns):
        r, c = divmod(k, columns)
        axes[2 * r, c].axis("off")
        axes[2 * r + 1, c].axis("off")
    return fig, values


def image_panels(images, titles, cmap="cividis", vmin=None, vmax=None, colorbar_label=None):
    """Grey-scale images side by side on one colour scale, with titles.

    ``images``: a list of ``(H, W)`` arrays. ``vmin``/``vmax`` default to the
    smallest and largest value over all images, so equal colours mean equal
    values. Returns the figure.
    """
    import matplotlib.pyplot as plt

    images = [np.asarray(im, dtype=float) for im in images]
    if len(images) != len(titles):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    for im in images:
        if im.ndim != 2:
            raise ValueError(f"every image must be 2-D (H, W), got shape {im.shape}")
    vmin = min(im.min() for im in images) if vmin is None else vmin
    vmax = max(im.max() for im in images) if vmax is None else vmax
    fig, axes = plt.subplots(1, len(images), figsize=(COLUMN_WIDTH_IN, 2.9), squeeze=False,
                             layout="constrained", sharey=True)
    for ax, im, title in zip(axes[0], images, titles):
        shown = ax.imshow(im, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(textwrap.fill(title, 20, break_on_hyphens=False))   # under 2 in a panel: two lines, not over the next
        ax.set_xlabel("column")
    axes[0][0].set_ylabel("row")
    fig.colorbar(shown, ax=axes[0].tolist(), shrink=0.85, label=colorbar_label)
    return fig


def coverage_figure(size, kernel_size, strides, last=40):
    """How many windows read each of the last ``last`` pixels of an axis, one panel per stride.

    Returns ``(fig, coverages)`` with ``coverages[stride]`` the full
    ``(size,)`` array of :func:`cnnlib.sharing.window_coverage`.
    """
    import matplotlib.pyplot as plt

    from cnnlib.sharing import window_coverage

    last = check_int("last", last, 1)
    fig, axes = plt.subplots(len(strides), 1, figsize=(8, 1.9 * len(strides)), squeeze=False, sharex=True,
                             layout="constrained")
    coverages = {}
    for ax, stride in zip(axes[:, 0], strides):
        coverage = window_coverage(size, kernel_size, stride)
        coverages[stride] = coverage
        xs = np.arange(size - min(last, size), size)
        ax.bar(xs, coverage[xs], width=0.85, color=colormaps["viridis"](0.35))
        never = xs[coverage[xs] == 0]
        if never.size:
            ax.bar(never, np.full(never.size, 0.15), width=0.85, color=colormaps["viridis"](0.9),
                   label="never read")
            ax.legend(loc="upper left", fontsize=8)
        ax.set_ylim(0, max(coverage.max(), 1) + 0.6)
        ax.set_yticks(range(0, coverage.max() + 1))
        ax.set_ylabel("windows")
        ax.set_title(f"{kernel_size}-pixel windows, stride {stride}: "
                     f"{conv_output_size(size, kernel_size, stride)} windows along {size} pixels", fontsize=10)
    axes[-1, 0].set_xlabel("pixel index (the last pixels of the axis)")
    return fig, coverages

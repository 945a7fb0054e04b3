"""Figures and the filter widget of chapter 4 (edge detection), on the computations of :mod:`cnnlib.edges`.

* the photograph and its edge maps: :func:`plot_images`;
* the convolution as a matrix: :func:`plot_matrix_pattern`;
* the timings: :func:`timings_table` (HTML), :func:`plot_timings`;
* learning the kernel: :func:`plot_losses`;
* kernels to play with: :data:`PRESET_KERNELS`, :func:`plot_filter_grid`, and
  :func:`filter_widget` (a :class:`cnnlib.figures.live.LiveFigure`; its text box
  takes a kernel as rows separated by ``;``).

Images are 2-D arrays ``(H, W)``; kernels ``(kh, kw)``.
"""

import textwrap
from fractions import Fraction

import numpy as np

from cnnlib.edges import HORIZONTAL_EDGE, METHODS, VERTICAL_EDGE, counted_time_ratio, dense_matrix_entries, filter2d
from cnnlib.figures._style import COLUMN_WIDTH_IN
from cnnlib.shapes import pair
from cnnlib.validate import as_image

__all__ = ["plot_images", "plot_matrix_pattern", "timings_table", "plot_timings", "plot_losses",
           "PRESET_KERNELS", "plot_filter_grid", "filter_widget"]


def _show(ax, image, title, colorbar=True, axis_labels=True):
    """One image panel: grey levels; images with negative values get a range symmetric about 0.
    Without ``axis_labels`` the panel has no ticks or labels (a grid of small panels)."""
    image = np.asarray(image)
    if image.min() < 0:
        m = float(np.percentile(np.abs(image), 99.5)) or 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = np.percentile(image, [0.5, 99.5])
        vmin, vmax = float(vmin), float(max(vmax, vmin + 1e-12))
    im = ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    if axis_labels:
        ax.set_xlabel("column (pixel)")
        ax.set_ylabel("row (pixel)")
    else:
        ax.set_axis_off()
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    return im


def plot_images(images, ncols=None, panel_size=3.6, colorbar=True, axis_labels=True):
    """A row (or grid) of grey-scale images; ``images`` is a dict title -> 2-D array.
    ``axis_labels=False`` leaves out ticks and axis labels (many small panels).

    Signed images (edge maps) are shown on a range symmetric about zero, so
    mid-grey is 0, dark is negative and light is positive.
    """
    import matplotlib.pyplot as plt

    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict title -> 2-D array")
    ncols = len(images) if ncols is None else ncols
    nrows = -(-len(images) // ncols)
    fig = plt.figure(figsize=(panel_size * ncols * 1.15, panel_size * nrows))
    _draw_images(fig, images, ncols, colorbar, axis_labels)
    return fig


def _draw_images(fig, images, ncols=None, colorbar=True, axis_labels=True):
    """Draw :func:`plot_images`' panels on an empty figure ``fig`` (pyplot or not)."""
    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict title -> 2-D array")
    n = len(images)
    ncols = n if ncols is None else ncols
    nrows = -(-n // ncols)
    fig.set_layout_engine("constrained")     # colour bars and labels laid out without overlapping
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (title, image) in zip(axes.flat, images.items()):
        _show(ax, as_image(title, image), title, colorbar, axis_labels)
    for ax in axes.flat[n:]:
        ax.set_visible(False)


def plot_matrix_pattern(matrix, image_shape):
    """The convolution matrix of a small image: every stored entry coloured by its value.

    ``matrix``: a (sparse or dense) ``(H_out*W_out, H*W)`` matrix;
    ``image_shape``: ``(H, W)``. Zeros that are not stored stay white; thin
    lines separate the blocks of one image row.
    """
    import matplotlib.pyplot as plt
    import scipy.sparse

    h, w = pair("image_shape", image_shape)
    dense = matrix.toarray() if scipy.sparse.issparse(matrix) else np.asarray(matrix)
    if dense.ndim != 2 or dense.shape[1] != h * w:
        raise ValueError(f"matrix must have {h * w} columns for an image {(h, w)}, got shape {dense.shape}")
    stored = (scipy.sparse.csr_matrix(matrix) != 0).toarray() if scipy.sparse.issparse(matrix) else dense != 0
    shown = np.ma.masked_where(~stored, dense)
    fig, ax = plt.subplots(figsize=(6, 6 * dense.shape[0] / dense.shape[1] + 0.8))
    im = ax.imshow(shown, cmap="cividis", interpolation="nearest", aspect="equal")
    ax.set_facecolor("white")
    rows_per_block = dense.shape[0] // h if dense.shape[0] % h == 0 else None
    for c in range(w, h * w, w):
        ax.axvline(c - 0.5, color="0.75", linewidth=0.6)
    if rows_per_block:
        for r in range(rows_per_block, dense.shape[0], rows_per_block):
            ax.axhline(r - 0.5, color="0.75", linewidth=0.6)
    ax.set_xticks(range(0, h * w, w))
    if rows_per_block:
        ax.set_yticks(range(0, dense.shape[0], rows_per_block))
    ax.set_xlabel(f"input pixel (row-major index into the {h}×{w} image)")
    ax.set_ylabel("output pixel (row-major index)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="matrix entry")
    fig.tight_layout()
    return fig


def plot_losses(curves, ylabel="mean squared error"):
    """Loss curves on a log scale; ``curves`` is a dict label -> 1-D array of losses."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    colours = plt.cm.viridis(np.linspace(0, 0.8, max(len(curves), 1)))
    styles = ["-", "--", ":", "-."]
    for (label, losses), colour, style in zip(curves.items(), colours, styles * 4):
        losses = np.asarray(losses, dtype=float)
        ax.semilogy(np.arange(len(losses)), np.maximum(losses, 1e-300), style, color=colour, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel + " (log scale)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Timings
# --------------------------------------------------------------------------


def timings_table(rows, unit=1e-6, unit_name="µs"):
    """The rows of :func:`time_edge_products` as an HTML table (times in ``unit_name``)."""
    head = ["height × width", "pixels", *METHODS]
    cells = "".join(f"<th>{h}</th>" for h in head)
    lines = [f'<table class="table"><thead><tr>{cells}</tr></thead><tbody>']
    for r in rows:
        times = ["–" if r[m] is None else f"{r[m] / unit:,.1f}" for m in METHODS]
        cells = [f"{r['height']} × {r['width']}", f"{r['pixels']:,}", *times]
        lines.append("<tr>" + "".join(f'<td style="text-align:right">{c}</td>' for c in cells) + "</tr>")
    lines.append("</tbody></table>")
    lines.append(f"<p>Median time per call in {unit_name}; – : the dense matrix would exceed "
                 "the memory budget.</p>")
    return "\n".join(lines)


def plot_timings(rows, fit=None, full=None, kernel_size=(1, 2)):
    """Two log-log panels from :func:`time_edge_products`' rows.

    Left: median seconds per call against the number of pixels, one line per
    method. With ``full = (height, width)`` the dense product is extended to
    that size in two ways: its fitted power law ``fit = (slope, c)``
    (dashed, if given) and the count, time proportional to the number of
    matrix entries through the largest measured size (dotted, ending in a
    hollow marker). Right: how many times slower the dense product is than
    each convolution, measured, against the count
    :func:`counted_time_ratio` at the same sizes.
    """
    import matplotlib.pyplot as plt

    # the legends go under the panels (inside, they covered the lines at the column's width)
    fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(9.5, 6.4), layout="constrained")
    markers = dict(zip(METHODS, "osD^"))
    colours = dict(zip(METHODS, plt.cm.viridis(np.linspace(0, 0.85, len(METHODS)))))
    for method in METHODS:
        pts = [(r["pixels"], r[method]) for r in rows if r[method] is not None]
        if pts:
            n, t = zip(*pts)
            ax_t.loglog(n, t, marker=markers[method], color=colours[method], label=method)
    dense_rows = [r for r in rows if r["dense matrix"] is not None]
    if full is not None and dense_rows:
        full_h, full_w = pair("full", full)
        largest = dense_rows[-1]
        n_line = np.geomspace(largest["pixels"], full_h * full_w, 50)
        if fit is not None:
            slope, c = fit
            ax_t.loglog(n_line, c * n_line**slope, "--", color=colours["dense matrix"],
                        label=f"dense, fitted: time ∝ $n^{{{slope:.2f}}}$ ($n$ pixels)")
        largest_entries = dense_matrix_entries(largest["height"], largest["width"], kernel_size)
        scale = largest["dense matrix"] / largest_entries
        # entries of an h x w image with the same aspect ratio, as a function of its pixels n
        aspect = full_w / full_h
        entries = [dense_matrix_entries(max(1, round(np.sqrt(n / aspect))),
                                        max(2, round(np.sqrt(n * aspect))), kernel_size) for n in n_line]
        ax_t.loglog(n_line, scale * np.array(entries), ":", color="k",
                    label="dense, counted: time ∝ matrix entries")
        ax_t.loglog([full_h * full_w], [scale * dense_matrix_entries(full_h, full_w, kernel_size)], "o",
                    mfc="none", color="k")
        ax_t.axvline(full_h * full_w, color="0.5", linewidth=0.8)
        ax_t.text(full_h * full_w, ax_t.get_ylim()[0], f" {full_w}×{full_h}", rotation=90, va="bottom",
                  ha="right", fontsize=8, color="0.3")
    ax_t.set_xlabel("image size (pixels)")
    ax_t.set_ylabel("median time per call (s)")
    ax_t.set_title("time against image size")

    n = np.array([r["pixels"] for r in dense_rows])
    for method in METHODS[:2]:
        ax_r.loglog(n, [r["dense matrix"] / r[method] for r in dense_rows], marker=markers[method],
                    color=colours[method], label=f"measured: dense / {method}")
    counted = [counted_time_ratio(r["height"], r["width"], kernel_size) for r in dense_rows]
    ax_r.loglog(n, counted, "k:", marker="x", label="counted: dense flops / conv flops")
    from matplotlib.ticker import NullFormatter

    ax_r.xaxis.set_minor_formatter(NullFormatter())
    ax_r.set_xlabel("image size (pixels)")
    ax_r.set_ylabel("times slower than the convolution")
    ax_r.set_title("dense matrix vs convolution")
    fig.legend(*ax_t.get_legend_handles_labels(), loc="outside lower left", frameon=False,
               title="left: time", alignment="left")
    fig.legend(*ax_r.get_legend_handles_labels(), loc="outside lower right", frameon=False,
               title="right: times slower", alignment="left")
    return fig


# --------------------------------------------------------------------------
# Kernels to play with: presets, a grid figure and a widget
# --------------------------------------------------------------------------


def _embed3(kernel):
    k = np.zeros((3, 3))
    kernel = np.asarray(kernel, dtype=float)
    k[1 : 1 + kernel.shape[0], 1 : 1 + kernel.shape[1]] = kernel
    return k


PRESET_KERNELS = {
    "identity": _embed3([[1.0]]),
    "vertical edge [-1, 1]": _embed3(VERTICAL_EDGE),
    "horizontal edge [-1, 1]ᵀ": _embed3(HORIZONTAL_EDGE),
    "Sobel (vertical edges)": np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "Laplacian (all edges)": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "box blur": np.full((3, 3), 1 / 9),
    "Gaussian blur": np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}


def _parse_kernel(text):
    """A kernel from text: rows separated by ``;`` or new lines, numbers by spaces or commas.

    ``"0 -1 0; -1 5 -1; 0 -1 0"`` -> a 3x3 array. Fractions like ``1/9`` are
    allowed. Raises ``ValueError`` on ragged rows or anything that is not a number.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    if not rows:
        raise ValueError("text holds no kernel: write rows like '0 -1 0; -1 5 -1; 0 -1 0'")
    values = []
    for row in rows:
        entries = row.replace(",", " ").split()
        try:
            values.append([float(Fraction(e)) for e in entries])
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"not a number in kernel row {row.strip()!r}") from None
    if len({len(r) for r in values}) != 1:
        raise ValueError(f"kernel rows have different lengths: {[len(r) for r in values]}")
    return np.array(values)


def plot_filter_grid(image, kernels=None, region=None, ncols=4, panel_size=2.0):
    """The image filtered by each kernel of ``kernels`` (a dict name -> 2-D kernel; default the presets).

    Filtering keeps the size (``padding="same"``, mirrored borders). With
    ``region = (rows, cols)`` (two slices) only that part of each filtered
    image is shown, so that the detail is visible. Four panels a row, with no
    pixel axes (the same region in each; with axes, four a row run the labels
    together at the column's width, and two a row make the grid a page tall).
    """
    kernels = PRESET_KERNELS if kernels is None else kernels
    region = (slice(None), slice(None)) if region is None else region
    # names on two lines at most ("vertical edge / [-1, 1]"): a panel is about 1.6 in wide
    filtered = {textwrap.fill(name, 15): filter2d(image, k, padding="same", padding_mode="reflect")[region]
                for name, k in kernels.items()}
    import matplotlib.pyplot as plt

    nrows = -(-len(filtered) // ncols)
    fig = plt.figure(figsize=(COLUMN_WIDTH_IN, nrows * panel_size))
    _draw_images(fig, filtered, ncols, colorbar=False, axis_labels=False)
    return fig


def _kernel_text(kernel):
    """A kernel as the widget's text box shows it: ``"0 -1 0; -1 5 -1; 0 -1 0"`` (read by :func:`_parse_kernel`)."""
    return "; ".join(" ".join(f"{v:.4g}" for v in row) for row in np.asarray(kernel, dtype=float))


def _draw_filtered(fig, image, kernel, with_input=True):
    """The widget's picture on an empty figure: ``image`` and ``image`` filtered by ``kernel`` (text);
    without ``with_input`` the filtered image alone, titled with the kernel's numbers.

    Filtering keeps the size (mirrored borders). A kernel that
    :func:`_parse_kernel` refuses is reported in the figure, not raised.
    """
    try:
        k = _parse_kernel(kernel)
        out = filter2d(image, k, padding="same", padding_mode="reflect")
    except ValueError as error:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"cannot use this kernel:\n{error}", ha="center", va="center", fontsize=11,
                transform=ax.transAxes, wrap=True)
        return
    if with_input:   # beside the widget's text box, which shows the kernel: a long title would run
        _draw_images(fig, {"photograph": image, "filtered by the kernel": out})     # over the next one
    else:            # a frame of the static book, alone: its title names the kernel
        _draw_images(fig, {textwrap.fill(f"filtered by {_kernel_text(k)}", 48): out})


def filter_widget(image, kernels=None, start=None, panel_size=3.2):
    """A :class:`cnnlib.figures.live.LiveFigure`: pick a preset kernel or type your own, see the filtered image.

    The text box holds the kernel (rows separated by ``;``); choosing a preset
    writes it there, and editing it (then Enter) filters with your kernel.
    Each change redraws the picture (:func:`_draw_filtered`) once. In the
    static book the presets switch pre-drawn frames of the filtered image alone
    and the text box is left to Jupyter (see :class:`cnnlib.figures.live.LiveFigure`).
    ``start`` names the preset shown first (default: the vertical edge of
    fig. 9.6 if it is among ``kernels``, else the first one).
    """
    import ipywidgets as widgets

    from cnnlib.figures.live import LiveFigure

    image = as_image("image", image)
    kernels = PRESET_KERNELS if kernels is None else kernels
    if start is None:
        start = "vertical edge [-1, 1]" if "vertical edge [-1, 1]" in kernels else next(iter(kernels))
    if start not in kernels:
        raise ValueError(f"start must be one of the kernels {list(kernels)}, got {start!r}")
    preset = widgets.Dropdown(options=list(kernels), value=start, description="preset")
    text = widgets.Text(value=_kernel_text(kernels[start]), description="kernel", continuous_update=False,
                        layout=widgets.Layout(width="32em"))
    shown = {"preset": start}  # the preset whose kernel the text box was last given

    def constrain(controls):
        """A newly chosen preset writes its kernel into the text box; an edited text box is left alone."""
        if controls["preset"].value != shown["preset"]:
            shown["preset"] = controls["preset"].value
            controls["kernel"].value = _kernel_text(kernels[shown["preset"]])

    def draw(fig, preset, kernel):
        _draw_filtered(fig, image, kernel)

    def draw_preset(fig, preset):
        # the static book: the presets only, each its filtered image alone (the photograph is the
        # chapter's first figure), so that the panel the picker changes is never off a phone's screen
        _draw_filtered(fig, image, _kernel_text(kernels[preset]), with_input=False)

    return LiveFigure(draw, {"preset": preset, "kernel": text}, constrain=constrain,
                      figsize=(panel_size * 2 * 1.15, panel_size), static={"preset": list(kernels)},
                      static_draw=draw_preset)

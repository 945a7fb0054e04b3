"""Figures of the equivariance chapter: shift the input, watch the feature map.

For one image, one kernel and one horizontal shift ``l``, four maps decide
equivariance: the shifted input ``S x``, the features of the shifted input
``f(S x)``, the shifted features ``S f(x)`` and their difference.
:func:`shift_figure` draws them for circular and zero padding (the static
figure of the book); :func:`shift_widget` redraws them from a slider (in a
running notebook, on :class:`cnnlib.figures.live.LiveFigure`).
:func:`errors_figure` and :func:`shift_report_figure` plot the chapter's
measurements against the shift.

Shapes: ``image`` ``(H, W)``, ``kernel`` ``(k, k)`` with odd ``k``
(padding ``k // 2`` keeps the size). Circular padding is paired with the
cyclic shift, zero padding with the zero-filled shift (:func:`cnnlib.shift`).
"""

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from cnnlib.conv import conv2d
from cnnlib.equivariance import border_band
from cnnlib.figures._style import COLUMN_WIDTH_IN
from cnnlib.shift import shift as _shift

__all__ = ["shift_figure", "shift_widget", 
           "errors_figure", "shift_report_figure"]

SHIFT_MODE = {"circular": "circular", "zeros": "zeros"}  # padding mode -> the shift it commutes with (best case)
BAND_COLOUR = "#fde725"  # viridis' yellow: visible on grey and in print


def _check(image, kernel):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"kernel must be a square 2-D array with odd side, got shape {kernel.shape}")
    return image, kernel


def _shift_panels(image, kernel, shift, padding_mode="zeros"):
    """The maps of one equivariance check, as a dict of ``(H, W)`` arrays.

    ``"shifted"``: the input moved ``shift`` pixels to the right;
    ``"f_of_shifted"``: its features; ``"shifted_f"``: the features of the
    input, moved; ``"error"``: ``|f_of_shifted - shifted_f|``; ``"band"``: the
    predicted :func:`cnnlib.equivariance.border_band` (all False for circular
    padding).
    """
    image, kernel = _check(image, kernel)
    if padding_mode not in SHIFT_MODE:
        raise ValueError(f"padding_mode must be 'circular' or 'zeros', got {padding_mode!r}")
    mode = SHIFT_MODE[padding_mode]
    r = kernel.shape[0] // 2

    def f(x):
        return conv2d(x[None], kernel[None, None], padding=r, padding_mode=padding_mode)[0]

    shifted = _shift(image, 0, shift, mode)
    f_of_shifted = f(shifted)
    shifted_f = _shift(f(image), 0, shift, mode)
    band = (border_band(image.shape, kernel.shape[0], shift) if padding_mode == "zeros"
            else np.zeros(image.shape, dtype=bool))
    return {"shifted": shifted, "f_of_shifted": f_of_shifted, "shifted_f": shifted_f,
            "error": np.abs(f_of_shifted - shifted_f), "band": band}


def _outline_columns(ax, band, height):
    """Yellow outlines around runs of band columns (the band spans whole columns for horizontal shifts)."""
    cols = np.flatnonzero(band.any(axis=0))
    if cols.size == 0:
        return
    runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
    for run in runs:
        ax.add_patch(Rectangle((run[0] - 0.5, -0.5), len(run), height, fill=False,
                               edgecolor=BAND_COLOUR, linewidth=3, linestyle="--"))


def _draw_shift(axes, image, kernel, shift, padding_mode="zeros"):
    """Draw the four maps of :func:`_shift_panels` on four axes; return the panels."""
    p = _shift_panels(image, kernel, shift, padding_mode)
    vmin = min(p["f_of_shifted"].min(), p["shifted_f"].min())
    vmax = max(p["f_of_shifted"].max(), p["shifted_f"].max())
    shift_name = "cyclic" if padding_mode == "circular" else "zero-filled"
    titles = [f"input, {shift_name}\nshift t = {shift}", "f(shifted\ninput)", "shifted\nf(input)", "|difference|"]
    keys = ["shifted", "f_of_shifted", "shifted_f", "error"]
    err_max = max(p["error"].max(), 1e-12)
    h, w = p["shifted"].shape
    for ax, key, title in zip(axes, keys, titles):
        if key == "shifted":
            im = ax.imshow(p[key], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        elif key == "error":
            im = ax.imshow(p[key], cmap="viridis", vmin=0, vmax=err_max, interpolation="nearest")
            _outline_columns(ax, p["band"], p[key].shape[0])
        else:
            im = ax.imshow(p[key], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=11)
        ax.set_xticks([0, w - 1])
        ax.set_yticks([0, h - 1])
        ax.set_xlabel("column", labelpad=-8)
    axes[0].set_ylabel("row", labelpad=-12)
    bar = axes[-1].figure.colorbar(im, ax=axes[-1], fraction=0.046, pad=0.04)
    # each tick its own power of ten (a shared "1e−12" above the bar runs into the panel's title)
    bar.formatter = FuncFormatter(lambda v, _: f"{v:.0e}".replace("-", "−") if v and err_max < 1e-3 else f"{v:g}")
    bar.update_ticks()
    return p


def shift_figure(image, kernel, shift, modes=("circular", "zeros")):
    """One row of :func:`_draw_shift` per padding mode; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(modes), 4, figsize=(COLUMN_WIDTH_IN, 2.05 * len(modes)), squeeze=False,
                             layout="constrained")
    for row, mode in zip(axes, modes):
        _draw_shift(row, image, kernel, shift, mode)
        row[0].set_ylabel(f"{mode} padding\nrow", labelpad=-12)
    return fig


def _draw_shift_row(fig, image, kernel, shift, padding_mode="zeros"):
    """The widget's picture: one row of :func:`_draw_shift` on an empty figure ``fig``."""
    axes = fig.subplots(1, 4)
    _draw_shift(axes, image, kernel, shift, padding_mode)
    fig.tight_layout()


def shift_widget(image, kernel, max_shift=12):
    """A :class:`cnnlib.figures.live.LiveFigure`: a slider for the shift and a choice of padding.

    The error panel outlines the predicted border band (zero padding) in
    yellow. In a notebook the controls are live; the static book shows
    pre-drawn frames for the shifts 0 to ``max_shift`` (see
    :class:`cnnlib.figures.live.LiveFigure`) beside :func:`shift_figure`.
    The picture is :func:`_draw_shift_row` of the controls' values, redrawn
    once per change.
    """
    import ipywidgets as widgets

    from cnnlib.figures.live import LiveFigure

    image, kernel = _check(image, kernel)

    def draw(fig, shift, padding_mode):
        _draw_shift_row(fig, image, kernel, shift, padding_mode)

    return LiveFigure(draw, {
        "shift": widgets.IntSlider(value=3, min=-max_shift, max=max_shift, description="shift t"),
        "padding_mode": widgets.Dropdown(options=["zeros", "circular"], value="zeros", description="padding"),
    }, figsize=(7, 2.2), static={"shift": list(range(0, max_shift + 1)), "padding_mode": ["zeros", "circular"]})


MARKERS = "osD^vP*X"


def _error_curves(ax, shifts, curves, ylabel="relative error", title=None):
    """Plot ``{label: values}`` against ``shifts`` on ``ax``, one marker style per curve (greyscale-safe)."""
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, max(len(curves), 1)))
    for (label, values), colour, marker in zip(curves.items(), colours, MARKERS):
        ax.plot(list(shifts), values, marker=marker, color=colour, label=label)
    ax.set_xlabel("shift t (pixels)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.set_xticks(list(shifts))
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def errors_figure(shifts, panels):
    """Panels stacked vertically, one :func:`_error_curves` each, legends on the right.

    ``panels`` is a list of ``(title, ylabel, {label: values})``.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(COLUMN_WIDTH_IN, 2.4 * len(panels)), squeeze=False,
                             sharex=True, layout="constrained")
    for ax, (title, ylabel, curves) in zip(axes[:, 0], panels):
        _error_curves(ax, shifts, curves, ylabel, title)
    for ax in axes[:-1, 0]:              # one shift axis, labelled under the last panel
        ax.set_xlabel("")
    return fig


def shift_report_figure(shifts, reports):
    """Two panels against the shift: accuracy, and fraction of changed predictions.

    ``reports`` maps a model name to a :func:`cnnlib.equivariance.shift_report` dict.
    """
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_chg) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH_IN, 5.6), sharex=True, layout="constrained")
    _error_curves(ax_acc, shifts, {k: r["accuracy"] for k, r in reports.items()}, "test accuracy",
                 "accuracy on shifted test digits")
    _error_curves(ax_chg, shifts, {k: r["changed"] for k, r in reports.items()}, "fraction changed",
                 "predictions that change under the shift")
    ax_acc.set_xlabel("")  # the shared axis is labelled below
    ax_acc.set_ylim(0, 1.02)
    ax_chg.set_ylim(-0.02, max(0.1, max(float(np.max(r["changed"])) for r in reports.values()) * 1.15))
    return fig

"""The book's one figure style, applied when :mod:`cnnlib.figures` is imported.

Every chapter imports its figures from this package, so importing it is
enough: no chapter calls anything. What it sets, and why:

* **Crisp output**: in a running IPython kernel (the book's build, Jupyter)
  figures are displayed as SVG (``matplotlib_inline``'s
  ``set_matplotlib_formats("svg")``), sharp at any zoom and screen density.
  Text stays text (``svg.fonttype: none``): smaller files, selectable labels,
  and the browser tests can measure the size a reader sees.
* **Deterministic files**: no date in the SVG metadata and a fixed
  ``svg.hashsalt``, so two builds write the same bytes.
* **Readable text**: fonts of at least :data:`MIN_FONT_PT` points at the
  sizes the figure functions use (the column is about 7.5 in wide at 96 px
  per inch; a figure wider than that is shrunk by the page, see
  ``tests/test_browser.py`` for the rendered floor).
* **Dark mode**: a white figure and axes background (``figure.facecolor``,
  ``savefig.facecolor``), so black labels never sit on the dark page; the
  book's style sheet (``_static/course.css``) gives outputs a light frame.
* **Colour**: the default colour cycle is Okabe and Ito's palette
  (distinguishable by colour-blind readers), and the default image colour
  map is ``cividis`` (uniform in lightness, readable in greyscale).

:func:`apply` is idempotent; :data:`RC` is the dictionary of settings.
"""

import matplotlib as mpl
from cycler import cycler

__all__ = ["RC", "OKABE_ITO", "COLUMN_WIDTH_IN", "MIN_FONT_PT", "SVG_METADATA", "apply", "fit"]

# Okabe & Ito (2008), "Color Universal Design", black last.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# The width of a cell's output in the book's main column at a 1280 px window (688 px), less a
# margin for labels outside the axes, in inches at 96 px per inch: a figure up to this wide is
# shown at its natural size.
COLUMN_WIDTH_IN = 6.9
# The smallest font of a displayed figure, in points: 10 pt at natural size is 13.3 px,
# the theme's smallest prose text (13 px; see FLOOR_PX in tests/test_browser.py).
MIN_FONT_PT = 10

SVG_METADATA = {"Date": None}

RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "figure.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": 11,
    "figure.titlesize": 13,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "image.cmap": "cividis",
    "svg.fonttype": "none",
    "svg.hashsalt": "cnnlib-course",
    "lines.linewidth": 2.0,
}


def fit(fig):
    """Make ``fig`` readable in the column: at most :data:`COLUMN_WIDTH_IN` wide, no text below
    :data:`MIN_FONT_PT`; returns ``fig``.

    A wider figure is scaled down as a whole (the page would shrink it, and its text with it),
    then every smaller text is raised to :data:`MIN_FONT_PT`, and the layout is redone (the
    figure's own layout engine, else ``tight_layout``). Applied to every figure the book
    displays (the SVG formatter below) and to the frames of the static controls.
    """
    from matplotlib.text import Text

    changed = False
    width, height = fig.get_size_inches()
    if width > COLUMN_WIDTH_IN + 1e-9:
        fig.set_size_inches(COLUMN_WIDTH_IN, height * COLUMN_WIDTH_IN / width)
        changed = True
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
            changed = True
    if changed:
        _relayout(fig)
    # labels outside the axes (a legend beside them, a colour bar) widen the saved, tightly cropped
    # picture beyond the figure: shrink once more so that the picture fits the column
    tight = fig.get_tightbbox(fig._get_renderer()).width
    if tight > COLUMN_WIDTH_IN + 0.05:
        width, height = fig.get_size_inches()
        fig.set_size_inches(width * COLUMN_WIDTH_IN / tight, height * COLUMN_WIDTH_IN / tight)
        _relayout(fig)
    return fig


def _relayout(fig):
    """Redo ``fig``'s layout after a change of size or fonts: its own engine does it when drawn;
    else ``tight_layout`` (a figure it cannot handle keeps its layout)."""
    import warnings

    if fig.get_layout_engine() is None and fig.axes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fig.tight_layout()
            except Exception:  # noqa: BLE001
                pass


def _svg_bytes(fig):
    """``fig`` fitted to the column (:func:`fit`) as SVG bytes, deterministic (no date, fixed ids)."""
    import io

    fit(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata=SVG_METADATA)
    return buffer.getvalue()


def _svg_repr(fig):
    return _svg_bytes(fig).decode("utf-8")


def _configure_inline():
    """SVG output for the IPython kernel this runs in (the build or Jupyter); nothing elsewhere."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return
    try:
        import matplotlib.pyplot  # noqa: F401 - activates the inline backend first, which resets formats
        from matplotlib_inline.backend_inline import InlineBackend, set_matplotlib_formats
    except ImportError:  # pragma: no cover
        return
    from matplotlib.figure import Figure

    backend = InlineBackend.instance()
    backend.figure_formats = {"svg"}
    backend.print_figure_kwargs = {**backend.print_figure_kwargs, "metadata": SVG_METADATA}
    set_matplotlib_formats("svg", metadata=SVG_METADATA)
    # the same SVG, from a figure fitted to the column first
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, _svg_repr)


def apply():
    """Set the book's figure style (:data:`RC`) and, in a kernel, SVG output."""
    _configure_inline()          # first: activating the inline backend may set rcParams of its own
    mpl.rcParams.update(RC)

"""cnnlib.figures._style: the book's one figure style (issue 18).

Importing cnnlib.figures applies it; every displayed figure is fitted to the
column with no text below MIN_FONT_PT, drawn on white (dark mode), and its
SVG is the same bytes on every build."""

import re

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

import cnnlib.figures  # noqa: F401 - applies the style
from cnnlib.figures import _style


def test_importing_the_figures_applies_the_style():
    assert mpl.rcParams["figure.facecolor"] == "white"
    assert mpl.rcParams["savefig.facecolor"] == "white"
    assert mpl.rcParams["svg.fonttype"] == "none"
    assert mpl.rcParams["svg.hashsalt"]
    assert mpl.rcParams["image.cmap"] == "cividis"
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert mpl.font_manager.FontProperties(size=mpl.rcParams[key]).get_size_in_points() >= _style.MIN_FONT_PT


def _crowded():
    fig = Figure(figsize=(12, 3))
    for ax in fig.subplots(1, 3):
        ax.plot(np.arange(5), np.arange(5) ** 2)
        ax.set_title("tiny", fontsize=6)
        ax.text(1, 1, "×0.5", fontsize=7)
    return fig


def test_fit_shrinks_a_wide_figure_to_the_column_and_raises_small_text():
    fig = _style.fit(_crowded())
    width, height = fig.get_size_inches()
    assert width == pytest.approx(_style.COLUMN_WIDTH_IN)
    assert height == pytest.approx(3 * _style.COLUMN_WIDTH_IN / 12)
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
    assert sizes and min(sizes) >= _style.MIN_FONT_PT


def test_fit_leaves_a_readable_figure_alone():
    fig = Figure(figsize=(5, 3))
    fig.add_subplot().set_title("fine", fontsize=12)
    _style.fit(fig)
    assert tuple(fig.get_size_inches()) == (5, 3)
    assert fig.axes[0].title.get_fontsize() == 12


def test_svg_is_deterministic_text_and_dated_nowhere():
    first, second = _style._svg_bytes(_crowded()), _style._svg_bytes(_crowded())
    assert first == second
    text = first.decode()
    assert "<dc:date>" not in text
    assert "<text" in text                    # labels stay text: measurable, selectable
    sizes = [float(s) for s in re.findall(r"font-size: ?([0-9.]+)px", text)]
    assert sizes and min(sizes) >= _style.MIN_FONT_PT   # user units are points (viewBox in pt)


def test_the_checks_can_fail():
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().set_title("tiny", fontsize=6)
    buffer = __import__("io").BytesIO()
    fig.savefig(buffer, format="svg")         # not through the style's fit
    sizes = [float(s) for s in re.findall(r"font-size: ?([0-9.]+)px", buffer.getvalue().decode())]
    assert min(sizes) < _style.MIN_FONT_PT


def test_fit_counts_labels_outside_the_axes():
    fig = Figure(figsize=(_style.COLUMN_WIDTH_IN, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="a long legend entry beside the axes")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    _style.fit(fig)
    assert fig.get_tightbbox(fig._get_renderer()).width <= _style.COLUMN_WIDTH_IN + 0.06


def test_static_frames_are_fitted_and_record_their_dpi():
    import io

    from PIL import Image

    from cnnlib.figures.live import _palette_png, _render_frame

    def draw(fig, size):
        fig.add_subplot().set_title("tiny", fontsize=size)

    png = _palette_png(_render_frame(draw, {"size": 5}, (12, 3), 150), 150)
    image = Image.open(io.BytesIO(png))
    assert image.info["dpi"][0] == pytest.approx(150, abs=1)
    assert image.width <= _style.COLUMN_WIDTH_IN * 150 + 10

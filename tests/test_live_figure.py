"""cnnlib.figures.live: one redraw per change, intact pictures under concurrent changes."""

import io
import threading

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from cnnlib.figures.live import LiveFigure, _render_frame, _render_png


def draw_bar(fig, height, width=1):
    ax = fig.add_subplot()
    ax.bar([0], [height], width=width)
    ax.set_ylim(0, 10)
    ax.set_title(f"height {height}")


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_first_picture_is_drawn_once_with_the_initial_values():
    live = LiveFigure(draw_bar, {"height": widgets.IntSlider(value=4, min=0, max=9)}, figsize=(3, 2), dpi=50)
    assert live.redraws == 1
    assert pixels(live.image.value).shape == (100, 150, 3)
    assert live.image.value == _render_png(draw_bar, {"height": 4}, (3, 2), 50)


def test_one_change_one_redraw():
    slider = widgets.IntSlider(value=0, min=0, max=9)
    live = LiveFigure(draw_bar, {"height": slider}, figsize=(3, 2), dpi=50)
    for n, value in enumerate([3, 5, 9, 1, 2], start=2):
        slider.value = value
        assert live.redraws == n
        assert live.image.value == _render_png(draw_bar, {"height": value}, (3, 2), 50)


def test_a_dependent_control_moved_by_constrain_does_not_redraw_twice():
    height = widgets.IntSlider(value=8, min=0, max=9)
    width = widgets.FloatSlider(value=0.8, min=0.1, max=1.0)

    def constrain(controls):           # the bar may not be wider than a tenth of its height
        controls["width"].max = max(0.1, controls["height"].value / 10)

    live = LiveFigure(draw_bar, {"height": height, "width": width}, constrain=constrain, figsize=(3, 2), dpi=50)
    height.value = 2                   # constrain pulls width down to 0.2: a second change
    assert width.value == pytest.approx(0.2)
    assert live.redraws == 2
    assert live.image.value == _render_png(draw_bar, {"height": 2, "width": 0.2}, (3, 2), 50)


def test_concurrent_changes_leave_an_intact_up_to_date_picture():
    slider = widgets.IntSlider(value=0, min=0, max=9)
    live = LiveFigure(draw_bar, {"height": slider}, figsize=(3, 2), dpi=50)
    seen = []
    live.image.observe(lambda change: seen.append(change["new"]), "value")
    barrier = threading.Barrier(6)

    def move(value):
        barrier.wait()
        slider.value = value

    threads = [threading.Thread(target=move, args=(v,)) for v in range(4, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen, "no redraw"
    for png in seen:                   # every picture ever shown decodes completely
        assert pixels(png).shape == (100, 150, 3)
    assert live.image.value == _render_png(draw_bar, {"height": slider.value}, (3, 2), 50)


def test_needs_a_control():
    with pytest.raises(ValueError, match="control"):
        LiveFigure(draw_bar, {})


# ------------------------------------------- the static book: frames and plain HTML controls


def _frames_of(page):
    import json
    import re

    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', page, re.S).group(1))


def test_the_static_version_draws_every_combination_of_the_static_values():
    height = widgets.IntSlider(value=4, min=0, max=9, description="height")
    width = widgets.FloatSlider(value=0.5, min=0.1, max=1.0, description="width")
    live = LiveFigure(draw_bar, {"height": height, "width": width}, figsize=(3, 2), dpi=50,
                      static={"height": [2, 4, 6]}, static_dpi=50)
    page = live._repr_mimebundle_()[0]["text/html"] if isinstance(live._repr_mimebundle_(), tuple) \
        else live._repr_mimebundle_()["text/html"]
    frames = _frames_of(page)
    assert sorted(frames) == ["2", "4", "6"]
    # each frame is the picture of its value (the width left at its value), not one picture three times
    import base64
    for h in (2, 4, 6):
        # the frame in the book's style, fitted to the column (cnnlib.figures._style.fit)
        expected = pixels(_render_frame(draw_bar, {"height": h, "width": 0.5}, (3, 2), 50))
        shown = pixels(base64.b64decode(frames[str(h)]))
        assert shown.shape == expected.shape
        assert np.abs(shown.astype(int) - expected.astype(int)).mean() < 3   # a palette of 256 colours
    assert len({frames[k] for k in frames}) == 3
    # a range slider over the three values, starting at the live value; the width is named as live-only
    assert 'type="range"' in page and 'max="2"' in page and 'value="1"' in page and 'data-values="2,4,6"' in page
    assert "<em>width</em>" in page
    # shown at the figure's natural size, not its pixel count: a frame of w pixels at 50 dpi is
    # w * 96 / 50 CSS px wide (the page may shrink it, never widen it)
    first = Image.open(io.BytesIO(base64.b64decode(frames["4"])))
    assert f'width="{round(first.width * 96 / 50)}"' in page


def test_without_static_values_the_page_says_where_the_figure_is_live():
    live = LiveFigure(draw_bar, {"height": widgets.IntSlider(value=4, min=0, max=9)}, figsize=(3, 2), dpi=50)
    bundle = live._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data       # JupyterLab keeps the live widget
    assert "live in Jupyter" in data["text/html"] and "<img" not in data["text/html"]


def test_too_many_frames_are_refused_and_unknown_controls_too():
    from cnnlib.figures.live import MAX_STATIC_FRAMES

    slider = widgets.IntSlider(value=0, min=0, max=100)
    live = LiveFigure(draw_bar, {"height": slider}, figsize=(1, 1), dpi=10,
                      static={"height": list(range(MAX_STATIC_FRAMES + 1))}, static_dpi=10)
    with pytest.raises(ValueError, match="frames"):
        live._static_html()
    with pytest.raises(ValueError, match="do not exist"):
        LiveFigure(draw_bar, {"height": slider}, static={"depth": [1]})

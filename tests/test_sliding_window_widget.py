"""The sliding-window widget of chapter 2 on cnnlib.figures.live.LiveFigure:
the sliders follow the geometry, each change redraws once, and the picture is
an intact PNG of exactly the frame the sliders describe."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from cnnlib.figures.live import _render_png
from cnnlib.figures.sharing import (_EXAMPLE_IMAGE, _EXAMPLE_KERNEL, _correlate, _draw_frame_figure,
                                          sliding_window_widget)

pytest.importorskip("ipywidgets")


def frame_png(live, **values):
    """The picture the widget should show for ``values`` (the example image and kernel)."""
    return _render_png(_draw_frame_figure, values, live.figsize, live.dpi)


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture
def live():
    return sliding_window_widget()


def test_controls_are_stride_padding_position(live):
    assert list(live.controls) == ["stride", "padding", "position"]
    assert [c.description for c in live.controls.values()] == ["stride", "padding", "position"]
    assert live.widget.children[1] is live.image
    assert live.redraws == 1
    assert live.image.value == frame_png(live, stride=1, padding=0, position=0)


def test_widget_sliders_follow_the_geometry(live):
    stride, padding, position = live.controls.values()
    assert position.max == 8
    padding.value = 1
    assert position.max == 24
    stride.value = 2
    assert position.max == 8


@pytest.mark.parametrize("moves", [
    [("position", 5), ("padding", 2), ("position", 40), ("stride", 3), ("padding", 0)],
    [("stride", 2), ("position", 3), ("padding", 1), ("position", 7), ("stride", 1)],
])
def test_one_redraw_per_change_and_the_picture_of_the_new_values(live, moves):
    for n, (name, value) in enumerate(moves, start=2):
        live.controls[name].value = value
        assert live.redraws == n, f"{name}={value} redrew {live.redraws - n + 1} times"
        values = live.values()
        assert live.image.value == frame_png(live, **values), values
        assert pixels(live.image.value).shape == (400, 800, 3)


def test_a_geometry_change_that_moves_the_position_redraws_once(live):
    stride, padding, position = live.controls.values()
    padding.value = 2                    # 7×7 output: positions 0..48
    position.value = 48
    before = live.redraws
    stride.value = 3                     # 3×3 output: the position slider is pulled back to 8
    assert position.max == position.value == 8
    assert live.redraws == before + 1
    assert live.image.value == frame_png(live, stride=3, padding=2, position=8)


def test_the_last_frame_shows_the_whole_output():
    from matplotlib.figure import Figure

    fig = Figure()
    value = _draw_frame_figure(fig, stride=2, padding=1, position=99)   # clamped to the last position
    out = _correlate(_EXAMPLE_IMAGE, _EXAMPLE_KERNEL, 2, 1)
    assert value == out[-1, -1] and len(fig.axes) == 2


def test_concurrent_changes_leave_an_intact_up_to_date_picture(live):
    seen = []
    live.image.observe(lambda change: seen.append(change["new"]), "value")
    moves = [("stride", 2), ("padding", 1), ("position", 6), ("stride", 3)]
    barrier = threading.Barrier(len(moves))

    def move(name, value):
        barrier.wait()
        live.controls[name].value = value

    threads = [threading.Thread(target=move, args=m) for m in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen, "no redraw"
    assert live.redraws <= 1 + len(moves)          # at most one redraw per change
    for png in seen:
        assert pixels(png).shape == (400, 800, 3)
    assert live.image.value == frame_png(live, **live.values())

"""Figures of chapters 1 and 2: they build, draw the connections they claim
to draw, and the wiring they draw agrees with the layers' weight matrices,
with PyTorch and with the receptive-field functions."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from cnnlib.figures import connections as diagrams  # noqa: E402
from cnnlib.figures import locality as locality_figures  # noqa: E402
from cnnlib.figures import sharing as sharing_figures  # noqa: E402
from cnnlib.shapes import conv_output_size  # noqa: E402
from cnnlib.figures.sharing import (  # noqa: E402
    _EXAMPLE_IMAGE,
    _EXAMPLE_KERNEL,
    _correlate,
    _draw_frame,
    _frame_geometry,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _segments(ax):
    """(coloured, black) segment counts of the LineCollections on ``ax``."""
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    coloured, tracked = collections[0], collections[1]
    return len(coloured.get_segments()), len(tracked.get_segments())


# --- the wiring as data ------------------------------------------------------


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2))
def test_connections_1d_counts(n, k, s, p):
    try:
        n_out = conv_output_size(n, k, s, p)
    except ValueError:
        return
    full = diagrams._connections_1d("full", n, k, s, p)
    local = diagrams._connections_1d("local", n, k, s, p)
    shared = diagrams._connections_1d("shared", n, k, s, p)
    assert len(full) == n_out * n == len({param for *_, param in full})
    # local and shared draw the same lines, only the parameters differ
    assert [(o, i) for o, i, _ in local] == [(o, i) for o, i, _ in shared]
    assert len({param for *_, param in local}) == len(local)
    assert {param for *_, param in shared} <= {("k", u) for u in range(k)}
    # every line of a window lies inside the input and inside the window
    for o, i, (_, u) in shared:
        assert 0 <= i < n and i == o * s - p + u


def test_connections_2d_counts():
    full = diagrams._connections_2d("full", (5, 5), 3)
    local = diagrams._connections_2d("local", (5, 5), 3)
    shared = diagrams._connections_2d("shared", (5, 5), 3)
    assert len(full) == 9 * 25 == len({p for *_, p in full})
    assert len(local) == len(shared) == 9 * 9
    assert len({p for *_, p in local}) == 81 and len({p for *_, p in shared}) == 9
    padded = diagrams._connections_2d("local", (4, 4), 3, padding=1)  # corners read only 4 pixels
    assert sum(1 for o, *_ in padded if o == (0, 0)) == 4


def test_layer_matrices_are_the_layers():
    rng = np.random.default_rng(1)
    x = rng.normal(size=10)
    shared = diagrams._layer_matrix_1d("shared", 10, 3, rng)
    kernel = shared[0, :3]
    # a Toeplitz band: the cross-correlation (what torch calls conv1d)
    expected = F.conv1d(torch.tensor(x)[None, None], torch.tensor(kernel)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(shared @ x, expected)
    local = diagrams._layer_matrix_1d("local", 10, 3, rng)
    full = diagrams._layer_matrix_1d("full", 10, 3, rng)
    wiring = np.zeros((8, 10), dtype=bool)
    for o, i, _ in diagrams._connections_1d("local", 10, 3):
        wiring[o, i] = True
    np.testing.assert_array_equal(local != 0, wiring)
    np.testing.assert_array_equal(shared != 0, wiring)
    assert (full != 0).all() and full.shape == (8, 10)
    assert len(np.unique(local[local != 0])) == 24 and len(np.unique(shared[shared != 0])) == 3


def test_bad_kind_and_unit():
    with pytest.raises(ValueError, match="kind"):
        diagrams._connections_1d("dense", 5, 3)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="not one of the 5 output units"):
        diagrams._draw_connections_1d(ax, "local", 7, 3, units=(5,))
    with pytest.raises(ValueError, match="not in the 3x3 output"):
        diagrams._draw_connections_2d(ax, "local", (5, 5), 3, units=((3, 0),))


# --- drawings ------------------------------------------------------------------


@pytest.mark.parametrize("kind, lines, tracked, params", [
    ("full", 2 * 7, 1, 5 * 7), ("local", 2 * 3, 1, 5 * 3), ("shared", 2 * 3, 5, 3)])
def test_draw_1d_draws_the_lines_it_counts(kind, lines, tracked, params):
    fig, ax = plt.subplots()
    counts = diagrams._draw_connections_1d(ax, kind, 7, 3, units=(1, 3))
    assert counts == {"lines": lines, "tracked": tracked, "parameters": params}
    assert _segments(ax) == (lines, tracked)


@pytest.mark.parametrize("kind, lines, tracked, params", [
    ("full", 2 * 25, 1, 9 * 25), ("local", 2 * 9, 1, 81), ("shared", 2 * 9, 9, 9)])
def test_draw_2d_draws_the_lines_it_counts(kind, lines, tracked, params):
    fig, ax = plt.subplots()
    counts = diagrams._draw_connections_2d(ax, kind, (5, 5), 3, units=((0, 0), (2, 1)))
    assert counts == {"lines": lines, "tracked": tracked, "parameters": params}
    assert _segments(ax) == (lines, tracked)


def test_connection_figure_builds():
    fig, counts = diagrams.connection_figure(("full", "local", "shared"))
    assert len(fig.axes) == 6
    assert [counts[k][0]["parameters"] for k in ("full", "local", "shared")] == [35, 15, 3]
    assert all(ax.get_title() for ax in fig.axes)


def test_receptive_cone_counts_the_receptive_field():
    fig, ax = plt.subplots()
    assert diagrams.draw_receptive_cone_1d(ax, 9, 3, 3) == 7
    assert diagrams.draw_receptive_cone_1d(ax, 9, 2, 3) == 5


def test_receptive_field_figure():
    fig, gradients = locality_figures.receptive_field_figure((1, 2, 3), 3, 9)
    assert [(g > 0).sum() for g in gradients.values()] == [9, 25, 49]
    assert [ax.get_title().split(": ")[1] for ax in fig.axes[1:]] == ["3×3", "5×5", "7×7"]


def test_weight_matrix_figure():
    fig, matrices = diagrams.weight_matrix_figure(10, 3)
    assert set(matrices) == {"full", "local", "shared"}
    assert "3 distinct" in fig.axes[2].get_title()


def test_parameter_growth_figure():
    sides = [10, 32, 100, 1000]
    fig, counts = locality_figures.parameter_growth_figure(sides, window=10, marks=(32, 1000))
    assert counts["full"] == [s**4 for s in sides]
    assert counts["local"] == [s * s * 100 for s in sides]
    assert counts["shared"] == [100] * 4
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="at least the window"):
        locality_figures.parameter_growth_figure([5, 10], window=10)


# --- the sliding window --------------------------------------------------------


@given(st.integers(1, 3), st.integers(0, 2))
def test_frames_fill_in_the_convolution(stride, padding):
    expected = F.conv2d(torch.tensor(_EXAMPLE_IMAGE)[None, None], torch.tensor(_EXAMPLE_KERNEL)[None, None],
                        stride=stride, padding=padding)[0, 0].numpy()
    (ho, wo), n = _frame_geometry(_EXAMPLE_IMAGE.shape, _EXAMPLE_KERNEL.shape, stride, padding)
    assert (ho, wo) == expected.shape and n == expected.size
    np.testing.assert_array_equal(_correlate(_EXAMPLE_IMAGE, _EXAMPLE_KERNEL, stride, padding), expected)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_each_frame_shows_its_output_value(stride, padding):
    expected = F.conv2d(torch.tensor(_EXAMPLE_IMAGE)[None, None], torch.tensor(_EXAMPLE_KERNEL)[None, None],
                        stride=stride, padding=padding)[0, 0].numpy()
    fig, (a, b) = plt.subplots(1, 2)
    for position in range(expected.size):
        a.clear()
        b.clear()
        assert _draw_frame(a, b, position=position, stride=stride, padding=padding) == expected.ravel()[position]
    i, j = divmod(expected.size - 1, expected.shape[1])
    assert b.get_title().endswith(f"h[{i},{j}] = {expected[i, j]:g}")
    # the window's outline is a kernel-sized rectangle on the input
    outline = [p for p in a.patches if not p.get_fill()][0]
    assert (outline.get_width(), outline.get_height()) == (3, 3)


def test_frame_rejects_a_position_outside_the_output():
    fig, (a, b) = plt.subplots(1, 2)
    with pytest.raises(ValueError, match=r"position must be in \[0, 8\]"):
        _draw_frame(a, b, position=9)
    with pytest.raises(ValueError, match="2-D"):
        _draw_frame(a, b, image=np.zeros(5))


def test_sliding_window_figure():
    fig, values = sharing_figures.sliding_window_figure([(1, 0, 0), (1, 0, 8), (1, 1, 0), (2, 1, 4)])
    assert values == [4, 4, 2, 4]
    assert len(fig.axes) == 8


def test_image_panels():
    fig = sharing_figures.image_panels([np.zeros((4, 5)), np.ones((4, 5))], ["a", "b"], colorbar_label="value")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2 and images[0].get_clim() == images[1].get_clim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="titles"):
        sharing_figures.image_panels([np.zeros((2, 2))], ["a", "b"])


def test_coverage_figure_marks_the_pixels_never_read():
    fig, coverages = sharing_figures.coverage_figure(1000, 10, strides=(10, 8), last=30)
    assert (coverages[10] == 1).all()
    assert (coverages[8] == 0).sum() == 6
    never = [bar for bar in fig.axes[1].patches if bar.get_height() == 0.15]
    assert len(never) == 6

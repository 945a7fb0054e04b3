"""Chapter 6's figures show what the results hold: training accuracy where asked, the reach of each unit row."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlib.figures import experiments as plots  # noqa: E402

RESULT = {  # a hand-made sample_efficiency result: two sizes, two seeds, two networks
    "sizes": [10, 40], "seeds": [0, 1], "kinds": ["convolutional", "fully connected"],
    "accuracy": {"convolutional": [[0.5, 0.7], [0.8, 0.8]], "fully connected": [[0.2, 0.2], [0.4, 0.6]]},
    "train_accuracy": {"convolutional": [[1.0, 0.9], [0.75, 0.85]], "fully connected": [[1.0, 1.0], [1.0, 1.0]]},
    "parameters": {"convolutional": 5, "fully connected": 50},
}


@pytest.mark.parametrize("measure, means", [
    ("accuracy", {"convolutional": [0.6, 0.8], "fully connected": [0.2, 0.5]}),
    ("train_accuracy", {"convolutional": [0.95, 0.8], "fully connected": [1.0, 1.0]}),
])
def test_the_curves_are_the_means_of_the_measure_asked_for(measure, means):
    fig, ax = plt.subplots()
    plots._plot_sample_efficiency(RESULT, ax=ax, measure=measure)
    lines = [line for line in ax.get_lines() if line.get_linestyle() != "None" and len(line.get_xdata()) == 2
             and list(line.get_xdata()) == [10, 40]]
    drawn = sorted(tuple(np.round(line.get_ydata(), 6)) for line in lines)
    assert drawn == sorted(tuple(v) for v in means.values())
    assert ax.get_ylabel() == ("test accuracy" if measure == "accuracy" else "training accuracy")
    plt.close(fig)


def test_a_bad_measure_is_refused_and_the_chance_line_only_inside_the_range():
    with pytest.raises(ValueError, match="measure"):
        plots._plot_sample_efficiency(RESULT, measure="loss")
    fig, ax = plt.subplots()
    plots._plot_sample_efficiency(RESULT, ax=ax, ylim=(0.5, 1))
    assert ax.get_ylim() == (0.5, 1) and not [t for t in ax.texts if t.get_text() == "chance"]
    plt.close(fig)


def test_plot_reach_draws_one_bar_per_unit_row_over_its_rows():
    reach = {i: (2 * i, 2 * i + 7) for i in range(-1, 6)}
    ax = plots.plot_reach(reach, 16, {"centre": 4})
    bars = ax.get_lines()
    assert len(bars) == len(reach)
    for line, (i, (first, last)) in zip(bars, reach.items()):
        assert list(line.get_ydata()) == [i, i]
        assert line.get_xdata()[0] == pytest.approx(first - 0.45) and line.get_xdata()[1] == pytest.approx(last + 0.45)
    widths = [line.get_linewidth() for line in bars]
    assert widths[0] < widths[1] and widths[-1] < widths[-2]     # rows off the canvas drawn thin
    plt.close("all")


# a hand-made translation result: a 3×3 grid of positions, centre (1, 1), accuracy at (row, col)
SHIFTS = {"kinds": ["convolutional", "fully connected"], "positions": [0, 1, 2], "center": 1,
          "accuracy": {"convolutional": [[0.9, 0.8, 0.7], [0.6, 0.5, 0.4], [0.3, 0.2, 0.1]],
                       "fully connected": [[0.1, 0.1, 0.1], [0.2, 1.0, 0.3], [0.1, 0.4, 0.1]]}}


def _networks_legend_is_above_the_panels(fig):
    assert len(fig.legends) == 1 and not [ax for ax in fig.axes if ax.get_legend()]
    legend_bottom = fig.legends[0].get_window_extent(fig.canvas.get_renderer()).y0
    assert all(ax.get_window_extent().y1 <= legend_bottom + 1 for ax in fig.axes)


def test_the_efficiency_figure_stacks_test_training_and_gap_over_one_axis():
    fig = plots.efficiency_figure(RESULT)
    fig.canvas.draw()
    test, train, gap = fig.axes
    assert test.get_shared_x_axes().joined(test, gap)
    # the gap panel: mean training minus mean test accuracy, in points, computed here by hand
    drawn = {line.get_label(): list(np.round(line.get_ydata(), 6)) for line in gap.get_lines()}
    assert drawn == {"convolutional": [35.0, 0.0], "fully connected": [80.0, 50.0]}
    assert [ax.get_ylabel() for ax in (test, train)] == ["test accuracy", "training accuracy"]
    _networks_legend_is_above_the_panels(fig)
    plt.close(fig)


def test_the_aligned_figure_sets_the_second_panels_range():
    fig = plots.aligned_figure(RESULT, RESULT, aligned_ylim=(0.5, 1))
    fig.canvas.draw()
    assert fig.axes[0].get_ylim() == (0, 1) and fig.axes[1].get_ylim() == (0.5, 1)
    _networks_legend_is_above_the_panels(fig)
    plt.close(fig)


def test_the_shift_curves_are_the_row_and_column_through_the_centre():
    fig = plots.plot_shift_curves([SHIFTS], ["trained somewhere"])
    fig.canvas.draw()
    horizontal, vertical = fig.axes
    lines = {(ax.get_title().split()[0], line.get_label()): list(line.get_ydata())
             for ax in (horizontal, vertical) for line in ax.get_lines() if line.get_label() in SHIFTS["kinds"]}
    assert lines[("horizontal", "fully connected")] == [0.2, 1.0, 0.3]      # row 1 of the grid
    assert lines[("vertical", "convolutional")] == [0.8, 0.5, 0.2]           # column 1
    assert "trained somewhere" in horizontal.get_ylabel()
    _networks_legend_is_above_the_panels(fig)
    plt.close(fig)


def test_the_shift_maps_show_each_networks_grid_with_a_colour_bar_per_row():
    fig = plots.plot_shift_maps([SHIFTS, SHIFTS], ["one", "two"])
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert len(images) == 4
    for image, kind in zip(images, SHIFTS["kinds"] * 2):
        assert np.array_equal(image.get_array(), np.asarray(SHIFTS["accuracy"][kind]))
        assert image.get_clim() == (0, 1)
    assert len([ax for ax in fig.axes if ax.get_label() == "<colorbar>"]) == 2
    plt.close(fig)

"""Figures of chapters 3 and 6 (the experiments on digits), on the results of :mod:`cnnlib.experiments`.

* :func:`plot_digits`: digits on their canvas;
* :func:`efficiency_figure`, :func:`aligned_figure`: accuracy (test or training)
  against the size of the training set (:func:`cnnlib.experiments.sample_efficiency`),
  panels drawn by the private ``_plot_sample_efficiency`` and ``_plot_generalization_gap``;
* :func:`plot_reach`: which rows of the canvas the units of the last layer see;
* :func:`plot_shift_curves`, :func:`plot_shift_maps`: accuracy against the
  position of the test digits (:func:`cnnlib.experiments.translation`).

Every network has one colour, marker and line style (:data:`COLORS`, ...).
The whole figures are drawn for the book's column (``_style.COLUMN_WIDTH_IN``)
at its font sizes, with the networks' legend above the panels, never on the data.
"""

import numpy as np

from cnnlib.experiments import CHANCE, mean_and_spread, shift_curve
from cnnlib.figures._style import COLUMN_WIDTH_IN

__all__ = ["COLORS", "MARKERS", "LINESTYLES", "plot_digits",
           "efficiency_figure", "aligned_figure", "plot_shift_curves", "plot_shift_maps", "plot_reach"]


def plot_digits(images, labels, titles=None, n=10):
    """The first ``n`` images ``(N, 1, S, S)`` with their labels, one row per array in ``images`` (a list)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(images), n, figsize=(1.1 * n, 1.3 * len(images)), squeeze=False)
    for row, batch in enumerate(images):
        for k in range(n):
            ax = axes[row][k]
            ax.imshow(np.asarray(batch[k, 0]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(str(int(labels[k])))
        if titles is not None:
            axes[row][0].set_ylabel(titles[row])
    return fig

COLORS = {"fully connected": "#440154", "locally connected": "#21918c", "convolutional": "#e6a800"}
MARKERS = {"fully connected": "s", "locally connected": "^", "convolutional": "o"}
LINESTYLES = {"fully connected": ":", "locally connected": "--", "convolutional": "-"}


def _plot_sample_efficiency(result, ax=None, measure="accuracy", legend=True, ylim=(0, 1)):
    """Mean accuracy (± one standard deviation, single seeds as dots) against training-set size, log axis.

    ``measure``: ``"accuracy"`` (on the test split) or ``"train_accuracy"`` (on each run's own training set);
    ``ylim``: the range of the vertical axis (the chance line only when it lies inside).
    """
    import matplotlib.pyplot as plt

    if measure not in ("accuracy", "train_accuracy"):
        raise ValueError(f'measure must be "accuracy" or "train_accuracy", got {measure!r}')
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    sizes = np.asarray(result["sizes"])
    for kind, (mean, std, _, _) in mean_and_spread({**result, "accuracy": result[measure]}).items():
        acc = np.asarray(result[measure][kind])
        label = f"{kind} ({result['parameters'][kind]:,d} parameters)"
        style = {"color": COLORS[kind], "marker": MARKERS[kind], "linestyle": LINESTYLES[kind]}
        ax.errorbar(sizes, mean, yerr=std, capsize=3, label=label, **style)
        ax.plot(np.repeat(sizes, acc.shape[1]), acc.ravel(), MARKERS[kind], color=COLORS[kind], alpha=0.3, ms=3)
    if ylim[0] < CHANCE < ylim[1]:
        ax.axhline(CHANCE, color="0.5", lw=0.8)
        ax.text(sizes[-1], CHANCE + 0.01, "chance", color="0.4", ha="right", va="bottom")
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_ylim(*ylim)
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("test accuracy" if measure == "accuracy" else "training accuracy")
    if legend:
        ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def _plot_generalization_gap(result, ax=None, legend=True):
    """Training minus test accuracy (percentage points, mean over seeds) against training-set size, log axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    sizes = np.asarray(result["sizes"])
    for kind in result["kinds"]:
        gap = np.mean(result["train_accuracy"][kind], axis=1) - np.mean(result["accuracy"][kind], axis=1)
        ax.plot(sizes, 100 * gap, color=COLORS[kind], marker=MARKERS[kind], linestyle=LINESTYLES[kind], label=kind)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("training − test (points)")
    ax.grid(alpha=0.3)
    if legend:
        ax.legend()
    return ax


def _legend_above(fig, ax, ncol):
    """The networks' legend (from ``ax``) above every panel of ``fig``, outside the data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=ncol, frameon=False)


def efficiency_figure(result):
    """Test accuracy, training accuracy and their difference against training-set size: three
    panels one above the other, one training-set axis, the legend (with parameter counts) above."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(COLUMN_WIDTH_IN, 7.6), sharex=True, layout="constrained")
    _plot_sample_efficiency(result, ax=axes[0], legend=False)
    _plot_sample_efficiency(result, ax=axes[1], measure="train_accuracy", legend=False)
    _plot_generalization_gap(result, ax=axes[2], legend=False)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    _legend_above(fig, axes[0], ncol=1)
    return fig


def aligned_figure(result, aligned, titles=("digits at random positions", "digits at the centre (aligned)"),
                   aligned_ylim=(0.75, 1)):
    """Two panels side by side: test accuracy against training-set size for ``result`` and for
    ``aligned`` (its vertical axis ``aligned_ylim``), the legend above."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH_IN, 3.9), layout="constrained")
    _plot_sample_efficiency(result, ax=axes[0], legend=False)
    _plot_sample_efficiency(aligned, ax=axes[1], legend=False, ylim=aligned_ylim)
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.set_xlabel("training images (log)")
    axes[1].set_ylabel("")
    _legend_above(fig, axes[0], ncol=1)
    return fig


def plot_shift_curves(results, titles):
    """Accuracy against horizontal and vertical shift: a row of two panels per result of
    :func:`cnnlib.experiments.translation` (``titles`` name the rows), one shift axis per column,
    one accuracy axis, the legend above. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(COLUMN_WIDTH_IN, 2.4 * len(results) + 0.9),
                             sharex=True, sharey=True, squeeze=False, layout="constrained")
    for row, (result, title) in enumerate(zip(results, titles)):
        for col, (axis, name) in enumerate((("horizontal", "t"), ("vertical", "s"))):
            ax = axes[row][col]
            for kind in result["kinds"]:
                shifts, acc = shift_curve(result, kind, axis)
                ax.plot(shifts, acc, color=COLORS[kind], marker=MARKERS[kind], linestyle=LINESTYLES[kind], label=kind)
            ax.axhline(CHANCE, color="0.5", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)
            ax.set_xticks(shifts)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"{axis} shifts ({name})")
            if row == len(results) - 1:
                ax.set_xlabel(f"{name}: {'columns right' if name == 't' else 'rows down'} (pixels)")
        axes[row][0].set_ylabel(f"{title}\ntest accuracy")
    _legend_above(fig, axes[0][0], ncol=3)
    return fig


def plot_shift_maps(results, titles):
    """Heat maps of accuracy at every shift ``(s, t)``: one row per result (titled by ``titles``), one
    column per network, each row with its colour bar (the same scale, 0 to 1). Returns the figure."""
    import matplotlib.pyplot as plt

    kinds = results[0]["kinds"]
    fig = plt.figure(figsize=(COLUMN_WIDTH_IN, 2.75 * len(results)), layout="constrained")
    rows = fig.subfigures(len(results), 1, squeeze=False)[:, 0]
    for row, (sub, result, title) in enumerate(zip(rows, results, titles)):
        shifts = np.asarray(result["positions"]) - result["center"]
        extent = (shifts[0] - 0.5, shifts[-1] + 0.5, shifts[-1] + 0.5, shifts[0] - 0.5)
        axes = sub.subplots(1, len(kinds), sharex=True, sharey=True)
        for col, (ax, kind) in enumerate(zip(axes, kinds)):
            image = ax.imshow(np.asarray(result["accuracy"][kind]), vmin=0, vmax=1, cmap="viridis", extent=extent)
            ax.set_xticks(shifts[::2])
            ax.set_yticks(shifts[::2])
            ax.set_title(kind)
            if row == len(results) - 1:
                ax.set_xlabel("t (columns)")
            if col == 0:
                ax.set_ylabel("s (rows)")
        sub.suptitle(title, fontsize=11)
        sub.colorbar(image, ax=axes, label="test accuracy", shrink=0.9)
    return fig


def plot_reach(reach, canvas_size, digit_rows, ax=None):
    """Which canvas rows each row of last-layer units sees, against where a digit lies.

    ``reach``: ``{i: (first, last)}``, the canvas rows seen by unit row ``i``;
    rows ``i`` outside ``0 .. n - 1`` (``n`` the number of non-negative keys
    whose first row is on the canvas) are drawn thin and dashed: units the map
    would need but does not have. ``digit_rows``: ``{label: first row of the
    digit}``, each digit 8 rows tall, drawn as a band below.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 4.6), layout="constrained")
    for i, (first, last) in reach.items():
        real = first >= 0 and last <= canvas_size - 1
        ax.plot([first - 0.45, last + 0.45], [i, i], lw=7 if real else 1.5, solid_capstyle="butt",
                color=COLORS["convolutional"] if real else "0.45", linestyle="-" if real else (0, (3, 2)))
    low = min(reach)
    for k, (label, top) in enumerate(digit_rows.items()):
        y = low - 1.4 - 1.0 * k
        ax.barh(y, 8, left=top - 0.5, height=0.75, color="#3b528b")
        ax.text(top + 3.5, y, label, ha="center", va="center", color="white")
    ax.axvspan(-0.5, canvas_size - 0.5, color="0.92", zorder=-1)
    firsts = [f for f, _ in reach.values()]
    lasts = [l for _, l in reach.values()]
    ax.set_xlim(min(firsts + [0]) - 1, max(lasts + [canvas_size - 1]) + 1)
    ax.set_ylim(low - 1.4 - 1.0 * len(digit_rows) + 0.3, max(reach) + 0.7)
    ax.invert_yaxis()
    ax.set_yticks(sorted(reach))
    ax.set_xticks(range(0, canvas_size, 2))
    ax.set_xlabel("row of the canvas (grey: the 16 rows of the canvas)")
    ax.set_ylabel("row i of the last layer")
    ax.grid(axis="x", alpha=0.3)
    return ax

"""Figures of chapters 3 and 6 (the experiments on digits), on the results of :mod:`cnnlib.experiments`.

* :func:`plot_digits`: digits on their canvas;
* :func:`plot_sample_efficiency`, :func:`plot_generalization_gap`: accuracy (test or
  training) against the size of the training set
  (:func:`cnnlib.experiments.sample_efficiency`);
* :func:`plot_reach`: which rows of the canvas the units of the last layer see;
* :func:`plot_shift_curves`, :func:`plot_shift_maps`: accuracy against the
  position of the test digits (:func:`cnnlib.experiments.translation`).

Every network has one colour, marker and line style (:data:`COLORS`, ...).
"""

import numpy as np

from cnnlib.experiments import CHANCE, mean_and_spread, shift_curve

__all__ = ["COLORS", "MARKERS", "LINESTYLES", "plot_digits", "plot_sample_efficiency", "plot_generalization_gap",
           "plot_shift_curves", "plot_shift_maps", "plot_reach"]


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
            ax.set_title(str(int(labels[k])), fontsize=9)
        if titles is not None:
            axes[row][0].set_ylabel(titles[row], fontsize=8)
    return fig

COLORS = {"fully connected": "#440154", "locally connected": "#21918c", "convolutional": "#e6a800"}
MARKERS = {"fully connected": "s", "locally connected": "^", "convolutional": "o"}
LINESTYLES = {"fully connected": ":", "locally connected": "--", "convolutional": "-"}


def plot_sample_efficiency(result, ax=None, measure="accuracy", legend=True, ylim=(0, 1)):
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
        ax.text(sizes[0], CHANCE + 0.01, "chance", color="0.4", fontsize=8)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_ylim(*ylim)
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("test accuracy" if measure == "accuracy" else "training accuracy")
    if legend:
        ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_generalization_gap(result, ax=None):
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
    ax.set_ylabel("training minus test accuracy (points)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_shift_curves(results, titles, axes=None):
    """Accuracy against horizontal and vertical shift, one row of two panels per result of :func:`translation`."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(len(results), 2, figsize=(9, 3.2 * len(results)), sharey=True, squeeze=False)
    for row, (result, title) in enumerate(zip(results, titles)):
        for col, axis in enumerate(("horizontal", "vertical")):
            ax = axes[row][col]
            for kind in result["kinds"]:
                shifts, acc = shift_curve(result, kind, axis)
                ax.plot(shifts, acc, color=COLORS[kind], marker=MARKERS[kind], linestyle=LINESTYLES[kind], label=kind)
            ax.axhline(CHANCE, color="0.5", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)
            ax.set_xticks(shifts)
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"{axis} shift of the test digits (pixels)")
            ax.set_title(f"{title}: {axis} shifts", fontsize=10)
            ax.grid(alpha=0.3)
        axes[row][0].set_ylabel("test accuracy")
    axes[0][0].legend(fontsize=8, loc="lower left")
    return axes


def plot_shift_maps(results, titles):
    """Heat maps of accuracy at every shift ``(dy, dx)``, one row per result, one column per network."""
    import matplotlib.pyplot as plt

    kinds = results[0]["kinds"]
    fig, axes = plt.subplots(len(results), len(kinds), figsize=(3.1 * len(kinds), 3.0 * len(results)), squeeze=False)
    for row, (result, title) in enumerate(zip(results, titles)):
        shifts = np.asarray(result["positions"]) - result["center"]
        extent = (shifts[0] - 0.5, shifts[-1] + 0.5, shifts[-1] + 0.5, shifts[0] - 0.5)
        for col, kind in enumerate(kinds):
            ax = axes[row][col]
            image = ax.imshow(np.asarray(result["accuracy"][kind]), vmin=0, vmax=1, cmap="viridis", extent=extent)
            ax.set_xticks(shifts[::2])
            ax.set_yticks(shifts[::2])
            ax.set_title(f"{kind}\n{title}", fontsize=9)
            ax.set_xlabel("t: columns (pixels)")
            if col == 0:
                ax.set_ylabel("s: rows (pixels)")
    fig.colorbar(image, ax=axes, shrink=0.8, label="test accuracy")
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
        _, ax = plt.subplots(figsize=(7, 3.4))
    for i, (first, last) in reach.items():
        real = first >= 0 and last <= canvas_size - 1
        ax.plot([first - 0.45, last + 0.45], [i, i], lw=7 if real else 1.5, solid_capstyle="butt",
                color=COLORS["convolutional"] if real else "0.45", linestyle="-" if real else (0, (3, 2)))
    low = min(reach)
    for k, (label, top) in enumerate(digit_rows.items()):
        y = low - 1.2 - 0.8 * k
        ax.barh(y, 8, left=top - 0.5, height=0.55, color="#3b528b")
        ax.text(top + 3.5, y, label, ha="center", va="center", fontsize=8, color="white")
    ax.axvspan(-0.5, canvas_size - 0.5, color="0.92", zorder=-1)
    firsts = [f for f, _ in reach.values()]
    lasts = [l for _, l in reach.values()]
    ax.set_xlim(min(firsts + [0]) - 1, max(lasts + [canvas_size - 1]) + 1)
    ax.set_ylim(low - 1.2 - 0.8 * len(digit_rows), max(reach) + 0.7)
    ax.invert_yaxis()
    ax.set_yticks(sorted(reach))
    ax.set_xticks(range(0, canvas_size, 2))
    ax.set_xlabel("row of the canvas (grey: the 16 rows of the canvas)")
    ax.set_ylabel("row i of the last layer")
    ax.grid(axis="x", alpha=0.3)
    return ax

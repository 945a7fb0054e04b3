"""Figures of chapters 1 and 2: who is connected to whom, and with which weight.

Three kinds of layer have the same output units and differ in their wiring:

* ``"full"``:   every output unit is connected to every input unit, each
  connection with its own weight;
* ``"local"``:  each output unit is connected to a window of ``kernel_size``
  inputs, each connection with its own weight (a locally connected layer);
* ``"shared"``: the same windows, but the weight of a connection depends only
  on its place in the window (a convolution).

The connections are listed as data, each with the parameter it uses, and
drawn in the spirit of Goodfellow et al. (2016), figs. 9.2 and 9.5: the
connections of a few highlighted units in colour and, in black, every use of
one parameter. :func:`connection_figure` and :func:`weight_matrix_figure`
build the complete figures of the chapters; :func:`draw_receptive_cone_1d`
draws the cone of chapter 1's receptive-field figure.
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.patches import Polygon, Rectangle

from cnnlib.receptive_field import receptive_field_mask
from cnnlib.shapes import check_int, conv_output_size, pair

__all__ = [
    "KINDS",
    "draw_receptive_cone_1d",
    "connection_figure",
    "weight_matrix_figure",
]

KINDS = ("full", "local", "shared")
TITLES = {"full": "fully connected", "local": "locally connected", "shared": "convolution (shared)"}
UNIT_COLOURS = [colormaps["viridis"](t) for t in (0.3, 0.62, 0.85, 0.1)]
TRACKED = "black"


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


# --------------------------------------------------------------------------
# The wiring, as data
# --------------------------------------------------------------------------


def _connections_1d(kind, n_inputs, kernel_size, stride=1, padding=0):
    """Every connection of a 1-D layer as ``(output, input, parameter)`` triples.

    All kinds have the ``conv_output_size(n_inputs, kernel_size, stride,
    padding)`` output units of the convolution. ``parameter`` names the
    weight a connection uses: ``("w", output, input)`` for ``"full"``,
    ``("w", output, tap)`` for ``"local"``, ``("k", tap)`` for ``"shared"``
    (``tap`` is the place in the window). Window taps that fall into the
    zero padding connect to nothing and are left out.
    """
    _check_kind(kind)
    n = check_int("n_inputs", n_inputs, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    n_out = conv_output_size(n, k, s, p)
    out = []
    for o in range(n_out):
        if kind == "full":
            out.extend((o, i, ("w", o, i)) for i in range(n))
            continue
        for u in range(k):
            i = o * s - p + u
            if 0 <= i < n:
                out.append((o, i, ("w", o, u) if kind == "local" else ("k", u)))
    return out


def _connections_2d(kind, input_shape, kernel_size, stride=1, padding=0):
    """Every connection of a 2-D layer as ``((oi, oj), (ii, ij), parameter)``.

    Like :func:`_connections_1d` with ``(row, column)`` pairs: the parameter is
    ``("w", (oi, oj), (ii, ij))`` (full), ``("w", (oi, oj), (u, v))`` (local)
    or ``("k", (u, v))`` (shared).
    """
    _check_kind(kind)
    h, w = pair("input_shape", tuple(input_shape) if isinstance(input_shape, list) else input_shape)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("stride", stride)
    ph, pw = pair("padding", padding, minimum=0)
    ho, wo = conv_output_size((h, w), (kh, kw), (sh, sw), (ph, pw))
    out = []
    for oi in range(ho):
        for oj in range(wo):
            if kind == "full":
                out.extend(((oi, oj), (r, c), ("w", (oi, oj), (r, c))) for r in range(h) for c in range(w))
                continue
            for u in range(kh):
                for v in range(kw):
                    r, c = oi * sh - ph + u, oj * sw - pw + v
                    if 0 <= r < h and 0 <= c < w:
                        param = ("w", (oi, oj), (u, v)) if kind == "local" else ("k", (u, v))
                        out.append(((oi, oj), (r, c), param))
    return out


def _layer_matrix_1d(kind, n_inputs, kernel_size, rng=None):
    """The weight matrix ``(n_out, n_inputs)`` of a 1-D layer (stride 1, no padding).

    ``"full"``: every entry random; ``"local"``: random inside each row's
    window, zero outside (a band); ``"shared"``: the band holds the same
    kernel in every row (a Toeplitz matrix), so ``M @ x`` is the
    cross-correlation of ``x`` with the kernel. Random values are uniform in
    [0.2, 1) (never zero, so the zeros are exactly the missing connections).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    _check_kind(kind)
    n = check_int("n_inputs", n_inputs, 1)
    k = check_int("kernel_size", kernel_size, 1)
    n_out = conv_output_size(n, k)
    if kind == "full":
        return rng.uniform(0.2, 1.0, size=(n_out, n))
    m = np.zeros((n_out, n))
    kernel = rng.uniform(0.2, 1.0, size=k)
    for o in range(n_out):
        m[o, o : o + k] = kernel if kind == "shared" else rng.uniform(0.2, 1.0, size=k)
    return m


def _tracked_parameter(kind, conns, unit, centre):
    """The parameter of ``unit``'s connection to ``centre`` (the window's middle tap)."""
    for o, i, param in conns:
        if o == unit and i == centre:
            return param
    return None


# --------------------------------------------------------------------------
# Drawing one layer
# --------------------------------------------------------------------------


def _node_row(ax, xs, y, label, highlighted, colour_of):
    for idx, x in enumerate(xs):
        face = colour_of.get(idx, "white") if highlighted else "white"
        ax.add_patch(
            Polygon(_circle(x, y, 0.3), closed=True, facecolor=face, edgecolor="black", linewidth=1.2, zorder=4)
        )
        dark = face != "white" and np.mean(face[:3]) < 0.5
        ax.text(x, y, f"{label}{_sub(idx + 1)}", ha="center", va="center", fontsize=10, zorder=5,
                color="white" if dark else "black")


def _sub(n):
    """``12 -> '₁₂'``: subscript digits as plain text (no mathtext: it is slow to start)."""
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _circle(x, y, r, n=40):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([x + r * np.cos(t), y + r * np.sin(t)])


def _draw_connections_1d(ax, kind, n_inputs=7, kernel_size=3, units=(1, 3), stride=1, padding=0):
    """Draw a 1-D layer: inputs ``x`` at the bottom, outputs ``s`` on top.

    The connections of the output units in ``units`` are drawn in one colour
    per unit; every use of one parameter (the middle tap of the first
    highlighted unit) is drawn in thick black: once for ``"full"`` and
    ``"local"``, at every output unit for ``"shared"``.
    Returns ``{"lines": coloured lines, "tracked": black lines, "parameters":
    distinct parameters of the whole layer}``.
    """
    conns = _connections_1d(kind, n_inputs, kernel_size, stride, padding)
    n_out = conv_output_size(n_inputs, kernel_size, stride, padding)
    units = list(units)
    for u in units:
        if not 0 <= u < n_out:
            raise ValueError(f"unit {u} is not one of the {n_out} output units")
    x_in = np.arange(n_inputs, dtype=float)
    x_out = np.array([o * stride - padding + (kernel_size - 1) / 2 for o in range(n_out)])
    y_in, y_out = 0.0, 1.8
    colour_of = {u: UNIT_COLOURS[i % len(UNIT_COLOURS)] for i, u in enumerate(units)}

    segments, colours = [], []
    for o, i, _ in conns:
        if o in colour_of:
            segments.append([(x_out[o], y_out), (x_in[i], y_in)])
            colours.append(colour_of[o])
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=1.6, zorder=2))

    centre = units[0] * stride - padding + kernel_size // 2
    tracked = _tracked_parameter(kind, conns, units[0], centre)
    bold = [[(x_out[o], y_out), (x_in[i], y_in)] for o, i, p in conns if p == tracked]
    ax.add_collection(LineCollection(bold, colors=TRACKED, linewidths=3.2, zorder=3))

    _node_row(ax, x_in, y_in, "x", False, {})
    _node_row(ax, x_out, y_out, "s", True, colour_of)
    ax.set_xlim(-0.6, n_inputs - 0.4)
    ax.set_ylim(-0.5, y_out + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return {"lines": len(segments), "tracked": len(bold), "parameters": len({p for *_, p in conns})}


def _square(r, c, x0=0.0, **kw):
    """The unit square of grid cell (row r, column c), row 0 on top, shifted right by ``x0``."""
    return Rectangle((x0 + c - 0.5, -r - 0.5), 1, 1, **kw)


def _draw_connections_2d(ax, kind, input_shape=(5, 5), kernel_size=3, units=((0, 0), (2, 1)), stride=1, padding=0):
    """Draw a 2-D layer as two grids: the input on the left, the output on the right.

    The connections of the output cells in ``units`` are drawn in one colour
    per unit, from the cell's centre to the centre of every input pixel it
    reads, and those pixels are tinted; every use of one parameter (the
    middle tap of the first highlighted unit) is thick black. Returns a dict
    like :func:`_draw_connections_1d`.
    """
    conns = _connections_2d(kind, input_shape, kernel_size, stride, padding)
    h, w = input_shape
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("stride", stride)
    ph, pw = pair("padding", padding, minimum=0)
    ho, wo = conv_output_size((h, w), (kh, kw), (sh, sw), (ph, pw))
    units = [tuple(u) for u in units]
    for u in units:
        if not (0 <= u[0] < ho and 0 <= u[1] < wo):
            raise ValueError(f"unit {u} is not in the {ho}x{wo} output")
    colour_of = {u: UNIT_COLOURS[i % len(UNIT_COLOURS)] for i, u in enumerate(units)}
    x_out = w + 2.5  # the output grid starts this far right
    # and sits a little low, so that the parallel lines of a shared weight do not overlap
    y_shift = (h - ho) / 2 + 1.3

    def at_in(i):
        return (i[1], -i[0])

    def at_out(o):
        return (x_out + o[1], -o[0] - y_shift)

    # tint the pixels each highlighted unit reads (for "full": every pixel, so no tint)
    tint = {}
    if kind != "full":
        for o, i, _ in conns:
            if o in colour_of:
                tint.setdefault(i, colour_of[o])
    for r in range(h):
        for c in range(w):
            face = tint.get((r, c), "white")
            ax.add_patch(_square(r, c, facecolor=face, alpha=0.5 if face != "white" else 1.0,
                                 edgecolor="0.35", linewidth=0.8, zorder=1))
    for oi in range(ho):
        for oj in range(wo):
            face = colour_of.get((oi, oj), "white")
            ax.add_patch(Rectangle((x_out + oj - 0.5, -oi - y_shift - 0.5), 1, 1, facecolor=face,
                                   edgecolor="0.2", linewidth=1.0, zorder=1))

    segments, colours = [], []
    for o, i, _ in conns:
        if o in colour_of:
            segments.append([at_out(o), at_in(i)])
            colours.append(colour_of[o])
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=1.0, alpha=0.8, zorder=2))
    first = units[0]
    centre = (first[0] * sh - ph + kh // 2, first[1] * sw - pw + kw // 2)
    tracked = _tracked_parameter(kind, conns, first, centre)
    bold = [[at_out(o), at_in(i)] for o, i, p in conns if p == tracked]
    ax.add_collection(LineCollection(bold, colors=TRACKED, linewidths=2.2, zorder=3))
    for xy in {tuple(seg[0]) for seg in bold} | {tuple(seg[1]) for seg in bold}:
        ax.plot(*xy, "o", color=TRACKED, markersize=3.5, zorder=4)
    ax.text((w - 1) / 2, 0.9, f"input {h}×{w}", ha="center", fontsize=9)
    ax.text(x_out + (wo - 1) / 2, -y_shift + 0.9, f"output {ho}×{wo}", ha="center", fontsize=9)
    ax.set_xlim(-0.7, x_out + wo - 0.3)
    ax.set_ylim(min(-h, -ho - y_shift) + 0.3, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return {"lines": len(segments), "tracked": len(bold), "parameters": len({p for *_, p in conns})}


def draw_receptive_cone_1d(ax, n_inputs=9, depth=3, kernel_size=3, unit=None):
    """Draw ``depth`` stacked 1-D layers (``kernel_size``, stride 1, no padding)
    and the cone of connections that reaches one unit of the top layer.

    Nodes the unit depends on are filled; the cone's base on the input is
    its receptive field. Returns the number of input nodes in the cone.
    """
    k = check_int("kernel_size", kernel_size, 2)
    sizes = [n_inputs]
    for _ in range(depth):
        sizes.append(conv_output_size(sizes[-1], k))
    unit = sizes[-1] // 2 if unit is None else unit
    # reached[l]: which nodes of layer l the top unit depends on
    reached = [None] * (depth + 1)
    for level in range(depth + 1):
        reached[level] = receptive_field_mask(sizes[level], unit, [k] * (depth - level)) if level < depth else (
            np.arange(sizes[-1]) == unit)
    xs = [np.arange(sizes[level]) + level * (k - 1) / 2 for level in range(depth + 1)]
    segments = []
    for level in range(1, depth + 1):
        for o in np.flatnonzero(reached[level]):
            for u in range(k):
                segments.append([(xs[level][o], level), (xs[level - 1][o + u], level - 1)])
    ax.add_collection(LineCollection(segments, colors=[UNIT_COLOURS[0]], linewidths=1.4, zorder=1))
    superscript = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
    names = ["x"] + ["h" + f"({level})".translate(superscript) for level in range(1, depth + 1)]
    for level in range(depth + 1):
        ax.scatter(xs[level], np.full(sizes[level], level), s=150, zorder=3, edgecolors="black",
                   c=[UNIT_COLOURS[1] if r else "white" for r in reached[level]])
        ax.text(-1.0, level, names[level], ha="right", va="center", fontsize=11)
    ax.set_xlim(-1.9, n_inputs)
    ax.set_ylim(-0.6, depth + 0.6)
    ax.axis("off")
    return int(reached[0].sum())


# --------------------------------------------------------------------------
# Complete figures
# --------------------------------------------------------------------------


def connection_figure(kinds=("full", "local"), n_inputs=7, input_shape=(5, 5), kernel_size=3,
                      units_1d=(1, 3), units_2d=((0, 0), (2, 1))):
    """One row per kind of layer: the 1-D drawing on the left, the 2-D one on the right.

    Returns ``(fig, counts)`` where ``counts[kind] = (counts_1d, counts_2d)``
    are the dicts returned by the draw functions.
    """
    import matplotlib.pyplot as plt

    kinds = [_check_kind(k) for k in kinds]
    fig, axes = plt.subplots(len(kinds), 2, figsize=(10, 2.9 * len(kinds)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.25, 1]})
    counts = {}
    for row, kind in zip(axes, kinds):
        c1 = _draw_connections_1d(row[0], kind, n_inputs, kernel_size, units_1d)
        c2 = _draw_connections_2d(row[1], kind, input_shape, kernel_size, units_2d)
        counts[kind] = (c1, c2)
        row[0].set_title(f"{TITLES[kind]}, 1-D: {c1['parameters']} weights", fontsize=10)
        row[1].set_title(f"{TITLES[kind]}, 2-D: {c2['parameters']} weights", fontsize=10)
    fig.tight_layout()
    return fig, counts


def weight_matrix_figure(n_inputs=10, kernel_size=3, kinds=KINDS, seed=0):
    """The weight matrices of :func:`_layer_matrix_1d` side by side; missing
    connections (zeros) are white. Returns ``(fig, matrices)``."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    matrices = {kind: _layer_matrix_1d(kind, n_inputs, kernel_size, rng) for kind in kinds}
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.0 * len(kinds) + 0.8, 3.0), squeeze=False,
                             layout="constrained")
    cmap = colormaps["viridis"].with_extremes(bad="white")
    for ax, kind in zip(axes[0], kinds):
        m = matrices[kind]
        image = ax.imshow(np.ma.masked_equal(m, 0.0), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(np.arange(-0.5, m.shape[1], 1), minor=True)
        ax.set_yticks(np.arange(-0.5, m.shape[0], 1), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks(range(0, m.shape[1], 2))
        ax.set_yticks(range(0, m.shape[0], 2))
        ax.set_xlabel("input unit")
        ax.set_ylabel("output unit")
        distinct = len(np.unique(m[m != 0]))
        ax.set_title(f"{TITLES[kind]}\n{distinct} distinct weights", fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9, label="weight value")
    return fig, matrices

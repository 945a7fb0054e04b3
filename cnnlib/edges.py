"""Edge detection with a two-element kernel: Goodfellow et al., fig. 9.6, redone.

The figure subtracts from every pixel its left neighbour, a convolution
(cross-correlation) with the kernel ``[-1, 1]``, and its caption counts how
much cheaper the convolution is than the same linear map written as a matrix.
This module holds everything chapter 4 needs for that:

* the photograph: :func:`load_photo` (a sample image that scikit-image ships,
  cropped and resized to 280 rows x 320 columns) and :func:`filter2d`;
* the caption's counts as exact integers (:func:`conv_flops`,
  :func:`dense_matrix_entries`, ...), all of them in :func:`caption_counts`
  (the claims audit, :mod:`cnnlib.claims`, judges the caption's claims with them);
* timing (with :mod:`cnnlib.timing`): the measurement loop :func:`time_edge_products`,
  :func:`timings_table`, :func:`loglog_fit` and :func:`plot_timings`;
* learning a kernel back from an image and its filtered version by gradient
  descent in torch: :func:`loss_curvature`, :func:`heavy_ball_parameters`,
  :func:`learn_kernel`;
* figures and a widget: :func:`plot_images`, :func:`plot_matrix_pattern`,
  :func:`plot_losses`, :data:`PRESET_KERNELS`, :func:`parse_kernel`,
  :func:`plot_filter_grid`, :func:`filter_widget` (on :class:`cnnlib.live_figure.LiveFigure`).

Images are 2-D arrays ``(H, W)`` (rows, columns) throughout; kernels are 2-D
``(kh, kw)``. Counts follow the caption's convention: a kernel of ``k``
weights costs ``k`` multiplications and ``k - 1`` additions per output pixel.
"""

from fractions import Fraction

import numpy as np
import torch

from cnnlib.conv import conv2d
from cnnlib.matrix import conv2d_as_matrix
from cnnlib.shapes import check_int, conv_output_size, pair
from cnnlib.timing import single_thread, time_side_by_side

__all__ = [
    "VERTICAL_EDGE",
    "HORIZONTAL_EDGE",
    "PHOTO_SIZE",
    "PRESET_KERNELS",
    "METHODS",
    "load_photo",
    "fit_to_size",
    "filter2d",
    "edge_output_shape",
    "conv_flops",
    "dense_matrix_entries",
    "dense_matrix_bytes",
    "storage_ratio",
    "dense_matmul_flops",
    "compute_ratio",
    "sparse_nonzeros",
    "sparse_matmul_flops",
    "counted_time_ratio",
    "caption_counts",
    "time_edge_products",
    "timings_table",
    "loglog_fit",
    "plot_timings",
    "loss_curvature",
    "heavy_ball_parameters",
    "learn_kernel",
    "plot_images",
    "draw_images",
    "plot_matrix_pattern",
    "plot_losses",
    "parse_kernel",
    "plot_filter_grid",
    "kernel_text",
    "draw_filtered",
    "filter_widget",
]

VERTICAL_EDGE = np.array([[-1.0, 1.0]])  # y[i, j] = x[i, j+1] - x[i, j]: finds vertical edges
HORIZONTAL_EDGE = VERTICAL_EDGE.T.copy()  # y[i, j] = x[i+1, j] - x[i, j]: finds horizontal edges
PHOTO_SIZE = (280, 320)  # (height, width) of the photograph in fig. 9.6

PHOTOS = ("chelsea", "camera", "astronaut", "coffee", "coins", "rocket")  # ship with scikit-image


# --------------------------------------------------------------------------
# The photograph and filtering
# --------------------------------------------------------------------------


def _check_image(name, image):
    image = np.asarray(image)
    if image.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {image.dtype}")
    if image.ndim != 2 or min(image.shape) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (H, W), got shape {image.shape}")
    return image


def fit_to_size(image, size):
    """Crop ``image`` ``(H, W)`` centrally to the aspect ratio of ``size`` and resize it to ``size``.

    ``size`` is ``(height, width)``. Anti-aliased (scikit-image's
    ``transform.resize``); returns float64 ``(height, width)``.
    """
    from skimage.transform import resize

    image = _check_image("image", image).astype(np.float64)
    height, width = pair("size", size)
    h, w = image.shape
    if h * width > w * height:  # too tall: keep the full width
        crop_h, crop_w = max(1, round(w * height / width)), w
    else:  # too wide: keep the full height
        crop_h, crop_w = h, max(1, round(h * width / height))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    cropped = image[top : top + crop_h, left : left + crop_w]
    if cropped.shape == (height, width):
        return cropped.copy()
    return resize(cropped, (height, width), anti_aliasing=crop_h > height, mode="reflect")


def load_photo(name="chelsea", size=PHOTO_SIZE):
    """A grey-scale photograph that scikit-image ships (nothing is downloaded).

    ``name``: one of ``PHOTOS`` (default ``"chelsea"``, a cat, 300x451 in
    colour). Converted to grey levels, cropped centrally to the aspect ratio
    of ``size = (height, width)`` and resized to it. Returns float64
    ``(height, width)`` with values in ``[0, 1]``.
    """
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    if name not in PHOTOS:
        raise ValueError(f"name must be one of {PHOTOS}, got {name!r}")
    image = img_as_float(getattr(skimage.data, name)())
    if image.ndim == 3:
        image = rgb2gray(image[..., :3])
    return np.clip(fit_to_size(image, size), 0.0, 1.0)


def filter2d(image, kernel, padding=0, padding_mode="zeros"):
    """Cross-correlate a 2-D ``image`` ``(H, W)`` with a 2-D ``kernel`` ``(kh, kw)``.

    The same operation as ``torch.nn.functional.conv2d`` on one channel, via
    :func:`cnnlib.conv2d`: ``y[i, j] = sum_uv kernel[u, v] * x[i + u, j + v]``.
    With the default ``padding=0`` the output is ``(H - kh + 1, W - kw + 1)``;
    ``padding="same"`` keeps ``(H, W)`` (``padding_mode="reflect"`` avoids dark
    borders).
    """
    image = _check_image("image", image)
    kernel = _check_image("kernel", kernel)
    return conv2d(image[None, None], kernel[None, None], padding=padding, padding_mode=padding_mode)[0, 0]


# --------------------------------------------------------------------------
# The caption's counts (exact integers; ratios as Fractions)
# --------------------------------------------------------------------------


def _geometry(height, width, kernel_size):
    height = check_int("height", height, 1)
    width = check_int("width", width, 1)
    kh, kw = pair("kernel_size", kernel_size)
    if kh > height or kw > width:
        raise ValueError(f"kernel_size {(kh, kw)} does not fit in a {height}x{width} image")
    ho, wo = conv_output_size((height, width), (kh, kw))
    return height * width, ho * wo, kh * kw


def edge_output_shape(height, width, kernel_size=(1, 2)):
    """``(H_out, W_out)`` of a convolution without padding: ``(280, 319)`` for fig. 9.6."""
    _geometry(height, width, kernel_size)
    return conv_output_size((height, width), pair("kernel_size", kernel_size))


def conv_flops(height, width, kernel_size=(1, 2)):
    """Floating-point operations of the convolution: ``k`` multiplications and
    ``k - 1`` additions for each output pixel, ``k = kh * kw`` weights."""
    _, n_out, k = _geometry(height, width, kernel_size)
    return n_out * (2 * k - 1)


def dense_matrix_entries(height, width, kernel_size=(1, 2)):
    """Entries of the dense matrix that performs the convolution: (output pixels) x (input pixels)."""
    n_in, n_out, _ = _geometry(height, width, kernel_size)
    return n_out * n_in


def dense_matrix_bytes(height, width, kernel_size=(1, 2), dtype=np.float32):
    """Bytes the dense matrix takes with entries of ``dtype``."""
    return dense_matrix_entries(height, width, kernel_size) * np.dtype(dtype).itemsize


def storage_ratio(height, width, kernel_size=(1, 2)):
    """How many times more numbers the dense matrix stores than the kernel (a ``Fraction``)."""
    _, _, k = _geometry(height, width, kernel_size)
    return Fraction(dense_matrix_entries(height, width, kernel_size), k)


def dense_matmul_flops(height, width, kernel_size=(1, 2)):
    """Floating-point operations of the dense matrix-vector product: for each
    output, one multiplication per input pixel and one fewer additions."""
    n_in, n_out, _ = _geometry(height, width, kernel_size)
    return n_out * (2 * n_in - 1)


def compute_ratio(height, width, kernel_size=(1, 2)):
    """Dense matrix product's operations over the convolution's (a ``Fraction``)."""
    return Fraction(dense_matmul_flops(height, width, kernel_size), conv_flops(height, width, kernel_size))


def sparse_nonzeros(height, width, kernel_size=(1, 2)):
    """Non-zeros of the convolution matrix (no padding): ``k`` in each of its rows."""
    _, n_out, k = _geometry(height, width, kernel_size)
    return n_out * k


def sparse_matmul_flops(height, width, kernel_size=(1, 2)):
    """Operations of the sparse product that stores only the non-zeros: one
    multiplication per non-zero, and per row one addition fewer than its non-zeros."""
    _, n_out, _ = _geometry(height, width, kernel_size)
    nnz = sparse_nonzeros(height, width, kernel_size)
    return nnz + (nnz - n_out)


def counted_time_ratio(height, width, kernel_size=(1, 2)):
    """The operation ratio dense / convolution as a float: what the clock would
    show if only operations counted."""
    return float(compute_ratio(height, width, kernel_size))


def caption_counts(height=PHOTO_SIZE[0], width=PHOTO_SIZE[1], kernel_size=(1, 2)):
    """Every number of the caption of fig. 9.6, computed for a ``height`` x ``width`` image.

    Keys: ``output_shape``, ``output_pixels``, ``input_pixels``, ``kernel_weights``,
    ``conv_flops``, ``conv_flops_subtract`` (the kernel ``[-1, 1]`` done as one
    subtraction per output pixel), ``matrix_entries``, ``storage_ratio``,
    ``matmul_flops``, ``matmul_flops_2mn`` (the rounder count 2 x entries),
    ``compute_ratio``, ``sparse_nonzeros``, ``sparse_flops``,
    ``dense_bytes_float32``, ``dense_bytes_float64``.
    """
    n_in, n_out, k = _geometry(height, width, kernel_size)
    entries = dense_matrix_entries(height, width, kernel_size)
    return {
        "output_shape": edge_output_shape(height, width, kernel_size),
        "output_pixels": n_out,
        "input_pixels": n_in,
        "kernel_weights": k,
        "conv_flops": conv_flops(height, width, kernel_size),
        "conv_flops_subtract": n_out,
        "matrix_entries": entries,
        "storage_ratio": storage_ratio(height, width, kernel_size),
        "matmul_flops": dense_matmul_flops(height, width, kernel_size),
        "matmul_flops_2mn": 2 * entries,
        "compute_ratio": compute_ratio(height, width, kernel_size),
        "sparse_nonzeros": sparse_nonzeros(height, width, kernel_size),
        "sparse_flops": sparse_matmul_flops(height, width, kernel_size),
        "dense_bytes_float32": dense_matrix_bytes(height, width, kernel_size, np.float32),
        "dense_bytes_float64": dense_matrix_bytes(height, width, kernel_size, np.float64),
    }


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


METHODS = ("cnnlib conv2d", "torch conv2d", "sparse matrix", "dense matrix")


def time_edge_products(image, sizes, kernel=VERTICAL_EDGE, max_dense_bytes=200 * 10**6, dtype=np.float32,
                       repeat=7, min_time=0.01):
    """Time the four ways of computing the edge map, side by side, at each size.

    ``image``: 2-D ``(H, W)``, resized (:func:`fit_to_size`) to every
    ``(height, width)`` in ``sizes``. At each size the function builds the
    sparse matrix with :func:`cnnlib.conv2d_as_matrix`, and the dense one when
    it takes at most ``max_dense_bytes``; checks that all four results agree;
    and times them with :func:`time_side_by_side` on one thread.

    Returns a list of dicts (one per size) with keys ``height``, ``width``,
    ``pixels``, ``dense_bytes`` and one per method of ``METHODS`` (median
    seconds per call; ``None`` for the dense product when it was too large).
    """
    image = _check_image("image", image)
    kernel = _check_image("kernel", kernel).astype(dtype)
    weight = kernel[None, None]
    weight_t = torch.from_numpy(weight)
    rows = []
    for size in sizes:
        height, width = pair("size", size)
        x = fit_to_size(image, (height, width)).astype(dtype)
        x4, flat = x[None, None], x.ravel()
        x_t = torch.from_numpy(np.ascontiguousarray(x4))
        sparse = conv2d_as_matrix(weight, (1, height, width)).astype(dtype)
        n_bytes = sparse.shape[0] * sparse.shape[1] * np.dtype(dtype).itemsize
        dense = sparse.toarray() if n_bytes <= max_dense_bytes else None

        def torch_conv():
            with torch.no_grad():
                return torch.nn.functional.conv2d(x_t, weight_t)

        functions = {
            "cnnlib conv2d": lambda: conv2d(x4, weight),
            "torch conv2d": torch_conv,
            "sparse matrix": lambda: sparse @ flat,
        }
        if dense is not None:
            functions["dense matrix"] = lambda: dense @ flat
        reference = conv2d(x4, weight).ravel()
        tol = dict(rtol=1e-4, atol=1e-5)
        for name, fn in functions.items():
            out = fn()
            out = out.numpy() if isinstance(out, torch.Tensor) else out
            if not np.allclose(np.ravel(out), reference, **tol):
                raise AssertionError(f"{name} disagrees with conv2d at size {(height, width)}")
        with single_thread():
            times = time_side_by_side(functions, repeat, min_time)
        rows.append(dict(height=height, width=width, pixels=height * width, dense_bytes=n_bytes,
                         **{m: times.get(m) for m in METHODS}))
        del dense, sparse
    return rows


def timings_table(rows, unit=1e-6, unit_name="µs"):
    """The rows of :func:`time_edge_products` as an HTML table (times in ``unit_name``)."""
    head = ["height × width", "pixels", *METHODS]
    cells = "".join(f"<th>{h}</th>" for h in head)
    lines = [f'<table class="table"><thead><tr>{cells}</tr></thead><tbody>']
    for r in rows:
        times = ["–" if r[m] is None else f"{r[m] / unit:,.1f}" for m in METHODS]
        cells = [f"{r['height']} × {r['width']}", f"{r['pixels']:,}", *times]
        lines.append("<tr>" + "".join(f'<td style="text-align:right">{c}</td>' for c in cells) + "</tr>")
    lines.append("</tbody></table>")
    lines.append(f"<p>Median time per call in {unit_name}; – : the dense matrix would exceed "
                 "the memory budget.</p>")
    return "\n".join(lines)


def loglog_fit(x, y):
    """Fit ``y = c * x**slope`` by least squares on logarithms; returns ``(slope, c)``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got {x.shape} and {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive for a log-log fit")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(np.exp(intercept))


def plot_timings(rows, fit=None, full=None, kernel_size=(1, 2)):
    """Two log-log panels from :func:`time_edge_products`' rows.

    Left: median seconds per call against the number of pixels, one line per
    method. With ``full = (height, width)`` the dense product is extended to
    that size in two ways: its fitted power law ``fit = (slope, c)``
    (dashed, if given) and the count, time proportional to the number of
    matrix entries through the largest measured size (dotted, ending in a
    hollow marker). Right: how many times slower the dense product is than
    each convolution, measured, against the count
    :func:`counted_time_ratio` at the same sizes.
    """
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(9.5, 4.2))
    markers = dict(zip(METHODS, "osD^"))
    colours = dict(zip(METHODS, plt.cm.viridis(np.linspace(0, 0.85, len(METHODS)))))
    for method in METHODS:
        pts = [(r["pixels"], r[method]) for r in rows if r[method] is not None]
        if pts:
            n, t = zip(*pts)
            ax_t.loglog(n, t, marker=markers[method], color=colours[method], label=method)
    dense_rows = [r for r in rows if r["dense matrix"] is not None]
    if full is not None and dense_rows:
        full_h, full_w = pair("full", full)
        largest = dense_rows[-1]
        n_line = np.geomspace(largest["pixels"], full_h * full_w, 50)
        if fit is not None:
            slope, c = fit
            ax_t.loglog(n_line, c * n_line**slope, "--", color=colours["dense matrix"],
                        label=f"dense, fitted: time ∝ pixels^{slope:.2f}")
        largest_entries = dense_matrix_entries(largest["height"], largest["width"], kernel_size)
        scale = largest["dense matrix"] / largest_entries
        # entries of an h x w image with the same aspect ratio, as a function of its pixels n
        aspect = full_w / full_h
        entries = [dense_matrix_entries(max(1, round(np.sqrt(n / aspect))),
                                        max(2, round(np.sqrt(n * aspect))), kernel_size) for n in n_line]
        ax_t.loglog(n_line, scale * np.array(entries), ":", color="k",
                    label="dense, counted: time ∝ matrix entries")
        ax_t.loglog([full_h * full_w], [scale * dense_matrix_entries(full_h, full_w, kernel_size)], "o",
                    mfc="none", color="k")
        ax_t.axvline(full_h * full_w, color="0.5", linewidth=0.8)
        ax_t.text(full_h * full_w, ax_t.get_ylim()[0], f" {full_w}×{full_h}", rotation=90, va="bottom",
                  ha="right", fontsize=8, color="0.3")
    ax_t.set_xlabel("image size (pixels)")
    ax_t.set_ylabel("median time per call (s)")
    ax_t.set_title("time against image size")
    ax_t.legend(fontsize=8)

    n = np.array([r["pixels"] for r in dense_rows])
    for method in METHODS[:2]:
        ax_r.loglog(n, [r["dense matrix"] / r[method] for r in dense_rows], marker=markers[method],
                    color=colours[method], label=f"measured: dense / {method}")
    counted = [counted_time_ratio(r["height"], r["width"], kernel_size) for r in dense_rows]
    ax_r.loglog(n, counted, "k:", marker="x", label="counted: dense flops / conv flops")
    from matplotlib.ticker import NullFormatter

    ax_r.xaxis.set_minor_formatter(NullFormatter())
    ax_r.set_xlabel("image size (pixels)")
    ax_r.set_ylabel("times slower than the convolution")
    ax_r.set_title("dense matrix product vs convolution")
    ax_r.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Learning a kernel back (torch)
# --------------------------------------------------------------------------


def _as_tensor(name, array):
    array = _check_image(name, array)
    return torch.as_tensor(np.asarray(array, dtype=np.float64))[None, None]


def loss_curvature(image, kernel_size):
    """Eigenvalues (ascending) and eigenvectors of the Hessian of the mean squared error.

    The loss ``mean((conv(image, w) - target)**2)`` is quadratic in ``w``
    with Hessian ``2/L * P @ P.T``, where the columns of ``P``
    (``kh*kw x L``) are the ``L`` image patches. Its condition number
    (largest / smallest eigenvalue) says how slowly plain gradient descent
    converges. Returns ``(eigenvalues, eigenvectors)``: shapes ``(kh*kw,)``
    and ``(kh*kw, kh*kw)``, column ``i`` (a flattened kernel) belonging to
    eigenvalue ``i``.
    """
    x = _as_tensor("image", image)
    kh, kw = pair("kernel_size", kernel_size)
    if kh > x.shape[2] or kw > x.shape[3]:
        raise ValueError(f"kernel_size {(kh, kw)} does not fit in the image {tuple(x.shape[2:])}")
    patches = torch.nn.functional.unfold(x, (kh, kw))[0]  # (kh*kw, L)
    hessian = 2 * patches @ patches.T / patches.shape[1]
    eigenvalues, eigenvectors = torch.linalg.eigh(hessian)
    return eigenvalues.numpy(), eigenvectors.numpy()


def heavy_ball_parameters(eigenvalues):
    """Step size and momentum of Polyak's heavy ball, optimal for a quadratic
    whose Hessian has these eigenvalues: ``lr = 4 / (sqrt(L) + sqrt(m))**2``,
    ``momentum = ((sqrt(L) - sqrt(m)) / (sqrt(L) + sqrt(m)))**2``."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    if eigenvalues.size == 0 or eigenvalues.min() <= 0:
        raise ValueError("eigenvalues must be positive (a strictly convex quadratic)")
    big, small = np.sqrt(eigenvalues.max()), np.sqrt(eigenvalues.min())
    return float(4 / (big + small) ** 2), float(((big - small) / (big + small)) ** 2)


def learn_kernel(image, target, kernel_size, steps=300, method="gd", lr=None, momentum=0.0, seed=0):
    """Recover a kernel from an image and its filtered version by minimising the mean squared error.

    The loss is ``mean((filter2d(image, kernel) - target)**2)``, computed as
    one matrix product of the kernel with the image's unfolded windows (the
    same numbers as ``torch.nn.functional.conv2d``). ``image``: ``(H, W)``;
    ``target``: ``(H - kh + 1, W - kw + 1)``, the image
    filtered with an unknown ``kernel_size`` kernel (no padding). The kernel
    starts from standard normal numbers (``torch.manual_seed``-style
    generator seeded with ``seed``). ``method``: ``"gd"`` (gradient descent,
    with ``momentum`` if non-zero, the update of ``torch.optim.SGD``; ``lr``
    required) or ``"cg"`` (at most ``steps`` iterations of conjugate
    gradients, :func:`_conjugate_gradient`; ``lr`` and ``momentum`` ignored).

    Returns ``(kernel, losses)``: the learned ``(kh, kw)`` float64 array and
    the loss before every step and after the last one (``steps + 1`` values
    for ``"gd"``; for ``"cg"`` one per iteration done, plus the first).
    Runs on one thread (:func:`single_thread`).
    """
    x, y = _as_tensor("image", image), _as_tensor("target", target)
    kh, kw = pair("kernel_size", kernel_size)
    steps = check_int("steps", steps, 0)
    expected = conv_output_size(tuple(x.shape[2:]), (kh, kw))
    if tuple(y.shape[2:]) != expected:
        raise ValueError(
            f"target must have shape {expected} (image {tuple(x.shape[2:])} filtered by a {kh}x{kw} kernel), "
            f"got {tuple(y.shape[2:])}"
        )
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn((1, kh * kw), generator=generator, dtype=torch.float64, requires_grad=True)
    # conv2d(x, w) == w @ patches: every column of `patches` is one kh x kw window of the image.
    # Unfolding once makes each step one small matrix product.
    patches = torch.nn.functional.unfold(x, (kh, kw))[0]  # (kh*kw, L)
    y = y.reshape(1, -1)

    def loss_fn(w):
        return torch.nn.functional.mse_loss(w @ patches, y)

    if method not in ("gd", "cg"):
        raise ValueError(f"method must be 'gd' or 'cg', got {method!r}")
    if method == "gd" and (lr is None or not lr > 0):
        raise ValueError(f"method='gd' needs a positive lr, got {lr!r}")

    def loss_and_grad(w):
        loss = loss_fn(w)
        (grad,) = torch.autograd.grad(loss, w)
        return loss.item(), grad

    losses = []
    with single_thread():  # a small problem: more threads only contend on a shared machine
        if method == "gd":
            # w <- w - lr * v,  v <- momentum * v + grad  (torch.optim.SGD's update, written out)
            velocity = torch.zeros_like(w)
            for _ in range(steps):
                loss, grad = loss_and_grad(w)
                losses.append(loss)
                with torch.no_grad():
                    velocity = momentum * velocity + grad
                    w -= lr * velocity
            losses.append(loss_and_grad(w)[0])
        else:
            w = _conjugate_gradient(loss_and_grad, w, steps, losses)
    return w.detach().reshape(kh, kw).numpy().copy(), np.array(losses)


def _conjugate_gradient(loss_and_grad, w, steps, losses):
    """``steps`` iterations of conjugate gradients on a quadratic loss; appends the loss after each.

    Each step moves along ``d`` by the exact minimiser ``-g.d / d.Hd``; the
    curvature ``Hd`` is ``grad(w + d) - grad(w)``, exact because the loss is
    quadratic. The next direction is the new negative gradient plus
    ``beta`` times the old direction (Polak-Ribiere), which keeps the
    directions conjugate: on a quadratic in ``n`` weights the minimum is
    reached in at most ``n`` steps, up to rounding.
    """
    loss, g = loss_and_grad(w)
    losses.append(loss)
    d = -g
    for _ in range(steps):
        _, g_ahead = loss_and_grad((w + d).detach().requires_grad_())
        curvature = float((d * (g_ahead - g)).sum())
        if not curvature > 0:  # converged: no curvature left to measure
            break
        step = -float((g * d).sum()) / curvature
        w = (w + step * d).detach().requires_grad_()
        loss, g_new = loss_and_grad(w)
        losses.append(loss)
        beta = max(0.0, float((g_new * (g_new - g)).sum()) / float((g * g).sum()))
        d, g = -g_new + beta * d, g_new
    return w


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _show(ax, image, title, colorbar=True):
    """One image panel: grey levels; images with negative values get a range symmetric about 0."""
    image = np.asarray(image)
    if image.min() < 0:
        m = float(np.percentile(np.abs(image), 99.5)) or 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = np.percentile(image, [0.5, 99.5])
        vmin, vmax = float(vmin), float(max(vmax, vmin + 1e-12))
    im = ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("column (pixel)")
    ax.set_ylabel("row (pixel)")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    return im


def plot_images(images, ncols=None, panel_size=3.6, colorbar=True):
    """A row (or grid) of grey-scale images; ``images`` is a dict title -> 2-D array.

    Signed images (edge maps) are shown on a range symmetric about zero, so
    mid-grey is 0, dark is negative and light is positive.
    """
    import matplotlib.pyplot as plt

    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict title -> 2-D array")
    ncols = len(images) if ncols is None else ncols
    nrows = -(-len(images) // ncols)
    fig = plt.figure(figsize=(panel_size * ncols * 1.15, panel_size * nrows))
    draw_images(fig, images, ncols, colorbar)
    return fig


def draw_images(fig, images, ncols=None, colorbar=True):
    """Draw :func:`plot_images`' panels on an empty figure ``fig`` (pyplot or not)."""
    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict title -> 2-D array")
    n = len(images)
    ncols = n if ncols is None else ncols
    nrows = -(-n // ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (title, image) in zip(axes.flat, images.items()):
        _show(ax, _check_image(title, image), title, colorbar)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()


def plot_matrix_pattern(matrix, image_shape):
    """The convolution matrix of a small image: every stored entry coloured by its value.

    ``matrix``: a (sparse or dense) ``(H_out*W_out, H*W)`` matrix;
    ``image_shape``: ``(H, W)``. Zeros that are not stored stay white; thin
    lines separate the blocks of one image row.
    """
    import matplotlib.pyplot as plt
    import scipy.sparse

    h, w = pair("image_shape", image_shape)
    dense = matrix.toarray() if scipy.sparse.issparse(matrix) else np.asarray(matrix)
    if dense.ndim != 2 or dense.shape[1] != h * w:
        raise ValueError(f"matrix must have {h * w} columns for an image {(h, w)}, got shape {dense.shape}")
    stored = (scipy.sparse.csr_matrix(matrix) != 0).toarray() if scipy.sparse.issparse(matrix) else dense != 0
    shown = np.ma.masked_where(~stored, dense)
    fig, ax = plt.subplots(figsize=(6, 6 * dense.shape[0] / dense.shape[1] + 0.8))
    im = ax.imshow(shown, cmap="cividis", interpolation="nearest", aspect="equal")
    ax.set_facecolor("white")
    rows_per_block = dense.shape[0] // h if dense.shape[0] % h == 0 else None
    for c in range(w, h * w, w):
        ax.axvline(c - 0.5, color="0.75", linewidth=0.6)
    if rows_per_block:
        for r in range(rows_per_block, dense.shape[0], rows_per_block):
            ax.axhline(r - 0.5, color="0.75", linewidth=0.6)
    ax.set_xticks(range(0, h * w, w))
    if rows_per_block:
        ax.set_yticks(range(0, dense.shape[0], rows_per_block))
    ax.set_xlabel(f"input pixel (row-major index into the {h}×{w} image)")
    ax.set_ylabel("output pixel (row-major index)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="matrix entry")
    fig.tight_layout()
    return fig


def plot_losses(curves, ylabel="mean squared error"):
    """Loss curves on a log scale; ``curves`` is a dict label -> 1-D array of losses."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    colours = plt.cm.viridis(np.linspace(0, 0.8, max(len(curves), 1)))
    styles = ["-", "--", ":", "-."]
    for (label, losses), colour, style in zip(curves.items(), colours, styles * 4):
        losses = np.asarray(losses, dtype=float)
        ax.semilogy(np.arange(len(losses)), np.maximum(losses, 1e-300), style, color=colour, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel + " (log scale)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Kernels to play with: presets, a grid figure and a widget
# --------------------------------------------------------------------------


def _embed3(kernel):
    k = np.zeros((3, 3))
    kernel = np.asarray(kernel, dtype=float)
    k[1 : 1 + kernel.shape[0], 1 : 1 + kernel.shape[1]] = kernel
    return k


PRESET_KERNELS = {
    "identity": _embed3([[1.0]]),
    "vertical edge [-1, 1]": _embed3(VERTICAL_EDGE),
    "horizontal edge [-1, 1]ᵀ": _embed3(HORIZONTAL_EDGE),
    "Sobel (vertical edges)": np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "Laplacian (all edges)": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "box blur": np.full((3, 3), 1 / 9),
    "Gaussian blur": np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}


def parse_kernel(text):
    """A kernel from text: rows separated by ``;`` or new lines, numbers by spaces or commas.

    ``"0 -1 0; -1 5 -1; 0 -1 0"`` -> a 3x3 array. Fractions like ``1/9`` are
    allowed. Raises ``ValueError`` on ragged rows or anything that is not a number.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    if not rows:
        raise ValueError("text holds no kernel: write rows like '0 -1 0; -1 5 -1; 0 -1 0'")
    values = []
    for row in rows:
        entries = row.replace(",", " ").split()
        try:
            values.append([float(Fraction(e)) for e in entries])
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"not a number in kernel row {row.strip()!r}") from None
    if len({len(r) for r in values}) != 1:
        raise ValueError(f"kernel rows have different lengths: {[len(r) for r in values]}")
    return np.array(values)


def plot_filter_grid(image, kernels=None, region=None, ncols=4, panel_size=2.6):
    """The image filtered by each kernel of ``kernels`` (a dict name -> 2-D kernel; default the presets).

    Filtering keeps the size (``padding="same"``, mirrored borders). With
    ``region = (rows, cols)`` (two slices) only that part of each filtered
    image is shown, so that the detail is visible.
    """
    kernels = PRESET_KERNELS if kernels is None else kernels
    region = (slice(None), slice(None)) if region is None else region
    filtered = {name: filter2d(image, k, padding="same", padding_mode="reflect")[region]
                for name, k in kernels.items()}
    return plot_images(filtered, ncols=ncols, panel_size=panel_size, colorbar=False)


def kernel_text(kernel):
    """A kernel as the widget's text box shows it: ``"0 -1 0; -1 5 -1; 0 -1 0"`` (read by :func:`parse_kernel`)."""
    return "; ".join(" ".join(f"{v:.4g}" for v in row) for row in np.asarray(kernel, dtype=float))


def draw_filtered(fig, image, kernel):
    """The widget's picture on an empty figure: ``image`` and ``image`` filtered by ``kernel`` (text).

    Filtering keeps the size (mirrored borders). A kernel that
    :func:`parse_kernel` refuses is reported in the figure, not raised.
    """
    try:
        k = parse_kernel(kernel)
        out = filter2d(image, k, padding="same", padding_mode="reflect")
    except ValueError as error:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"cannot use this kernel:\n{error}", ha="center", va="center", fontsize=11,
                transform=ax.transAxes, wrap=True)
        return
    draw_images(fig, {"photograph": image, f"filtered by {kernel_text(k)}": out})


def filter_widget(image, kernels=None, start=None, panel_size=3.2):
    """A :class:`cnnlib.live_figure.LiveFigure`: pick a preset kernel or type your own, see the filtered image.

    The text box holds the kernel (rows separated by ``;``); choosing a preset
    writes it there, and editing it (then Enter) filters with your kernel.
    Each change redraws the picture (:func:`draw_filtered`) once. Display it
    in a notebook; the book shows :func:`plot_filter_grid` beside it.
    ``start`` names the preset shown first (default: the vertical edge of
    fig. 9.6 if it is among ``kernels``, else the first one).
    """
    import ipywidgets as widgets

    from cnnlib.live_figure import LiveFigure

    image = _check_image("image", image)
    kernels = PRESET_KERNELS if kernels is None else kernels
    if start is None:
        start = "vertical edge [-1, 1]" if "vertical edge [-1, 1]" in kernels else next(iter(kernels))
    if start not in kernels:
        raise ValueError(f"start must be one of the kernels {list(kernels)}, got {start!r}")
    preset = widgets.Dropdown(options=list(kernels), value=start, description="preset")
    text = widgets.Text(value=kernel_text(kernels[start]), description="kernel", continuous_update=False,
                        layout=widgets.Layout(width="32em"))
    shown = {"preset": start}  # the preset whose kernel the text box was last given

    def constrain(controls):
        """A newly chosen preset writes its kernel into the text box; an edited text box is left alone."""
        if controls["preset"].value != shown["preset"]:
            shown["preset"] = controls["preset"].value
            controls["kernel"].value = kernel_text(kernels[shown["preset"]])

    def draw(fig, preset, kernel):
        draw_filtered(fig, image, kernel)

    return LiveFigure(draw, {"preset": preset, "kernel": text}, constrain=constrain,
                      figsize=(panel_size * 2 * 1.15, panel_size))

"""Edge detection with a two-element kernel: Goodfellow et al., fig. 9.6, redone.

The figure subtracts from every pixel its left neighbour, a convolution
(cross-correlation) with the kernel ``[-1, 1]``, and its caption counts how
much cheaper the convolution is than the same linear map written as a matrix.
This module holds the computations of chapter 4 (its figures and its widget
are in :mod:`cnnlib.figures.edges`):

* filtering: :func:`filter2d` (the photograph is
  :func:`cnnlib.data.load_photo`, resized to :data:`PHOTO_SIZE`);
* the caption's counts as exact integers, all of them in :func:`caption_counts`
  (the claims audit, :mod:`cnnlib.claims`, judges the caption's claims with
  them), and :func:`dense_matrix_entries`, :func:`counted_time_ratio` for the timings;
* timing (with :mod:`cnnlib.timing`): the measurement loop :func:`time_edge_products`
  and :func:`loglog_fit`;
* learning a kernel back from an image and its filtered version by gradient
  descent in torch: :func:`loss_curvature`, :func:`heavy_ball_parameters`,
  :func:`learn_kernel`.

Images are 2-D arrays ``(H, W)`` (rows, columns) throughout; kernels are 2-D
``(kh, kw)``. Counts follow the caption's convention: a kernel of ``k``
weights costs ``k`` multiplications and ``k - 1`` additions per output pixel.
"""

from fractions import Fraction

import numpy as np
import torch

from cnnlib.conv import conv2d
from cnnlib.data import fit_to_size
from cnnlib.matrix import conv2d_as_matrix
from cnnlib.shapes import check_int, conv_output_size, pair
from cnnlib.timing import single_thread, time_side_by_side
from cnnlib.validate import as_image

__all__ = [
    "VERTICAL_EDGE",
    "HORIZONTAL_EDGE",
    "PHOTO_SIZE",
    "METHODS",
    "filter2d",
    "dense_matrix_entries",
    "counted_time_ratio",
    "caption_counts",
    "time_edge_products",
    "loglog_fit",
    "loss_curvature",
    "heavy_ball_parameters",
    "learn_kernel",
]

VERTICAL_EDGE = np.array([[-1.0, 1.0]])  # y[i, j] = x[i, j+1] - x[i, j]: finds vertical edges
HORIZONTAL_EDGE = VERTICAL_EDGE.T.copy()  # y[i, j] = x[i+1, j] - x[i, j]: finds horizontal edges
PHOTO_SIZE = (280, 320)  # (height, width) of the photograph in fig. 9.6



# --------------------------------------------------------------------------
# The photograph and filtering
# --------------------------------------------------------------------------


def filter2d(image, kernel, padding=0, padding_mode="zeros"):
    """Cross-correlate a 2-D ``image`` ``(H, W)`` with a 2-D ``kernel`` ``(kh, kw)``.

    The same operation as ``torch.nn.functional.conv2d`` on one channel, via
    :func:`cnnlib.conv2d`: ``y[i, j] = sum_uv kernel[u, v] * x[i + u, j + v]``.
    With the default ``padding=0`` the output is ``(H - kh + 1, W - kw + 1)``;
    ``padding="same"`` keeps ``(H, W)`` (``padding_mode="reflect"`` avoids dark
    borders).
    """
    image = as_image("image", image)
    kernel = as_image("kernel", kernel)
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


def _edge_output_shape(height, width, kernel_size=(1, 2)):
    """``(H_out, W_out)`` of a convolution without padding: ``(280, 319)`` for fig. 9.6."""
    _geometry(height, width, kernel_size)
    return conv_output_size((height, width), pair("kernel_size", kernel_size))


def _conv_flops(height, width, kernel_size=(1, 2)):
    """Floating-point operations of the convolution: ``k`` multiplications and
    ``k - 1`` additions for each output pixel, ``k = kh * kw`` weights."""
    _, n_out, k = _geometry(height, width, kernel_size)
    return n_out * (2 * k - 1)


def dense_matrix_entries(height, width, kernel_size=(1, 2)):
    """Entries of the dense matrix that performs the convolution: (output pixels) x (input pixels)."""
    n_in, n_out, _ = _geometry(height, width, kernel_size)
    return n_out * n_in


def _dense_matrix_bytes(height, width, kernel_size=(1, 2), dtype=np.float32):
    """Bytes the dense matrix takes with entries of ``dtype``."""
    return dense_matrix_entries(height, width, kernel_size) * np.dtype(dtype).itemsize


def _storage_ratio(height, width, kernel_size=(1, 2)):
    """How many times more numbers the dense matrix stores than the kernel (a ``Fraction``)."""
    _, _, k = _geometry(height, width, kernel_size)
    return Fraction(dense_matrix_entries(height, width, kernel_size), k)


def _dense_matmul_flops(height, width, kernel_size=(1, 2)):
    """Floating-point operations of the dense matrix-vector product: for each
    output, one multiplication per input pixel and one fewer additions."""
    n_in, n_out, _ = _geometry(height, width, kernel_size)
    return n_out * (2 * n_in - 1)


def _compute_ratio(height, width, kernel_size=(1, 2)):
    """Dense matrix product's operations over the convolution's (a ``Fraction``)."""
    return Fraction(_dense_matmul_flops(height, width, kernel_size), _conv_flops(height, width, kernel_size))


def _sparse_nonzeros(height, width, kernel_size=(1, 2)):
    """Non-zeros of the convolution matrix (no padding): ``k`` in each of its rows."""
    _, n_out, k = _geometry(height, width, kernel_size)
    return n_out * k


def _sparse_matmul_flops(height, width, kernel_size=(1, 2)):
    """Operations of the sparse product that stores only the non-zeros: one
    multiplication per non-zero, and per row one addition fewer than its non-zeros."""
    _, n_out, _ = _geometry(height, width, kernel_size)
    nnz = _sparse_nonzeros(height, width, kernel_size)
    return nnz + (nnz - n_out)


def counted_time_ratio(height, width, kernel_size=(1, 2)):
    """The operation ratio dense / convolution as a float: what the clock would
    show if only operations counted."""
    return float(_compute_ratio(height, width, kernel_size))


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
        "output_shape": _edge_output_shape(height, width, kernel_size),
        "output_pixels": n_out,
        "input_pixels": n_in,
        "kernel_weights": k,
        "conv_flops": _conv_flops(height, width, kernel_size),
        "conv_flops_subtract": n_out,
        "matrix_entries": entries,
        "storage_ratio": _storage_ratio(height, width, kernel_size),
        "matmul_flops": _dense_matmul_flops(height, width, kernel_size),
        "matmul_flops_2mn": 2 * entries,
        "compute_ratio": _compute_ratio(height, width, kernel_size),
        "sparse_nonzeros": _sparse_nonzeros(height, width, kernel_size),
        "sparse_flops": _sparse_matmul_flops(height, width, kernel_size),
        "dense_bytes_float32": _dense_matrix_bytes(height, width, kernel_size, np.float32),
        "dense_bytes_float64": _dense_matrix_bytes(height, width, kernel_size, np.float64),
    }


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


METHODS = ("cnnlib conv2d", "torch conv2d", "sparse matrix", "dense matrix")


def time_edge_products(image, sizes, kernel=VERTICAL_EDGE, max_dense_bytes=200 * 10**6, dtype=np.float32,
                       repeat=7, min_time=0.01):
    """Time the four ways of computing the edge map, side by side, at each size.

    ``image``: 2-D ``(H, W)``, resized (:func:`cnnlib.data.fit_to_size`) to every
    ``(height, width)`` in ``sizes``. At each size the function builds the
    sparse matrix with :func:`cnnlib.conv2d_as_matrix`, and the dense one when
    it takes at most ``max_dense_bytes``; checks that all four results agree;
    and times them with :func:`time_side_by_side` on one thread.

    Returns a list of dicts (one per size) with keys ``height``, ``width``,
    ``pixels``, ``dense_bytes`` and one per method of ``METHODS`` (median
    seconds per call; ``None`` for the dense product when it was too large).
    """
    image = as_image("image", image)
    kernel = as_image("kernel", kernel).astype(dtype)
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


def loglog_fit(x, y):
    """Fit ``y = c * x**slope`` by least squares on logarithms; returns ``(slope, c)``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got {x.shape} and {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive for a log-log fit")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(np.exp(intercept))


# --------------------------------------------------------------------------
# Learning a kernel back (torch)
# --------------------------------------------------------------------------


def _as_tensor(name, array):
    array = as_image(name, array)
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

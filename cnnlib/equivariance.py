"""Translation equivariance and invariance: measured, not assumed.

A layer ``f`` is *equivariant* to a shift ``S`` when shifting the input
shifts the output, ``f(S x) == S' f(x)`` (``S'`` is the same shift, or the
shift divided by the stride); it is *invariant* when the output does not move
at all, ``f(S x) == f(x)``. This module measures how far a layer is from
either, for the shifts of :func:`cnnlib.shift`:

    shift(x, dy, dx)[..., i, j] == x[..., i - dy, j - dx]

* :func:`equivariance_error`, :func:`equivariance_error_map`,
  :func:`invariance_error`: one layer, one image,
  one shift. A shift is a pair ``(dy, dx)`` or an int ``l``, which means
  ``(0, l)``: ``l`` pixels to the right, ``I'(x, y) = I(x - l, y)``.
* :func:`border_band`: where a zero-padded convolution can fail to commute
  with a shift (predicted from the kernel size and the shift alone).
* :func:`strided_equivariance_error`: the best any integer shift of the
  output can do after a strided layer. What pooling keeps of a shifted
  feature map, in place or moved whole, is :mod:`cnnlib.invariance`.
* :func:`padding_errors`, :func:`stride_errors`,
  :func:`unshared_errors`: the measurements of the equivariance chapter, as
  functions the claims audit calls again (on :func:`chapter_image`, the
  camera man averaged down to 64×64). The chapter's trained networks are
  measured by :func:`cnnlib.experiments.translation`.
* :func:`impulse_response`, :func:`circular_convolve`: a linear map that
  commutes with every cyclic shift is the circular convolution with its
  response to a single lit pixel.

Arrays are NumPy ``(..., H, W)`` unless a function says torch.
"""

from numbers import Integral

import numpy as np
import torch
from torch import nn

from cnnlib.conv import conv2d
from cnnlib.shapes import check_int, pair
from cnnlib.shift import shift as _shift
from cnnlib.validate import as_real_array

__all__ = [
    "equivariance_error",
    "equivariance_error_map",
    "invariance_error",
    "border_band",
    "strided_equivariance_error",
    "chapter_image",
    "chapter_kernel",
    "padding_errors",
    "stride_errors",
    "unshared_errors",
    "impulse_response",
    "circular_convolve",
]


# --------------------------------------------------------------------------
# One layer, one image, one shift
# --------------------------------------------------------------------------


def _as_shift(shift):
    """``l -> (0, l)`` (``l`` pixels to the right); ``(dy, dx) -> (dy, dx)``; checked integers."""
    if isinstance(shift, Integral) and not isinstance(shift, bool):
        return 0, int(shift)
    if isinstance(shift, (tuple, list)) and len(shift) == 2:
        dy, dx = shift
        for name, d in (("shift[0]", dy), ("shift[1]", dx)):
            if isinstance(d, bool) or not isinstance(d, Integral):
                raise TypeError(f"{name} must be an integer, got {d!r} ({type(d).__name__})")
        return int(dy), int(dx)
    raise TypeError(f"shift must be an int or a pair (dy, dx) of ints, got {shift!r}")


def _numpy(y):
    """A layer's output as a float64 NumPy array (torch tensors detached)."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    return np.asarray(as_real_array("layer output", y), dtype=np.float64)


def _apply(layer_fn, x):
    with torch.no_grad():
        return layer_fn(x)


def _both_sides(layer_fn, x, shift, out_shift, mode):
    """``(f(S x), S' f(x), f(x))`` as NumPy arrays of the same shape."""
    dy, dx = _as_shift(shift)
    ody, odx = (dy, dx) if out_shift is None else _as_shift(out_shift)
    fx = _apply(layer_fn, x)
    shifted_first = _numpy(_apply(layer_fn, _shift(x, dy, dx, mode)))
    # an invariance check compares with f(x) itself, which may have no image axes left (pooled to a vector)
    shifted_after = _numpy(fx if (ody, odx) == (0, 0) else _shift(fx, ody, odx, mode))
    if shifted_first.shape != shifted_after.shape:
        raise ValueError(
            f"layer_fn gave outputs of different shapes for x and its shift: "
            f"{shifted_first.shape} and {shifted_after.shape}"
        )
    return shifted_first, shifted_after, _numpy(fx)


def equivariance_error_map(layer_fn, x, shift, out_shift=None, mode="circular"):
    """``|f(S x) - S' f(x)|`` elementwise: where the layer fails to commute with the shift.

    ``layer_fn`` maps ``x`` (NumPy or torch, any shape ``(..., H, W)`` it
    accepts) to an array or tensor ``(..., H_out, W_out)``. ``shift`` moves
    the input, ``out_shift`` (default: the same shift) moves the output;
    ``mode`` is :func:`cnnlib.shift`'s ``"circular"`` or ``"zeros"``.
    Returns a float64 NumPy array shaped like the output.
    """
    first, after, _ = _both_sides(layer_fn, x, shift, out_shift, mode)
    return np.abs(first - after)


NORMS = ("max", "l2")


def _norm(values, norm):
    if norm == "max":
        return float(np.max(np.abs(values), initial=0.0))
    return float(np.sqrt(np.sum(np.square(values))))


def _relative(diff, reference, relative, norm):
    """``norm(diff)``, divided by ``norm(reference)`` when ``relative``."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    error = _norm(diff, norm)
    if not relative:
        return error
    scale = _norm(reference, norm)
    if scale == 0.0:
        raise ValueError("the layer's output is zero everywhere: a relative error is undefined (use relative=False)")
    return error / scale


def equivariance_error(layer_fn, x, shift, out_shift=None, mode="circular", mask=None, relative=True, norm="max"):
    """``max |f(S x) - S' f(x)|``, divided by ``max |f(x)|`` when ``relative`` (the default).

    Arguments as :func:`equivariance_error_map`; ``mask`` (boolean, broadcast
    to the output's shape) restricts the error to the positions where it is
    True, for example the complement of :func:`border_band`. ``norm="l2"``
    uses the Euclidean norm instead of the largest absolute value (an average
    rather than a worst case). Returns a float; 0.0 means the layer commutes
    exactly with the shift (on ``mask``).
    """
    first, after, fx = _both_sides(layer_fn, x, shift, out_shift, mode)
    diff = first - after
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), diff.shape)
        diff = diff[mask]
    return _relative(diff, fx, relative, norm)


def invariance_error(layer_fn, x, shift, mode="circular", relative=True, norm="max"):
    """``|f(S x) - f(x)|`` in ``norm`` (relative to ``|f(x)|``): how much the output moves at all."""
    return equivariance_error(layer_fn, x, shift, out_shift=(0, 0), mode=mode, relative=relative, norm=norm)


# --------------------------------------------------------------------------
# Zero padding: the border band
# --------------------------------------------------------------------------


def _dilate(region, kh, kw):
    """Positions whose ``kh × kw`` window (centred) meets ``region``: a max over shifted copies."""
    ry, rx = kh // 2, kw // 2
    padded = np.pad(region, ((ry, ry), (rx, rx)))
    h, w = region.shape
    out = np.zeros_like(region)
    for u in range(kh):
        for v in range(kw):
            out |= padded[u : u + h, v : v + w]
    return out


def border_band(shape, kernel_size, shift):
    """Boolean ``(H, W)`` mask of the output positions where equivariance can fail.

    The layer is a stride-1 convolution without bias, odd ``kernel_size``
    ``(kh, kw)`` (int or pair) and zero padding ``kernel_size // 2`` ("same");
    the shift is :func:`cnnlib.shift` with ``mode="zeros"`` (what leaves the
    image is lost, zeros enter). Let ``D`` be the image's pixels and ``D + s``
    where the shift moves them. A position ``p`` of ``D`` can be wrong when

    * ``p`` is in ``D + s`` and its window reaches ``(D + s) - D``: content
      pushed out of the image, which the shifted output still accounts for;
    * ``p`` is not in ``D + s`` (a zero-filled pixel) and its window reaches
      ``(D + s) ∩ D``: the shifted image's content leaks into a pixel that the
      shifted output filled with zero.

    Everywhere else the two sides are equal. For a horizontal shift
    ``d > 0`` and ``r = kw // 2`` these are the columns ``[W - r, W)`` and
    ``[max(0, d - r), d)``: a band ``r + min(d, r)`` columns wide, in every row.
    """
    h, w = pair("shape", tuple(shape))
    kh, kw = pair("kernel_size", kernel_size)
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel_size must be odd for 'same' padding k // 2, got {(kh, kw)}")
    dy, dx = _as_shift(shift)
    ry, rx = kh // 2, kw // 2
    # a frame around the image as wide as the kernel's reach: all a window can touch
    inside = np.zeros((h + 2 * ry, w + 2 * rx), dtype=bool)
    inside[ry : ry + h, rx : rx + w] = True
    moved = np.zeros_like(inside)  # D + s, clipped to the frame
    rows = np.arange(h) + dy + ry
    cols = np.arange(w) + dx + rx
    rows = rows[(rows >= 0) & (rows < inside.shape[0])]
    cols = cols[(cols >= 0) & (cols < inside.shape[1])]
    moved[np.ix_(rows, cols)] = True
    lost = moved & ~inside
    kept = moved & inside
    band = (moved & _dilate(lost, kh, kw)) | (~moved & _dilate(kept, kh, kw))
    return band[ry : ry + h, rx : rx + w]


# --------------------------------------------------------------------------
# Stride
# --------------------------------------------------------------------------


def strided_equivariance_error(layer_fn, x, shift, stride, mode="circular", relative=True):
    """The smallest :func:`equivariance_error` over every integer shift of the output.

    A layer with stride ``s`` can at best move its output by ``d / s`` when
    the input moves by ``d``. Along an axis where ``s`` divides ``d`` the
    output shift is ``d // s``; along the others every output shift is tried
    (cyclically: ``mode="circular"`` only) and the best one kept. Returns
    ``(error, (ody, odx))``: 0.0 means some shift of the output is exact.
    """
    if mode != "circular":
        raise ValueError(f"strided_equivariance_error tries every cyclic output shift: mode must be 'circular', got {mode!r}")
    dy, dx = _as_shift(shift)
    sy, sx = pair("stride", stride)
    fx = _numpy(_apply(layer_fn, x))
    first = _numpy(_apply(layer_fn, _shift(x, dy, dx, mode)))
    if first.shape != fx.shape:
        raise ValueError(f"layer_fn gave outputs of different shapes for x and its shift: {first.shape} and {fx.shape}")
    h_out, w_out = fx.shape[-2:]
    rows = [dy // sy] if dy % sy == 0 else range(h_out)
    cols = [dx // sx] if dx % sx == 0 else range(w_out)
    best = None
    for ody in rows:
        for odx in cols:
            err = _relative(first - _shift(fx, ody, odx, mode), fx, relative, "max")
            if best is None or err < best[0]:
                best = (err, (ody, odx))
    return best


# --------------------------------------------------------------------------
# The chapter's measurements, reusable by the claims audit
# --------------------------------------------------------------------------


def chapter_image(side=64):
    """scikit-image's ``camera`` (512×512), averaged down to ``side``×``side``, float64 in [0, 1], ``(1, side, side)``."""
    from skimage.data import camera
    from skimage.transform import downscale_local_mean

    side = check_int("side", side, 1)
    if 512 % side:
        raise ValueError(f"side must divide 512, got {side}")
    image = downscale_local_mean(camera().astype(np.float64) / 255.0, (512 // side, 512 // side))
    return image[None]


def chapter_kernel(kernel_size=5, seed=0):
    """A generic kernel ``(1, 1, k, k)``: standard normal entries from ``default_rng(seed)``."""
    kernel_size = check_int("kernel_size", kernel_size, 1)
    return np.random.default_rng(seed).standard_normal((1, 1, kernel_size, kernel_size))


def padding_errors(image=None, kernel=None, shifts=range(0, 9)):
    """Relative equivariance errors of a stride-1 "same" convolution against the shift.

    ``image`` ``(1, H, W)`` (default :func:`chapter_image`), ``kernel``
    ``(1, 1, k, k)`` with odd ``k`` (default :func:`chapter_kernel`),
    ``shifts`` horizontal shifts. Returns a dict of float arrays, one value per shift:

    * ``"circular"``: circular padding, cyclic shift (the theorem: 0 up to rounding);
    * ``"zeros"``: zero padding, zero-filled shift, over the whole image;
    * ``"zeros_interior"``: the same outside :func:`border_band` (exactly 0);
    * ``"band_predicted"``, ``"band_measured"``: number of columns in the
      predicted band and of columns where the error is non-zero.
    """
    image = chapter_image() if image is None else as_real_array("image", image)
    kernel = chapter_kernel() if kernel is None else as_real_array("kernel", kernel)
    if kernel.ndim != 4 or kernel.shape[:2] != (1, 1) or kernel.shape[2] % 2 == 0:
        raise ValueError(f"kernel must be (1, 1, k, k) with odd k, got shape {kernel.shape}")
    r = kernel.shape[-1] // 2

    def circular(x):
        return conv2d(x, kernel, padding=r, padding_mode="circular")

    def zeros(x):
        return conv2d(x, kernel, padding=r)

    out = {key: [] for key in ("circular", "zeros", "zeros_interior", "band_predicted", "band_measured")}
    for d in shifts:
        band = border_band(image.shape[-2:], kernel.shape[-1], d)
        errors = equivariance_error_map(zeros, image, d, mode="zeros")[0]
        scale = np.abs(zeros(image)).max()
        out["circular"].append(equivariance_error(circular, image, d))
        out["zeros"].append(errors.max() / scale)
        out["zeros_interior"].append(errors[~band].max(initial=0.0) / scale)
        out["band_predicted"].append(int(band[0].sum()))
        out["band_measured"].append(int((errors > 0).any(axis=0).sum()))
    return {key: np.array(value) for key, value in out.items()}


def stride_errors(image=None, kernel=None, stride=2, shifts=range(0, 9)):
    """:func:`strided_equivariance_error` of a circular convolution with ``stride``, one per horizontal shift.

    Defaults: :func:`chapter_image`, :func:`chapter_kernel`. Returns a float
    array: 0 (up to rounding) where ``stride`` divides the shift.
    """
    image = chapter_image() if image is None else as_real_array("image", image)
    kernel = chapter_kernel() if kernel is None else as_real_array("kernel", kernel)

    def f(x):
        return conv2d(x, kernel, stride=stride, padding=kernel.shape[-1] // 2, padding_mode="circular")

    return np.array([strided_equivariance_error(f, image, d, stride)[0] for d in shifts])


def unshared_errors(side=16, kernel_size=3, shift=1, seed=0):
    """Equivariance errors of layers without weight sharing, beside a convolution, on a ``side``² camera image.

    * ``"fully_connected"``: ``nn.Linear(side², side²)`` on the flattened
      image, cyclic shift;
    * ``"locally_connected"``: :class:`cnnlib.LocallyConnected2d` ("same" zero
      padding, its own random kernel at every position), zero-filled shift,
      outside :func:`border_band`;
    * ``"tied"``: the same layer with every position's kernel set to one
      convolution's (``LocallyConnected2d.from_conv``), same measure;
    * ``"convolution"``: that ``nn.Conv2d`` itself, same measure.

    Layers are initialised after ``torch.manual_seed(seed)``, without bias.
    Returns a dict of relative errors (floats, largest absolute difference
    over largest absolute output).
    """
    from cnnlib.layers import LocallyConnected2d

    torch.manual_seed(check_int("seed", seed, 0))
    image = torch.from_numpy(chapter_image(side)).float()[None]  # (1, 1, side, side)
    dense = nn.Linear(side * side, side * side, bias=False)
    conv = nn.Conv2d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)
    free = LocallyConnected2d(1, 1, kernel_size, (side, side), padding=kernel_size // 2, bias=False)
    tied = LocallyConnected2d.from_conv(conv, (side, side))

    def fully_connected(x):
        return dense(x.flatten(1)).reshape(x.shape)

    inside = ~border_band((side, side), kernel_size, shift)
    return {
        "fully_connected": equivariance_error(fully_connected, image, shift),
        "locally_connected": equivariance_error(free, image, shift, mode="zeros", mask=inside),
        "tied": equivariance_error(tied, image, shift, mode="zeros", mask=inside),
        "convolution": equivariance_error(conv, image, shift, mode="zeros", mask=inside),
    }


# --------------------------------------------------------------------------
# The converse: shift-commuting linear maps are convolutions
# --------------------------------------------------------------------------


def impulse_response(linear_fn, shape):
    """``linear_fn`` applied to the image with a single 1 at ``(0, 0)``: its kernel, shape ``shape``.

    If ``linear_fn`` is linear and commutes with every cyclic shift, then
    ``linear_fn(x) == circular_convolve(x, impulse_response(linear_fn, x.shape))``.
    """
    h, w = pair("shape", tuple(shape))
    delta = np.zeros((h, w))
    delta[0, 0] = 1.0
    return _numpy(_apply(linear_fn, delta))


def circular_convolve(x, kernel):
    """Circular convolution (flipped, as in mathematics): ``y[i, j] = sum_{a,b} k[a, b] x[i - a, j - b]``.

    ``x`` and ``kernel`` are ``(H, W)``, indices taken modulo ``H`` and ``W``.
    Written as what it is, a weighted sum of shifted copies of ``x``:
    ``y = sum_{a,b} k[a, b] * shift(x, a, b)``. Returns ``(H, W)``.
    """
    x = as_real_array("x", x)
    kernel = as_real_array("kernel", kernel)
    if x.ndim != 2 or kernel.shape != x.shape:
        raise ValueError(f"x and kernel must be 2-D arrays of the same shape, got {x.shape} and {kernel.shape}")
    y = np.zeros(x.shape, dtype=np.result_type(x, kernel))
    for a, b in zip(*np.nonzero(kernel)):
        y += kernel[a, b] * np.roll(x, (a, b), axis=(0, 1))
    return y

"""The data of the course, all shipped by packages (nothing is downloaded).

Real handwritten digits on a larger canvas, so that position matters
(chapters 3 and 6), and photographs (chapters 2 to 4, :func:`load_photo`).

scikit-learn ships 1797 handwritten digits of 8×8 pixels (``load_digits``,
nothing is downloaded). ``digits_on_canvas`` enlarges each digit by an integer
factor (every pixel becomes a ``scale × scale`` block) and pastes it on a black
square canvas, at the centre, at a fixed corner position, or at a random
position per image. ``train_test_split`` makes a stratified split with a fixed
seed, and ``stratified_subset`` takes a smaller class-balanced training set.

Shapes: images are float32 ``(N, 1, canvas_size, canvas_size)`` in [0, 1]
(the channel axis is there for ``torch.nn.Conv2d``); labels are int64 ``(N,)``.

>>> images, labels = digits_on_canvas(canvas_size=32, scale=2)
>>> images.shape, labels.shape
((1797, 1, 32, 32), (1797,))
"""

import numpy as np

from cnnlib.shapes import check_int, pair
from cnnlib.validate import as_image

DIGIT_SIZE = 8  # load_digits images are 8×8
DIGIT_MAX = 16.0  # and their pixels are integers 0..16


def load_digits():
    """scikit-learn's digits as float32 ``(1797, 8, 8)`` in [0, 1] and int64 labels ``(1797,)``."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    images = (bunch.images / DIGIT_MAX).astype(np.float32)
    return images, bunch.target.astype(np.int64)


def place_on_canvas(images, canvas_size, rows, cols):
    """Paste small images on black canvases, image ``n`` with its top-left corner at ``(rows[n], cols[n])``.

    ``images`` is ``(N, h, w)``; ``rows`` and ``cols`` are integers or arrays of
    ``N`` integers. Returns float32 ``(N, 1, canvas_size, canvas_size)``. Every
    image must fit entirely on the canvas (``0 <= row <= canvas_size - h``).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be 3-D (N, h, w), got shape {images.shape}")
    check_int("canvas_size", canvas_size, minimum=1)
    n, h, w = images.shape
    rows = np.broadcast_to(np.asarray(rows), (n,))
    cols = np.broadcast_to(np.asarray(cols), (n,))
    if rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu":
        raise TypeError(f"rows and cols must be integers, got dtypes {rows.dtype} and {cols.dtype}")
    for name, pos, size in (("rows", rows, h), ("cols", cols, w)):
        if n and (pos.min() < 0 or pos.max() > canvas_size - size):
            raise ValueError(
                f"{name} must lie in [0, {canvas_size - size}] so that an image of {h}×{w} "
                f"fits on a canvas of {canvas_size}, got values from {pos.min()} to {pos.max()}"
            )
    canvas = np.zeros((n, 1, canvas_size, canvas_size), dtype=np.float32)
    # one fancy-indexing assignment: index grids of shape (N, h, w)
    i = rows[:, None, None] + np.arange(h)[None, :, None]
    j = cols[:, None, None] + np.arange(w)[None, None, :]
    canvas[np.arange(n)[:, None, None], 0, i, j] = images
    return canvas


def digits_on_canvas(canvas_size=32, scale=2, placement="center", seed=0):
    """All 1797 digits, enlarged ``scale`` times, on a ``canvas_size`` square.

    ``placement``:
      * ``"center"``: every digit at the centre (rounded towards the top left);
      * ``"random"``: each digit at its own uniformly random position where it
        fits, drawn from ``np.random.default_rng(seed)``;
      * ``(row, col)``: every digit with its top-left corner there.

    Returns ``images`` float32 ``(1797, 1, canvas_size, canvas_size)`` in
    [0, 1] and ``labels`` int64 ``(1797,)``. Same arguments, same arrays.
    """
    check_int("scale", scale, minimum=1)
    check_int("canvas_size", canvas_size, minimum=1)
    size = DIGIT_SIZE * scale
    if size > canvas_size:
        raise ValueError(
            f"a digit enlarged {scale} times is {size}×{size} and does not fit on a canvas of {canvas_size}"
        )
    small, labels = load_digits()
    big = np.kron(small, np.ones((scale, scale), dtype=np.float32))
    room = canvas_size - size
    if isinstance(placement, str):
        if placement == "center":
            rows = cols = room // 2
        elif placement == "random":
            rng = np.random.default_rng(seed)
            rows = rng.integers(0, room + 1, size=len(big))
            cols = rng.integers(0, room + 1, size=len(big))
        else:
            raise ValueError(f'placement must be "center", "random" or (row, col), got {placement!r}')
    else:
        try:
            rows, cols = placement
        except (TypeError, ValueError):
            raise TypeError(f'placement must be "center", "random" or (row, col), got {placement!r}') from None
        check_int("placement row", rows, minimum=0)
        check_int("placement col", cols, minimum=0)
    return place_on_canvas(big, canvas_size, rows, cols), labels


def train_test_split(images, labels, test_fraction=0.3, seed=0):
    """Stratified split with a fixed seed: ``(x_train, x_test, y_train, y_test)``.

    Every class keeps its proportion in both parts (scikit-learn's
    ``train_test_split`` with ``stratify=labels``). Works on NumPy arrays and
    torch tensors alike (indexing only), and returns the same type.
    """
    from sklearn.model_selection import train_test_split as _split

    if len(images) != len(labels):
        raise ValueError(f"images and labels must have the same length, got {len(images)} and {len(labels)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    index = np.arange(len(labels))
    train, test = _split(index, test_size=test_fraction, random_state=seed, stratify=np.asarray(labels))
    train, test = np.sort(train), np.sort(test)
    return images[train], images[test], labels[train], labels[test]


def stratified_subset(labels, n, seed=0):
    """Sorted indices of ``n`` examples with the classes as balanced as the labels allow.

    Draws round-robin over the classes in a random order (``default_rng(seed)``),
    so the class counts differ by at most one while every class has enough
    examples. ``n`` may equal ``len(labels)`` (everything).
    """
    labels = np.asarray(labels)
    check_int("n", n, minimum=1)
    if n > len(labels):
        raise ValueError(f"n must be at most the number of examples ({len(labels)}), got {n}")
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(labels))  # random order inside every class
    # rank of each example inside its class in that order: 0 for the first of its class, 1 for the next...
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = index[labels[index] == c]
        rank[members] = np.arange(len(members))
    tie = rng.permutation(len(labels))  # which class goes first among equal ranks
    chosen = np.lexsort((tie, rank))[:n]
    return np.sort(chosen)


# ---------------------------------------------------------------- photographs

PHOTOS = ("chelsea", "camera", "astronaut", "coffee", "coins", "rocket")  # ship with scikit-image


def fit_to_size(image, size):
    """Crop ``image`` ``(H, W)`` centrally to the aspect ratio of ``size`` and resize it to ``size``.

    ``size`` is ``(height, width)``. Anti-aliased (scikit-image's
    ``transform.resize``); returns float64 ``(height, width)``.
    """
    from skimage.transform import resize

    image = as_image("image", image).astype(np.float64)
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


def load_photo(name="chelsea", size=(280, 320)):
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

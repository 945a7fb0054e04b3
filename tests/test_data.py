"""cnnlib.data against brute force: loops that paste pixels one by one, and sklearn's raw digits."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits as sk_load_digits

from cnnlib.data import digits_on_canvas, load_digits, place_on_canvas, stratified_subset, train_test_split


@pytest.fixture(scope="module")
def raw():
    bunch = sk_load_digits()
    return bunch.images, bunch.target


def paste_by_loops(small, canvas_size, scale, row, col):
    """One enlarged digit pasted pixel by pixel: canvas[row + i, col + j] = small[i // scale, j // scale] / 16."""
    canvas = np.zeros((canvas_size, canvas_size))
    for i in range(small.shape[0] * scale):
        for j in range(small.shape[1] * scale):
            canvas[row + i, col + j] = small[i // scale, j // scale] / 16
    return canvas


def test_load_digits_is_sklearn_scaled(raw):
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, raw[1])
    np.testing.assert_allclose(images, raw[0] / 16, rtol=1e-6)
    assert images.min() == 0 and images.max() == 1


@pytest.mark.parametrize("canvas_size, scale", [(32, 2), (16, 1), (24, 3), (16, 2)])
def test_center_matches_loops(raw, canvas_size, scale):
    images, labels = digits_on_canvas(canvas_size=canvas_size, scale=scale)
    assert images.shape == (1797, 1, canvas_size, canvas_size) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, raw[1])
    offset = (canvas_size - 8 * scale) // 2
    for n in (0, 1, 500, 1796):
        expected = paste_by_loops(raw[0][n], canvas_size, scale, offset, offset)
        np.testing.assert_allclose(images[n, 0], expected, rtol=1e-6)


def test_fixed_position_matches_loops(raw):
    images, _ = digits_on_canvas(canvas_size=32, scale=2, placement=(0, 16))
    for n in (3, 77):
        np.testing.assert_allclose(images[n, 0], paste_by_loops(raw[0][n], 32, 2, 0, 16), rtol=1e-6)
    # the ink is conserved: scale**2 times the digit's
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), 4 * raw[0].sum(axis=(1, 2)) / 16, rtol=1e-5)


def test_random_placement_is_seeded_and_in_range(raw):
    a, la = digits_on_canvas(canvas_size=24, scale=2, placement="random", seed=3)
    b, _ = digits_on_canvas(canvas_size=24, scale=2, placement="random", seed=3)
    c, _ = digits_on_canvas(canvas_size=24, scale=2, placement="random", seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(la, raw[1])
    np.testing.assert_allclose(a.sum(axis=(1, 2, 3)), 4 * raw[0].sum(axis=(1, 2)) / 16, rtol=1e-5)
    # each image is its digit pasted at one of the 9 x 9 positions: find it by brute force
    for n in (0, 10, 999):
        hits = [
            (r, c)
            for r in range(9)
            for c in range(9)
            if np.allclose(a[n, 0], paste_by_loops(raw[0][n], 24, 2, r, c))
        ]
        assert len(hits) >= 1
    # positions vary: not every image sits at the same place
    assert len({tuple(np.argwhere(a[n, 0] > 0).min(axis=0)) for n in range(50)}) > 5


@given(
    n=st.integers(0, 4),
    h=st.integers(1, 4),
    w=st.integers(1, 4),
    canvas=st.integers(4, 7),
    data=st.data(),
)
def test_place_on_canvas_matches_loops(n, h, w, canvas, data):
    rng = np.random.default_rng(n + 10 * h + 100 * w)
    small = rng.random((n, h, w)).astype(np.float32)
    rows = np.array(data.draw(st.lists(st.integers(0, canvas - h), min_size=n, max_size=n)), dtype=np.int64)
    cols = np.array(data.draw(st.lists(st.integers(0, canvas - w), min_size=n, max_size=n)), dtype=np.int64)
    out = place_on_canvas(small, canvas, rows, cols)
    expected = np.zeros((n, 1, canvas, canvas), dtype=np.float32)
    for k in range(n):
        for i in range(h):
            for j in range(w):
                expected[k, 0, rows[k] + i, cols[k] + j] = small[k, i, j]
    np.testing.assert_array_equal(out, expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="does not fit"):
        digits_on_canvas(canvas_size=15, scale=2)
    with pytest.raises(ValueError, match="placement"):
        digits_on_canvas(placement="left")
    with pytest.raises(TypeError, match="placement"):
        digits_on_canvas(placement=3)
    with pytest.raises(ValueError, match="cols must lie in"):
        digits_on_canvas(canvas_size=32, scale=2, placement=(0, 17))
    with pytest.raises(TypeError, match="scale"):
        digits_on_canvas(scale=1.5)
    with pytest.raises(ValueError, match="3-D"):
        place_on_canvas(np.zeros((2, 2)), 4, 0, 0)
    with pytest.raises(TypeError, match="integers"):
        place_on_canvas(np.zeros((1, 2, 2)), 4, 0.5, 0)


def test_train_test_split_is_stratified_disjoint_and_seeded():
    images, labels = digits_on_canvas(canvas_size=8, scale=1)
    images = images + np.arange(len(images), dtype=np.float32)[:, None, None, None]  # every image unique
    xtr, xte, ytr, yte = train_test_split(images, labels, test_fraction=0.25, seed=1)
    assert len(xtr) + len(xte) == len(images) and len(xtr) == len(ytr) and len(xte) == len(yte)
    assert abs(len(xte) - 0.25 * len(images)) <= 1
    ids_train, ids_test = xtr[:, 0, 0, 0].astype(int), xte[:, 0, 0, 0].astype(int)
    assert set(ids_train).isdisjoint(ids_test)
    assert set(ids_train) | set(ids_test) == set(range(len(images)))
    np.testing.assert_array_equal(labels[ids_train], ytr)  # images stay with their labels
    full = np.bincount(labels) / len(labels)
    assert np.all(np.abs(np.bincount(yte) - full * len(yte)) <= 1)  # stratified
    again = train_test_split(images, labels, test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again[1], xte)
    other = train_test_split(images, labels, test_fraction=0.25, seed=2)
    assert not np.array_equal(other[1], xte)


def test_train_test_split_accepts_torch():
    torch = pytest.importorskip("torch")
    images, labels = digits_on_canvas(canvas_size=8, scale=1)
    xtr, xte, ytr, yte = train_test_split(torch.from_numpy(images), torch.from_numpy(labels), seed=0)
    assert isinstance(xtr, torch.Tensor) and isinstance(yte, torch.Tensor)
    np.testing.assert_array_equal(xte.numpy(), train_test_split(images, labels, seed=0)[1])


def test_train_test_split_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        train_test_split(np.zeros((4, 1)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.zeros((4, 1)), np.zeros(4, dtype=int), test_fraction=1.0)


@pytest.mark.parametrize("n", [1, 9, 10, 37, 500, 1797])
def test_stratified_subset_is_balanced(n):
    _, labels = load_digits()
    index = stratified_subset(labels, n, seed=0)
    assert len(index) == n and len(np.unique(index)) == n
    assert np.all(np.diff(index) > 0)
    counts = np.bincount(labels[index], minlength=10)
    if n <= 10 * np.bincount(labels).min():
        assert counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(index, stratified_subset(labels, n, seed=0))


def test_stratified_subset_seeds_and_errors():
    _, labels = load_digits()
    assert not np.array_equal(stratified_subset(labels, 50, seed=0), stratified_subset(labels, 50, seed=1))
    # unbalanced labels: the rare class is used up, the others fill the rest
    labels = np.array([0] * 2 + [1] * 10)
    counts = np.bincount(labels[stratified_subset(labels, 8)])
    assert counts.tolist() == [2, 6]
    with pytest.raises(ValueError, match="at most"):
        stratified_subset(labels, 13)

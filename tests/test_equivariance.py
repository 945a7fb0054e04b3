"""cnnlib.equivariance against hand-derived cases, brute force and the theorem itself."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import conv2d, global_avg_pool2d, max_pool2d
from cnnlib import equivariance as E
from cnnlib import invariance


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster than two fighting over a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def brute_circular_correlation(x, k):
    """y[i, j] = sum_{u, v} k[u, v] x[(i + u - r) % H, (j + v - r) % W]: loops, no library."""
    h, w = x.shape
    r = k.shape[0] // 2
    y = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            for u in range(k.shape[0]):
                for v in range(k.shape[1]):
                    y[i, j] += k[u, v] * x[(i + u - r) % h, (j + v - r) % w]
    return y


# --------------------------------------------------------------------------
# shifts and the error measures
# --------------------------------------------------------------------------


def test_an_int_shift_moves_right():
    assert E._as_shift(3) == (0, 3)
    assert E._as_shift((2, -1)) == (2, -1)
    assert E._as_shift([np.int64(1), 0]) == (1, 0)


@pytest.mark.parametrize("bad", [1.5, "1", (1,), (1, 2, 3), (1.0, 2), True, None])
def test_a_bad_shift_is_refused(bad):
    with pytest.raises(TypeError, match="shift"):
        E._as_shift(bad)


def test_equivariance_error_of_a_position_dependent_layer_by_hand():
    # f multiplies pixel j by j + 1. x = [0, 1, 0, 0]: f(x) = [0, 2, 0, 0];
    # S x = [0, 0, 1, 0], f(S x) = [0, 0, 3, 0], S f(x) = [0, 0, 2, 0]: |diff| = 1, relative 1/2.
    x = np.array([[0.0, 1.0, 0.0, 0.0]])
    weights = np.arange(1.0, 5.0)

    def f(a):
        return a * weights

    assert E.equivariance_error(f, x, 1, relative=False) == 1.0
    assert E.equivariance_error(f, x, 1) == 0.5
    np.testing.assert_array_equal(E.equivariance_error_map(f, x, 1), [[0, 0, 1, 0]])
    assert E.equivariance_error(f, x, 0) == 0.0
    # a mask that hides column 2 hides the error
    assert E.equivariance_error(f, x, 1, mask=np.array([True, True, False, True])) == 0.0


def test_invariance_and_unchanged_fraction_of_max_pooling_by_hand():
    # x = [0, 5, 0, 0], pool 2: [5, 0]. Shifted right by one: [0, 0, 5, 0] -> [0, 5].
    x = np.array([[[0.0, 5.0, 0.0, 0.0]]])

    def pool(a):
        return max_pool2d(a, (1, 2))

    assert E.invariance_error(pool, x, 1) == 1.0
    assert invariance._kept_in_place(pool, x, 1) == 0.0
    # [5, 0, 0, 0] -> [5, 0]; its shift by one [0, 5, 0, 0] -> [5, 0]: the max stays in its window
    y = np.array([[[5.0, 0.0, 0.0, 0.0]]])
    assert E.invariance_error(pool, y, 1) == 0.0
    assert invariance._kept_in_place(pool, y, 1) == 1.0


def test_euclidean_norm_and_ignored_zeros_by_hand():
    # f(x) = [0, 2, 0, 0] as above, f(S x) = [0, 0, 3, 0]: S f(x) - f(S x) = [0, 0, -1, 0]
    x = np.array([[0.0, 1.0, 0.0, 0.0]])
    weights = np.arange(1.0, 5.0)

    def f(a):
        return a * weights

    assert E.equivariance_error(f, x, 1, norm="l2") == 0.5
    # invariance: f(S x) - f(x) = [0, -2, 3, 0], norm sqrt(13), relative to |f(x)| = 2
    assert E.invariance_error(f, x, 1, norm="l2") == pytest.approx(np.sqrt(13) / 2)
    # the one non-zero value of f(x) (at 1) is not kept in place: zeros that stay zero do not count
    assert invariance._kept_in_place(f, x, 1) == 0.0
    with pytest.raises(ValueError, match="norm"):
        E.equivariance_error(f, x, 1, norm="l1")


def test_relative_error_of_a_zero_output_is_refused():
    with pytest.raises(ValueError, match="relative"):
        E.equivariance_error(lambda a: 0 * a, np.ones((3, 3)), 1)


def test_outputs_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="different shapes"):
        E.equivariance_error(lambda a: a[..., : 1 + int(a[0, 0])], np.eye(3), 1)


def test_torch_layers_and_tensors_work():
    conv = torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular")
    x = torch.randn(1, 1, 6, 7, generator=torch.Generator().manual_seed(0))
    assert E.equivariance_error(conv, x, (2, 3)) < 1e-6


# --------------------------------------------------------------------------
# the theorem: circular convolution, stride 1, commutes with every cyclic shift
# --------------------------------------------------------------------------


@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    r=st.integers(0, 1),
    dy=st.integers(-10, 10),
    dx=st.integers(-10, 10),
    seed=st.integers(0, 2**16),
)
def test_circular_convolution_commutes_with_every_cyclic_shift(h, w, r, dy, dx, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w))
    k = rng.standard_normal((2 * r + 1, 2 * r + 1))
    # the library's convolution is the brute-force one ...
    y = conv2d(x[None, None], k[None, None], padding=r, padding_mode="circular")[0, 0]
    np.testing.assert_allclose(y, brute_circular_correlation(x, k), atol=1e-12)
    # ... and it commutes with the shift (brute force on both sides, then the measure)
    left = brute_circular_correlation(np.roll(x, (dy, dx), (0, 1)), k)
    np.testing.assert_allclose(left, np.roll(y, (dy, dx), (0, 1)), atol=1e-12)
    f = lambda a: conv2d(a, k[None, None], padding=r, padding_mode="circular")  # noqa: E731
    assert E.equivariance_error(f, x[None], (dy, dx)) < 1e-12


@given(seed=st.integers(0, 2**16), dy=st.integers(-5, 5), dx=st.integers(-5, 5))
def test_a_stack_with_biases_and_relus_commutes_with_cyclic_shifts(seed, dy, dx):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3)
    w2, b2 = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)

    def net(a):
        a = np.maximum(conv2d(a, w1, b1, padding=1, padding_mode="circular"), 0)
        return np.tanh(conv2d(a, w2, b2, padding=1, padding_mode="circular"))

    x = rng.standard_normal((1, 6, 5))
    assert E.equivariance_error(net, x, (dy, dx)) < 1e-12


def test_a_locally_connected_layer_is_not_equivariant_but_its_tied_version_is():
    from cnnlib import LocallyConnected2d

    torch.manual_seed(0)
    x = torch.randn(1, 1, 8, 8)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    free = LocallyConnected2d(1, 1, 3, (8, 8), padding=1, bias=False)
    tied = LocallyConnected2d.from_conv(conv, (8, 8))
    inside = ~E.border_band((8, 8), 3, 2)
    assert E.equivariance_error(tied, x, 2, mode="zeros", mask=inside) < 1e-6
    assert E.equivariance_error(free, x, 2, mode="zeros", mask=inside) > 0.05


# --------------------------------------------------------------------------
# zero padding: the border band, predicted and brute-forced
# --------------------------------------------------------------------------


def test_border_band_by_hand():
    # n = 6, k = 3 (r = 1), shift 2: x = [a b c d e f] -> [0 0 a b c d].
    # column 1: f(Sx)[1] = k2*a, (S f x)[1] = 0 (zero filled); column 5: f(Sx)[5] lacks k2*e.
    band = E.border_band((1, 6), (1, 3), 2)
    np.testing.assert_array_equal(band[0], [False, True, False, False, False, True])
    # shift -1 mirrors it: columns 0 (border) and 5 (just after the content ends)
    band = E.border_band((1, 6), (1, 3), -1)
    np.testing.assert_array_equal(band[0], [True, False, False, False, False, True])
    assert not E.border_band((4, 4), 3, 0).any()
    # width r + min(d, r)
    for d in range(1, 6):
        assert E.border_band((1, 30), (1, 7), d)[0].sum() == 3 + min(d, 3)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("shift", [(0, 1), (0, 2), (0, 4), (0, -3), (3, 0), (2, -5), (0, 9), (0, 12), (-1, 1)])
def test_border_band_is_exactly_where_equivariance_fails(k, shift):
    rng = np.random.default_rng(k)
    x = rng.uniform(0.5, 1.5, size=(1, 1, 10, 12))  # no zeros: every leak shows
    kernel = rng.uniform(0.5, 1.5, size=(1, 1, k, k))  # every weight non-zero (and positive: no cancellation)

    def f(a):
        return conv2d(a, kernel, padding=k // 2)

    errors = E.equivariance_error_map(f, x, shift, mode="zeros")[0, 0]
    np.testing.assert_array_equal(errors > 1e-12, E.border_band((10, 12), k, shift))


def test_border_band_needs_an_odd_kernel():
    with pytest.raises(ValueError, match="odd"):
        E.border_band((5, 5), 4, 1)


def test_padding_errors_on_a_small_image():
    image = E.chapter_image(side=32)
    out = E.padding_errors(image, E.chapter_kernel(3), shifts=range(0, 5))
    assert np.all(out["circular"] < 1e-12)
    assert np.all(out["zeros_interior"] == 0)
    assert np.all(out["zeros"][1:] > 0.01)
    np.testing.assert_array_equal(out["band_predicted"], [0, 2, 2, 2, 2])
    np.testing.assert_array_equal(out["band_measured"], out["band_predicted"])


# --------------------------------------------------------------------------
# stride and pooling
# --------------------------------------------------------------------------


def test_subsampling_by_hand():
    # keep every second pixel: [1 0 0 0] -> [1 0]; shifted by 1 -> [0 1 0 0] -> [0 0]: no shift of [1 0] gives it
    x = np.array([[1.0, 0.0, 0.0, 0.0]])

    def sub(a):
        return a[..., ::2]

    err, out_shift = E.strided_equivariance_error(sub, x, 1, 2)
    assert err == 1.0
    err, out_shift = E.strided_equivariance_error(sub, x, 2, 2)
    assert (err, out_shift) == (0.0, (0, 1))


@pytest.mark.parametrize("d", range(0, 7))
def test_stride_two_convolution_is_equivariant_to_even_shifts_only(d):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((1, 12, 12)), rng.standard_normal((1, 1, 3, 3))

    def f(a):
        return conv2d(a, k, stride=2, padding=1, padding_mode="circular")

    err, (ody, odx) = E.strided_equivariance_error(f, x, d, 2)
    if d % 2 == 0:
        assert err < 1e-12 and (ody, odx) == (0, d // 2)
    else:
        assert err > 0.05


def test_strided_error_is_cyclic_only():
    with pytest.raises(ValueError, match="circular"):
        E.strided_equivariance_error(lambda a: a, np.ones((2, 2)), 1, 1, mode="zeros")


@given(seed=st.integers(0, 2**16), dy=st.integers(-9, 9), dx=st.integers(-9, 9))
def test_global_average_pooling_is_invariant_to_cyclic_shifts(seed, dy, dx):
    x = np.random.default_rng(seed).standard_normal((3, 5, 7))
    assert E.invariance_error(global_avg_pool2d, x, (dy, dx)) < 1e-12


def test_pooling_errors_shapes_and_global_pool():
    features = invariance.relu_features(E.chapter_image(side=32), E.chapter_kernel(3))
    out = invariance.pooling_errors(features, {"gap": global_avg_pool2d, "max2": lambda f: max_pool2d(f, 2)}, range(3))
    assert set(out) == {"gap", "gap_unchanged", "max2", "max2_unchanged"}
    assert np.all(out["gap"] < 1e-12) and out["max2"][0] == 0 and out["max2"][1] > 0
    assert out["max2_unchanged"][0] == 1.0
    moved = invariance.pooling_errors(features, {"max2": lambda f: max_pool2d(f, 2)}, range(3), moved=True)
    # a shift by the pool's stride moves every detection one cell: all reappear, none in place
    assert moved["max2_moved"][2] == 1.0 and moved["max2_unchanged"][2] < 1.0


def test_moved_fraction_by_hand():
    # x = (7, 0, 0, 0, 0, 3, 0, 0), max pool 2 with stride 2: (7, 0, 3, 0)
    x = np.array([[[7.0, 0, 0, 0, 0, 3, 0, 0]]])

    def pool(a):
        return max_pool2d(a, (1, 2))

    # a shift by 2 moves both detections one cell: all of them reappear, one cell over
    assert invariance.moved_fraction(pool, x, 2) == (1.0, (0, 1))
    assert invariance._kept_in_place(pool, x, 2) == 0.0
    # a shift by 1 gives (7, 0, 0, 3): the 7 stays in place, the 3 moves a cell; no output shift
    # carries both, and the tie between (0, 0) and (0, 1) goes to the smaller shift
    assert invariance.moved_fraction(pool, x, 1) == (0.5, (0, 0))
    # a shift by 4 moves them two cells, in either direction on a ring of four cells
    assert invariance.moved_fraction(pool, x, 4) == (1.0, (0, 2))


def _moved_fraction_by_loops(fx, first):
    """The oracle: every cyclic output shift, every non-zero value, by index arithmetic."""
    h, w = fx.shape
    best = (-1.0, None)
    for oy in range(h):
        for ox in range(w):
            lit = kept = 0
            for i in range(h):
                for j in range(w):
                    value = fx[(i - oy) % h, (j - ox) % w]   # (T' f(x)) at (i, j)
                    if value != 0:
                        lit += 1
                        kept += first[i, j] == value
            if kept / lit > best[0]:
                best = (kept / lit, (oy, ox))
    return best[0]


@given(seed=st.integers(0, 2**16), size=st.sampled_from([2, 3]), dx=st.integers(0, 7))
def test_moved_fraction_against_loops(seed, size, dx):
    features = np.maximum(np.random.default_rng(seed).integers(-2, 3, (1, 6, 9)).astype(float), 0)
    features[0, 0, 0] = 5.0  # at least one detection

    def pool(a):
        return max_pool2d(a, size)

    fraction, _ = invariance.moved_fraction(pool, features, (0, dx))
    oracle = _moved_fraction_by_loops(pool(features)[0], pool(np.roll(features, dx, axis=-1))[0])
    assert fraction == pytest.approx(oracle)


def test_unshared_layers_are_not_equivariant_and_tied_ones_are():
    errors = E.unshared_errors(side=16, kernel_size=3, shift=1, seed=0)
    assert errors["fully_connected"] > 0.1 and errors["locally_connected"] > 0.1
    assert errors["tied"] < 1e-6 and errors["convolution"] < 1e-6


def test_stride_errors_zigzag():
    errors = E.stride_errors(E.chapter_image(side=16), E.chapter_kernel(3), 2, range(6))
    assert np.all(errors[::2] < 1e-12) and np.all(errors[1::2] > 0.05)
    np.testing.assert_allclose(errors[1::2], errors[1])


# --------------------------------------------------------------------------
# the converse: a shift-commuting linear map is a circular convolution
# --------------------------------------------------------------------------


@given(h=st.integers(1, 7), w=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_circular_convolve_matches_the_fft(h, w, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((h, w))
    fft = np.fft.ifft2(np.fft.fft2(x) * np.fft.fft2(k)).real
    np.testing.assert_allclose(E.circular_convolve(x, k), fft, atol=1e-10)


def test_impulse_response_recovers_a_circular_convolution_layer():
    rng = np.random.default_rng(1)
    k = rng.standard_normal((1, 1, 3, 3))

    def layer(a):
        return conv2d(a[None, None], k, padding=1, padding_mode="circular")[0, 0]

    kernel = E.impulse_response(layer, (5, 6))
    # by hand: the response to a pixel at (0, 0) is the flipped 3x3 kernel centred at (0, 0), wrapped
    expected = np.zeros((5, 6))
    for u in range(3):
        for v in range(3):
            expected[(1 - u) % 5, (1 - v) % 6] = k[0, 0, u, v]
    np.testing.assert_allclose(kernel, expected)
    x = rng.standard_normal((5, 6))
    np.testing.assert_allclose(E.circular_convolve(x, kernel), layer(x), atol=1e-12)


def test_impulse_response_does_not_describe_a_map_that_does_not_commute():
    rng = np.random.default_rng(2)
    matrix = rng.standard_normal((20, 20))

    def dense(a):
        return (matrix @ a.ravel()).reshape(a.shape)

    x = rng.standard_normal((4, 5))
    assert E.equivariance_error(dense, x, 1) > 0.1
    assert np.abs(E.circular_convolve(x, E.impulse_response(dense, (4, 5))) - dense(x)).max() > 0.1


def test_circular_convolve_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        E.circular_convolve(np.ones((3, 3)), np.ones((3, 4)))


# --------------------------------------------------------------------------
# the chapter's figures and widget (cnnlib.figures.equivariance)
# --------------------------------------------------------------------------


def test_shift_panels_agree_with_the_measures():
    from cnnlib.figures.equivariance import _shift_panels

    image = E.chapter_image(side=16)[0]
    kernel = E.chapter_kernel(3)[0, 0]
    circ = _shift_panels(image, kernel, 2, "circular")
    assert circ["error"].max() < 1e-12 and not circ["band"].any()
    np.testing.assert_array_equal(circ["shifted"], np.roll(image, 2, axis=1))
    zero = _shift_panels(image, kernel, 2, "zeros")
    np.testing.assert_array_equal(zero["band"], E.border_band((16, 16), 3, 2))
    np.testing.assert_array_equal(zero["error"] > 0, zero["band"])
    with pytest.raises(ValueError, match="odd"):
        _shift_panels(image, np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="padding_mode"):
        _shift_panels(image, kernel, 1, "reflect")


def test_figures_and_widget_build():
    import matplotlib

    matplotlib.use("Agg")
    import ipywidgets
    import matplotlib.pyplot as plt

    from cnnlib.figures.equivariance import errors_figure, shift_figure, shift_report_figure, shift_widget

    image, kernel = E.chapter_image(side=16)[0], E.chapter_kernel(3)[0, 0]
    fig = shift_figure(image, kernel, 1)
    assert len([ax for ax in fig.axes if ax.images]) == 8
    plt.close(fig)
    fig = errors_figure(range(3), [("a", "error", {"x": [0, 1, 2], "y": [0, 0, 0]})])
    assert [line.get_label() for line in fig.axes[0].lines] == ["x", "y"]
    plt.close(fig)
    report = {"accuracy": np.array([1.0, 0.5]), "changed": np.array([0.0, 0.5])}
    fig = shift_report_figure([0, 1], {"m": report})
    assert len(fig.axes) == 2
    plt.close(fig)
    live = shift_widget(image, kernel, max_shift=3)
    assert isinstance(live.widget, ipywidgets.VBox)
    assert set(live.controls) == {"shift", "padding_mode"}
    assert live.controls["shift"].min == -3 and live.controls["shift"].max == 3
    plt.close("all")


def _shift_picture(image, kernel, **values):
    from cnnlib.figures.live import _render_png
    from cnnlib.figures.equivariance import _draw_shift_row

    return _render_png(lambda fig, shift, padding_mode: _draw_shift_row(fig, image, kernel, shift, padding_mode),
                      values, figsize=(7, 2.2))


def _intact(png):
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(png))
    picture.load()                     # decodes every row: a truncated PNG raises here
    return picture.size


def test_shift_widget_redraws_once_per_change_and_shows_the_new_values():
    from cnnlib.figures.equivariance import shift_widget

    image, kernel = E.chapter_image(side=16)[0], E.chapter_kernel(3)[0, 0]
    live = shift_widget(image, kernel, max_shift=4)
    assert live.redraws == 1
    assert live.image.value == _shift_picture(image, kernel, shift=3, padding_mode="zeros")
    changes = [("shift", -2), ("padding_mode", "circular"), ("shift", 4), ("padding_mode", "zeros"), ("shift", 0)]
    for n, (name, value) in enumerate(changes, start=2):
        live.controls[name].value = value
        assert live.redraws == n, name
        assert live.image.value == _shift_picture(image, kernel, **live.values())
        assert _intact(live.image.value) == (700, 220)
    live.controls["shift"].value = 0   # not a change: no redraw
    assert live.redraws == len(changes) + 1

"""cnnlib.edges: the counts of fig. 9.6 against hand-derived values and real matrices,
the photograph, filtering against torch, timing helpers, kernel learning, figures."""

from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnnlib import conv2d_as_matrix, data, edges  # noqa: E402
from cnnlib.figures import edges as edge_figures  # noqa: E402

# --- the caption's numbers, derived by hand from its own formulas -----------------------


def test_caption_counts_by_hand():
    c = edges.caption_counts(280, 320)
    assert c["output_shape"] == (280, 319)
    assert c["conv_flops"] == 319 * 280 * 3 == 267_960
    assert c["conv_flops_subtract"] == 319 * 280
    assert c["matrix_entries"] == 320 * 280 * 319 * 280 == 8_003_072_000
    assert c["storage_ratio"] == 320 * 280 * 319 * 280 // 2 == 4_001_536_000
    # each of the 319*280 outputs: 320*280 multiplications, one fewer additions
    assert c["matmul_flops"] == 319 * 280 * (2 * 320 * 280 - 1) == 16_006_054_680
    assert c["matmul_flops_2mn"] == 2 * 8_003_072_000
    assert c["compute_ratio"] == Fraction(2 * 320 * 280 - 1, 3) == 59_733
    assert c["sparse_nonzeros"] == 2 * 319 * 280 == 178_640
    assert c["sparse_flops"] == c["conv_flops"]
    assert c["dense_bytes_float32"] == 4 * 8_003_072_000
    assert c["dense_bytes_float64"] == 8 * 8_003_072_000


@st.composite
def image_and_kernel(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return draw(st.integers(kh, 7)), draw(st.integers(kw, 7)), (kh, kw)


@settings(max_examples=40)
@given(image_and_kernel())
def test_counts_match_the_real_matrix(case):
    h, w, (kh, kw) = case
    weight = np.arange(1.0, kh * kw + 1).reshape(1, 1, kh, kw)  # no zero weights
    m = conv2d_as_matrix(weight, (1, h, w))
    assert m.nnz == edges._sparse_nonzeros(h, w, (kh, kw))
    assert m.shape[0] * m.shape[1] == edges.dense_matrix_entries(h, w, (kh, kw))
    assert (m.shape[0],) == (np.prod(edges._edge_output_shape(h, w, (kh, kw))),)
    # the sparse product: one multiplication per stored entry, one addition fewer per row
    per_row = np.diff(m.indptr)
    assert edges._sparse_matmul_flops(h, w, (kh, kw)) == int((2 * per_row - 1).sum())


@settings(max_examples=20)
@given(image_and_kernel())
def test_flops_against_torch_flop_counter(case):
    """torch counts 2 FLOPs per multiply-add (k per output); the caption counts k - 1 additions."""
    h, w, (kh, kw) = case
    x, weight = torch.zeros(1, 1, h, w), torch.zeros(1, 1, kh, kw)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.conv2d(x, weight)
    n_out = int(np.prod(edges._edge_output_shape(h, w, (kh, kw))))
    assert edges._conv_flops(h, w, (kh, kw)) == counter.get_total_flops() - n_out
    dense = torch.zeros(n_out, h * w)
    with FlopCounterMode(display=False) as counter:
        dense @ torch.zeros(h * w, 1)
    assert edges._dense_matmul_flops(h, w, (kh, kw)) == counter.get_total_flops() - n_out


def test_counts_reject_bad_sizes():
    with pytest.raises(ValueError, match="does not fit"):
        edges._conv_flops(3, 1, (1, 2))
    with pytest.raises(TypeError, match="height"):
        edges._conv_flops(2.5, 4)
    with pytest.raises(ValueError, match="width"):
        edges.dense_matrix_entries(4, 0)


# --- the photograph and filtering ------------------------------------------------------------


def test_photo_shape_range_and_determinism():
    photo = data.load_photo()
    assert photo.shape == (280, 320) and photo.dtype == np.float64
    assert 0 <= photo.min() < photo.max() <= 1
    assert photo.std() > 0.05  # a photograph, not a flat field
    np.testing.assert_array_equal(photo, data.load_photo("chelsea", (280, 320)))
    assert data.load_photo("camera", (56, 64)).shape == (56, 64)


def test_load_photo_rejects_unknown_names():
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_photo("eagle")  # needs a download


def test_fit_to_size_crops_centrally():
    image = np.arange(6 * 12, dtype=float).reshape(6, 12)
    np.testing.assert_array_equal(data.fit_to_size(image, (6, 8)), image[:, 2:10])  # exact fit: no resize
    np.testing.assert_array_equal(data.fit_to_size(image.T, (8, 6)), image.T[2:10, :])
    assert data.fit_to_size(image, (3, 4)).shape == (3, 4)


def test_filter2d_is_the_difference_with_the_left_neighbour():
    x = np.random.default_rng(0).random((5, 7))
    np.testing.assert_allclose(edges.filter2d(x, edges.VERTICAL_EDGE), x[:, 1:] - x[:, :-1])
    np.testing.assert_allclose(edges.filter2d(x, edges.HORIZONTAL_EDGE), x[1:, :] - x[:-1, :])
    assert edges.filter2d(x, np.ones((3, 3)), padding="same", padding_mode="reflect").shape == x.shape


@settings(max_examples=30)
@given(image_and_kernel(), st.integers(0, 2**31 - 1))
def test_filter2d_matches_torch(case, seed):
    h, w, (kh, kw) = case
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    expected = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None])[0, 0]
    np.testing.assert_allclose(edges.filter2d(x, k), expected.numpy(), atol=1e-12)


def test_filter2d_rejects_bad_input():
    with pytest.raises(ValueError, match="image must be a non-empty 2-D"):
        edges.filter2d(np.zeros((1, 4, 4)), edges.VERTICAL_EDGE)
    with pytest.raises(TypeError, match="kernel must hold real numbers"):
        edges.filter2d(np.zeros((4, 4)), np.array([["a", "b"]]))


# --- timing the four products -----------------------------------------------------------


def test_time_edge_products_rows():
    image = np.random.default_rng(0).random((28, 32))
    rows = edges.time_edge_products(image, [(7, 8), (14, 16)], max_dense_bytes=4 * 7 * 8 * 7 * 7,
                                    repeat=1, min_time=0.0)
    assert [(r["height"], r["width"], r["pixels"]) for r in rows] == [(7, 8, 56), (14, 16, 224)]
    assert rows[0]["dense matrix"] is not None and rows[1]["dense matrix"] is None  # over the budget
    assert rows[1]["dense_bytes"] == edges._dense_matrix_bytes(14, 16)
    assert all(r[m] > 0 for r in rows for m in edges.METHODS[:3])
    table = edge_figures.timings_table(rows)
    assert table.count("<tr>") == 3 and "–" in table


def test_loglog_fit_recovers_a_power_law():
    x = np.array([10.0, 100.0, 1000.0])
    slope, c = edges.loglog_fit(x, 3 * x**2)
    assert slope == pytest.approx(2) and c == pytest.approx(3)
    with pytest.raises(ValueError, match="positive"):
        edges.loglog_fit([1, 2], [0, 1])
    with pytest.raises(ValueError, match="same length"):
        edges.loglog_fit([1, 2, 3], [1, 2])


# --- learning the kernel -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_photo():
    return data.load_photo("chelsea", (70, 80))


def test_loss_curvature_matches_brute_force(small_photo):
    x = small_photo[:20, :30]
    values, vectors = edges.loss_curvature(x, (2, 2))
    windows = np.array([x[i:i + 2, j:j + 2].ravel() for i in range(19) for j in range(29)])
    hessian = 2 * windows.T @ windows / len(windows)
    np.testing.assert_allclose(values, np.linalg.eigvalsh(hessian), rtol=1e-10)
    np.testing.assert_allclose(hessian @ vectors, vectors * values, atol=1e-10)


def test_heavy_ball_parameters_by_hand():
    lr, momentum = edges.heavy_ball_parameters([1.0, 100.0])
    assert lr == pytest.approx(4 / 121) and momentum == pytest.approx((9 / 11) ** 2)
    with pytest.raises(ValueError, match="positive"):
        edges.heavy_ball_parameters([0.0, 1.0])


def test_learned_kernel_is_minus_one_one(small_photo):
    target = edges.filter2d(small_photo, edges.VERTICAL_EDGE)
    values, _ = edges.loss_curvature(small_photo, (1, 2))
    lr, momentum = edges.heavy_ball_parameters(values)
    kernel, losses = edges.learn_kernel(small_photo, target, (1, 2), steps=300, lr=lr, momentum=momentum)
    np.testing.assert_allclose(kernel, [[-1.0, 1.0]], atol=1e-4)
    assert len(losses) == 301 and losses[-1] < 1e-8 * losses[0]


def test_plain_gradient_descent_matches_torch_sgd(small_photo):
    target = edges.filter2d(small_photo, edges.VERTICAL_EDGE)
    kernel, losses = edges.learn_kernel(small_photo, target, (1, 2), steps=5, lr=0.3, momentum=0.5, seed=3)
    w = torch.randn((1, 1, 1, 2), generator=torch.Generator().manual_seed(3), dtype=torch.float64,
                    requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.3, momentum=0.5)
    x, y = torch.tensor(small_photo)[None, None], torch.tensor(target)[None, None]
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(torch.nn.functional.conv2d(x, w), y)
        loss.backward()
        opt.step()
    np.testing.assert_allclose(kernel, w.detach()[0, 0].numpy(), rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_conjugate_gradients_recover_a_random_3x3_kernel(small_photo, seed):
    true = np.random.default_rng(seed).standard_normal((3, 3))
    kernel, losses = edges.learn_kernel(small_photo, edges.filter2d(small_photo, true), (3, 3),
                                        steps=20, method="cg", seed=seed)
    np.testing.assert_allclose(kernel, true, atol=1e-6)
    assert losses[-1] < 1e-12 * losses[0]


def test_learn_kernel_rejects_bad_input(small_photo):
    target = edges.filter2d(small_photo, edges.VERTICAL_EDGE)
    with pytest.raises(ValueError, match="target must have shape"):
        edges.learn_kernel(small_photo, target, (2, 2), lr=0.1)
    with pytest.raises(ValueError, match="method"):
        edges.learn_kernel(small_photo, target, (1, 2), method="adam")
    with pytest.raises(ValueError, match="positive lr"):
        edges.learn_kernel(small_photo, target, (1, 2))


# --- kernels, figures and the widget -------------------------------------------------------------


def test_preset_kernels():
    for name, k in edge_figures.PRESET_KERNELS.items():
        assert k.shape == (3, 3), name
    assert edge_figures.PRESET_KERNELS["box blur"].sum() == pytest.approx(1)
    assert edge_figures.PRESET_KERNELS["Gaussian blur"].sum() == pytest.approx(1)
    assert edge_figures.PRESET_KERNELS["sharpen"].sum() == pytest.approx(1)
    for name in ["vertical edge [-1, 1]", "Sobel (vertical edges)", "Laplacian (all edges)"]:
        assert edge_figures.PRESET_KERNELS[name].sum() == 0
    x = np.random.default_rng(0).random((6, 7))
    np.testing.assert_allclose(edges.filter2d(x, edge_figures.PRESET_KERNELS["identity"], padding=1), x)


def test_parse_kernel():
    np.testing.assert_array_equal(edge_figures._parse_kernel("0 -1 0; -1 5 -1; 0 -1 0"),
                                  edge_figures.PRESET_KERNELS["sharpen"])
    np.testing.assert_allclose(edge_figures._parse_kernel("1/9, 1/9\n1/9 1/9"), np.full((2, 2), 1 / 9))
    with pytest.raises(ValueError, match="different lengths"):
        edge_figures._parse_kernel("1 2; 3")
    with pytest.raises(ValueError, match="not a number"):
        edge_figures._parse_kernel("1 x")
    with pytest.raises(ValueError, match="no kernel"):
        edge_figures._parse_kernel(" ; ")
    with pytest.raises(TypeError):
        edge_figures._parse_kernel([1, 2])


def test_figures_have_labelled_axes(small_photo):
    import matplotlib.pyplot as plt

    edge_map = edges.filter2d(small_photo, edges.VERTICAL_EDGE)
    figs = [
        edge_figures.plot_images({"photo": small_photo, "edges": edge_map}),
        edge_figures.plot_matrix_pattern(conv2d_as_matrix(edges.VERTICAL_EDGE[None, None], (1, 3, 4)), (3, 4)),
        edge_figures.plot_losses({"a": [1.0, 0.1, 0.01]}),
        edge_figures.plot_filter_grid(small_photo, region=(slice(0, 30), slice(0, 40))),
    ]
    rows = [dict(height=7, width=8, pixels=56, dense_bytes=0, **{m: 1e-4 for m in edges.METHODS}),
            dict(height=14, width=16, pixels=224, dense_bytes=0, **{m: 1e-3 for m in edges.METHODS})]
    figs.append(edge_figures.plot_timings(rows, fit=(2.0, 1e-8), full=(28, 32)))
    # the filter grid shows one region in every panel, with no pixel axes: each panel names its kernel
    grid = figs[3]
    assert len(grid.axes) == len(edge_figures.PRESET_KERNELS)
    assert [" ".join(ax.get_title().split()) for ax in grid.axes] == list(edge_figures.PRESET_KERNELS)
    assert not any(ax.axison for ax in grid.axes)
    for fig in figs:
        for ax in fig.axes:
            if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel(), fig
        plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        edge_figures.plot_matrix_pattern(np.zeros((2, 5)), (2, 3))


def _filter_picture(image, kernel, panel_size=3.2):
    from cnnlib.figures.live import _render_png

    return _render_png(lambda fig, **values: edge_figures._draw_filtered(fig, image, values["kernel"]),
                      {"kernel": kernel}, figsize=(panel_size * 2 * 1.15, panel_size))


def _intact(png):
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(png))
    picture.load()                     # decodes every row: a truncated PNG raises here
    return picture.size


def test_filter_widget_follows_the_preset(small_photo):
    live = edge_figures.filter_widget(small_photo)
    preset, text = live.controls["preset"], live.controls["kernel"]
    assert live.redraws == 1
    assert live.image.value == _filter_picture(small_photo, edge_figures._kernel_text(edge_figures.PRESET_KERNELS["vertical edge [-1, 1]"]))
    preset.value = "sharpen"           # writes the kernel into the text box: still one redraw
    np.testing.assert_array_equal(edge_figures._parse_kernel(text.value), edge_figures.PRESET_KERNELS["sharpen"])
    assert live.redraws == 2
    assert live.image.value == _filter_picture(small_photo, text.value)
    text.value = "1 2; 3"              # a bad kernel is reported in the picture, not raised
    assert live.redraws == 3 and preset.value == "sharpen"
    assert live.image.value == _filter_picture(small_photo, "1 2; 3")
    text.value = "0 0 0; 0 2 0; 0 0 0"  # an edited kernel stays: the preset does not overwrite it
    assert text.value == "0 0 0; 0 2 0; 0 0 0" and live.redraws == 4


def test_filter_widget_redraws_once_per_change_intact(small_photo):
    live = edge_figures.filter_widget(small_photo)
    preset, text = live.controls["preset"], live.controls["kernel"]
    changes = [(preset, "box blur"), (text, "1 0 -1"), (preset, "Laplacian (all edges)"), (text, "x"),
               (preset, "identity")]
    for n, (control, value) in enumerate(changes, start=2):
        control.value = value
        assert live.redraws == n
        assert live.image.value == _filter_picture(small_photo, text.value)
        assert _intact(live.image.value) == (736, 320)


def test_filter_widget_start(small_photo):
    assert edge_figures.filter_widget(small_photo).controls["preset"].value == "vertical edge [-1, 1]"
    mine = {"blur": np.full((2, 2), 0.25), "id": np.ones((1, 1))}
    live = edge_figures.filter_widget(small_photo, mine)
    assert live.controls["preset"].value == "blur"
    assert live.controls["kernel"].value == edge_figures._kernel_text(mine["blur"]) == "0.25 0.25; 0.25 0.25"
    with pytest.raises(ValueError, match="start must be one of"):
        edge_figures.filter_widget(small_photo, mine, start="sharpen")

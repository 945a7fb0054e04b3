"""Receptive fields: the closed-form recurrence and the exact masks against
PyTorch autograd (the gradient of one unit is non-zero exactly on its
receptive field) and against hand-derived cases."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnlib.receptive_field import (
    gradient_receptive_field,
    layers_to_cover,
    receptive_field,
    receptive_field_mask,
    receptive_field_span,
)
from cnnlib.shapes import conv_output_size


@st.composite
def stacks(draw, max_layers=4):
    n = draw(st.integers(1, max_layers))
    kernels = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    strides = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    paddings = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    dilations = draw(st.lists(st.integers(1, 2), min_size=n, max_size=n))
    return kernels, strides, paddings, dilations


def _last_size(n, kernels, strides, paddings, dilations):
    for k, s, p, d in zip(kernels, strides, paddings, dilations):
        n = conv_output_size(n, k, s, p, d)
    return n


@settings(max_examples=100)  # one autograd pass per example
@given(stacks(), st.integers(1, 24), st.integers(1, 24), st.data())
def test_mask_is_where_the_autograd_gradient_is_nonzero(stack, h, w, data):
    kernels, strides, paddings, dilations = stack
    try:
        oh = _last_size(h, *stack)
        ow = _last_size(w, *stack)
    except ValueError:
        assume(False)
    i = data.draw(st.integers(0, oh - 1))
    j = data.draw(st.integers(0, ow - 1))
    mask = receptive_field_mask((h, w), (i, j), kernels, strides, paddings, dilations)
    grad = gradient_receptive_field((h, w), (i, j), kernels, strides, paddings, dilations)
    assert mask.shape == grad.shape == (h, w)
    np.testing.assert_array_equal(mask, grad != 0)
    assert (grad >= 0).all()


@given(stacks(), st.integers(1, 40), st.data())
def test_span_matches_the_exact_mask_away_from_the_border(stack, n, data):
    kernels, strides, paddings, dilations = stack
    try:
        out = _last_size(n, *stack)
    except ValueError:
        assume(False)
    index = data.draw(st.integers(0, out - 1))
    start, stop = receptive_field_span(index, kernels, strides, paddings, dilations)
    size, jump = receptive_field(kernels, strides, dilations)
    assert stop - start == size
    assert jump == int(np.prod(strides))
    mask = receptive_field_mask(n, index, kernels, strides, paddings, dilations)
    reached = np.flatnonzero(mask)
    if reached.size == 0:  # the unit reads only zeros of the padding, so its span leaves the input
        assert start < 0 or stop > n
        return
    # the mask never leaves the span; it fills the span's ends when they are inside the input
    assert start <= reached.min() and reached.max() < stop
    if start >= 0:
        assert reached.min() == start
    if stop <= n:
        assert reached.max() == stop - 1


@given(stacks())
def test_neighbouring_units_are_one_jump_apart(stack):
    kernels, strides, paddings, dilations = stack
    size, jump = receptive_field(kernels, strides, dilations)
    a = receptive_field_span(3, kernels, strides, paddings, dilations)
    b = receptive_field_span(4, kernels, strides, paddings, dilations)
    assert (b[0] - a[0], b[1] - a[1]) == (jump, jump)


def test_stacked_3x3_layers_hand_derived():
    assert [receptive_field([3] * depth)[0] for depth in (1, 2, 3)] == [3, 5, 7]
    # the centre unit of three all-one 3x3 layers: path counts are the trinomial
    # coefficients (1 + t + t^2)^3 along each axis
    grad = gradient_receptive_field((9, 9), (1, 1), [3, 3, 3])
    trinomial = np.array([1, 3, 6, 7, 6, 3, 1])
    np.testing.assert_array_equal(grad[1:8, 1:8], np.outer(trinomial, trinomial))
    assert grad.sum() == 9**3  # every one of the 3^3 x 3^3 paths ends on a pixel


def test_strides_and_dilation_hand_derived():
    # 3x3 stride 2 then 3x3: 3 + 2*2 = 7, jump 2
    assert receptive_field([3, 3], strides=[2, 1]) == (7, 2)
    # a dilated 3-tap kernel spans 5 pixels but reads only 3 of them
    assert receptive_field([3], dilations=2) == (5, 1)
    np.testing.assert_array_equal(receptive_field_mask(5, 0, [3], dilations=2), [1, 0, 1, 0, 1])
    # zero padding: the corner unit of a padded 3x3 layer reads a 2x2 block of pixels
    mask = receptive_field_mask((4, 4), (0, 0), [3], paddings=1)
    assert mask.sum() == 4 and mask[:2, :2].all()
    assert receptive_field_span((0, 0), [3], paddings=1) == ((-1, 2), (-1, 2))


def test_pairs_give_pairs():
    assert receptive_field([(3, 5), (3, 1)]) == ((5, 5), (1, 1))
    # a tuple applies to every layer: stride 2 down, 1 across, in both layers
    assert receptive_field([3, 3], strides=(2, 1)) == ((7, 5), (4, 1))
    mask = receptive_field_mask((7, 7), (0, 0), [(3, 1)])
    assert mask.sum() == 3 and mask[:3, 0].all()


def test_layers_to_cover_matches_the_recurrence():
    for size in range(1, 70):
        for k in (2, 3, 5):
            for s in (1, 2):
                n = layers_to_cover(size, k, s)
                assert receptive_field([k] * max(n, 1), strides=s)[0] >= size
                if n > 1:
                    assert receptive_field([k] * (n - 1), strides=s)[0] < size


def test_bad_arguments():
    with pytest.raises(TypeError, match="kernel_sizes"):
        receptive_field(3)
    with pytest.raises(ValueError, match="at least one layer"):
        receptive_field([])
    with pytest.raises(ValueError, match="strides has 1 entries but there are 2 layers"):
        receptive_field([3, 3], strides=[2])
    with pytest.raises(ValueError, match="outside the last layer"):
        receptive_field_mask(5, 3, [3])
    with pytest.raises(ValueError, match="outside"):
        gradient_receptive_field((5, 5), (3, 0), [3])
    with pytest.raises(ValueError, match="2-D index"):
        receptive_field_mask((5, 5), 0, [3])
    with pytest.raises(ValueError, match="never grow"):
        layers_to_cover(5, 1)

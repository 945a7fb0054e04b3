"""Chapter 2, dilated convolutions: a dilated kernel is the kernel with D - 1 zeros between its
taps (checked against PyTorch's dilation and cnnlib.conv2d), and the receptive fields of the
chapter's three stacks (checked against autograd on real stacks)."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import conv2d, conv_output_size
from cnnlib.receptive_field import gradient_receptive_field, layers_to_cover, receptive_field


def _zero_inserted(k, d):
    f = k.shape[-1]
    wide = np.zeros(k.shape[:-2] + (d * (f - 1) + 1,) * 2)
    wide[..., ::d, ::d] = k
    return wide


@settings(max_examples=40, deadline=None)
@given(f=st.integers(1, 4), d=st.integers(1, 3), extra=st.integers(0, 5), c_in=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_dilation_is_a_zero_inserted_kernel(f, d, extra, c_in, seed):
    rng = np.random.default_rng(seed)
    side = d * (f - 1) + 1 + extra
    x, k = rng.normal(size=(1, c_in, side, side + 1)), rng.normal(size=(2, c_in, f, f))
    torch_dilated = F.conv2d(torch.tensor(x), torch.tensor(k), dilation=d).numpy()
    wide = F.conv2d(torch.tensor(x), torch.tensor(_zero_inserted(k, d))).numpy()
    assert np.allclose(torch_dilated, wide)
    assert np.allclose(conv2d(x, k, dilation=d), wide)
    assert torch_dilated.shape[-2] == conv_output_size(side, f, dilation=d) == side - d * (f - 1)


def test_the_chapters_stacks():
    found = {}
    for dilations in ([1, 1, 1], [1, 2, 4], [2, 2, 2]):
        paths = gradient_receptive_field((20, 20), (0, 0), [3, 3, 3], dilations=dilations)
        rows, cols = np.flatnonzero(paths.any(axis=1)), np.flatnonzero(paths.any(axis=0))
        span = rows[-1] - rows[0] + 1
        assert span == cols[-1] - cols[0] + 1 == receptive_field([3, 3, 3], dilations=dilations)[0]
        assert span == 1 + sum(2 * d for d in dilations)
        found[tuple(dilations)] = (span, int((paths > 0).sum()))
    assert found == {(1, 1, 1): (7, 49), (1, 2, 4): (15, 225), (2, 2, 2): (13, 49)}
    assert layers_to_cover(15, 3) == 7

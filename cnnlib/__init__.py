"""cnnlib: the small library behind the course on parameter sharing in CNNs.

NumPy is the reference implementation that students read; PyTorch is the
oracle in the tests and the trainer in the experiments. The package exposes
the numerical core; every other module is imported by name
(``from cnnlib import counting``).

Where each concept lives, in the order of the dependencies (a module imports
only from the groups above it; ``cnnlib/README.md`` has the picture):

**The numerical core** (NumPy; exposed here)
    :mod:`.shapes` (output sizes, argument checks), :mod:`.validate` (input
    checks), :mod:`.conv` (convolution: naive loops beside the vectorised
    im2col version, forward and backward), :mod:`.pool` (pooling),
    :mod:`.matrix` (the convolution as a sparse matrix), :mod:`.shift` (the
    shift of equivariance), :mod:`.layers` (``LocallyConnected2d``,
    ``ChannelSharedConv2d``: torch modules).

**Measuring**
    :mod:`.counting` (parameters and multiply-adds, by formula and from real
    modules), :mod:`.timing` (the one timer), :mod:`.formatting` (numbers as
    the prose writes them), :mod:`.receptive_field` (receptive fields).

**Data, networks, training**
    :mod:`.data` (digits, photographs), :mod:`.models` (every network of the
    book), :mod:`.train` (the one training loop, and how every network is
    trained).

**The chapters' computations**
    :mod:`.locality` (1), :mod:`.sharing` (2), :mod:`.equivariance` (3),
    :mod:`.invariance` (3: what pooling keeps of a shift), :mod:`.edges` (4), :mod:`.inception` (5), :mod:`.experiments` (3, 6: the
    experiments on digits).

**On top**
    :mod:`.figures` (figures and widgets, one module per chapter),
    :mod:`.claims` (the claims audit: ``python -m cnnlib.claims``),
    :mod:`.bench` (``python -m cnnlib.bench``).
"""

from cnnlib.conv import (col2im, conv2d, conv2d_backward, conv2d_backward_naive, conv2d_naive, im2col, pad2d,
                         pad2d_backward)
from cnnlib.layers import ChannelSharedConv2d, LocallyConnected2d
from cnnlib.matrix import conv2d_as_matrix
from cnnlib.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from cnnlib.shapes import conv_output_size
from cnnlib.shift import shift

__all__ = [
    "conv2d",
    "conv2d_naive",
    "conv2d_backward",
    "conv2d_backward_naive",
    "im2col",
    "col2im",
    "pad2d",
    "pad2d_backward",
    "conv_output_size",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "conv2d_as_matrix",
    "LocallyConnected2d",
    "ChannelSharedConv2d",
    "shift",
]

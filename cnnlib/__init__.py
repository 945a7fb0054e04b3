"""cnnlib: the small library behind the course on parameter sharing in CNNs.

NumPy is the reference implementation that students read; PyTorch is the
oracle in the tests and the trainer in the experiments.
"""

from cnnlib import counting
from cnnlib.shapes import conv_output_size

__all__ = ["counting", "conv_output_size"]

# The numerical core (NumPy), checked against PyTorch in the tests.
from cnnlib.conv import conv2d, conv2d_backward, conv2d_backward_naive, conv2d_naive, pad2d, pad2d_backward
from cnnlib.layers import ChannelSharedConv2d, LocallyConnected2d
from cnnlib.matrix import conv2d_as_matrix
from cnnlib.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from cnnlib.shift import shift

__all__ += [
    "conv2d",
    "conv2d_naive",
    "conv2d_backward",
    "conv2d_backward_naive",
    "pad2d",
    "pad2d_backward",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "conv2d_as_matrix",
    "LocallyConnected2d",
    "ChannelSharedConv2d",
    "shift",
]

# Data and the one training loop of the experiments (real digits, deterministic training).
from cnnlib import data, train  # noqa: E402
__all__ += ["data", "train"]

# Chapters 1 and 2: locality, receptive fields, weight sharing (figures: cnnlib.diagrams).
from cnnlib import locality, receptive_field, sharing  # noqa: E402

__all__ += ["locality", "receptive_field", "sharing"]

# 1×1 convolutions, Inception, GoogLeNet and AlexNet as torch modules, with their counts.
from cnnlib import inception  # noqa: E402
__all__ += ["inception"]

# Chapter 4: fig. 9.6 of Goodfellow et al. (edge detection), its counts, timings and kernel learning.
from cnnlib import edges  # noqa: E402
__all__ += ["edges"]

# Chapter 3: translation equivariance and invariance, measured; blur pooling (figures: cnnlib.shift_widget).
from cnnlib import equivariance  # noqa: E402
__all__ += ["equivariance"]

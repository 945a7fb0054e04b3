"""cnnlib: the small library behind the course on parameter sharing in CNNs.

NumPy is the reference implementation that students read; PyTorch is the
oracle in the tests and the trainer in the experiments.
"""

from cnnlib import counting
from cnnlib.shapes import conv_output_size

__all__ = ["counting", "conv_output_size"]

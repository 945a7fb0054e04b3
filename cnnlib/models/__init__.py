"""The networks of the book, as ``torch.nn`` modules.

================================  ===========================================  ======================
network                           what it shows                                module
================================  ===========================================  ======================
fully connected, locally          the constraint on the layers, and nothing    :mod:`.digits`
connected, convolutional          else, on the digits (chapter 6)
``small_cnn``: max pool, blur     downsampling and read-out, against shifts    :mod:`.digits`
pool, flatten                     (chapter 3)
``BlurPool2d``, ``MaxBlurPool2d``  anti-aliased downsampling (Zhang 2019)       :mod:`.blur`
``Inception``, ``GoogLeNet``,     1×1 reductions, counted on real modules      :mod:`.imagenet`
``AlexNet``                       (chapter 5)
``vgg_stack``, ``layer_costs``    parameters against activations, per layer    :mod:`.vgg`
                                  (chapter 5)
================================  ===========================================  ======================

The digit classifiers are built by name, ``build(kind, seed=..., **options)``
(:data:`KINDS`, :data:`POOLING_KINDS`), so that the experiments
(:mod:`cnnlib.experiments`) can train any of them the same way. The modules
depend on :mod:`cnnlib.layers` (``LocallyConnected2d``) and
:mod:`cnnlib.counting` only; counting a module is :mod:`cnnlib.counting`'s job.
"""

from cnnlib.models.blur import BlurPool2d, MaxBlurPool2d
from cnnlib.models.digits import (KINDS, POOLING_KINDS, build, convolutional, counted_parameters,
                                  fully_connected, geometry, locally_connected, small_cnn, tied_locally_connected)
from cnnlib.models.imagenet import (GOOGLENET_TABLE, AlexNet, GoogLeNet, GoogLeNetRow, Inception, Layer,
                                    inception_layers, layer_output_shapes, parameter_depth)

__all__ = [
    "KINDS", "POOLING_KINDS", "build", "convolutional", "locally_connected", "fully_connected",
    "small_cnn", "geometry", "tied_locally_connected", "counted_parameters",
    "BlurPool2d", "MaxBlurPool2d",
    "Layer", "inception_layers", "Inception", "GoogLeNetRow", "GOOGLENET_TABLE", "GoogLeNet", "AlexNet",
    "parameter_depth", "layer_output_shapes",
]

"""Figures and widgets of the chapters, apart from the computations they show.

One module per chapter's figures, named after the module of computations it
draws on, plus what several chapters share:

======================  ===================================================  ==========
module                  figures                                              chapters
======================  ===================================================  ==========
:mod:`.connections`     who is connected to whom, with which weight          1, 2
:mod:`.locality`        receptive fields, parameter growth                   1
:mod:`.sharing`         the sliding window (frames and widget), coverage     2
:mod:`.equivariance`    shifted feature maps (figure and widget), errors     3
:mod:`.edges`           the photograph, the matrix, timings, filter widget   4
:mod:`.inception`       the Inception module with its costs, reductions      5
:mod:`.experiments`     accuracy against training size and position          3, 6
:mod:`.live`            ``LiveFigure``: a figure redrawn from controls       2, 3, 4
======================  ===================================================  ==========

Figures import the computations (``cnnlib.<module>``), never the other way
round; nothing in ``cnnlib`` outside this package imports matplotlib or
ipywidgets at module level. Widgets need a running kernel; in the static book
they show pre-drawn frames or a note (:mod:`.live`).

Importing this package applies the book's figure style (:mod:`._style`): SVG
output in a kernel, white backgrounds (dark mode), readable font sizes,
colour-blind-safe colours.
"""

from cnnlib.figures import _style

_style.apply()

"""A figure that redraws from controls: once per change, never half drawn.

The chapters' interactive figures (the sliding window, the shift, the filter
picker) all follow one pattern, kept here:

* the picture is a PNG in an ``ipywidgets.Image``, drawn by the chapter's
  ``draw(fig, **values)`` on a fresh :class:`matplotlib.figure.Figure`
  (the object-oriented API: no pyplot state, no ``Output`` widget);
* one observer on the controls redraws once per change; a change that the
  redraw itself makes (``constrain`` moving a dependent slider) does not
  trigger a second redraw;
* redraws are serialised by a lock and always read the controls' current
  values, so the picture is intact and up to date even when JupyterLab
  delivers widget messages on several threads at once (its
  ``commsOverSubshells`` setting).

Usage::

    live = LiveFigure(draw, {"shift": widgets.IntSlider(0, 0, 8)})
    live            # in a notebook: the controls above the picture

``draw(fig, **values)`` receives an empty figure and the controls' values by
name; ``constrain(controls)`` (optional) adjusts dependent controls, e.g. the
range of a position slider after the stride changed.
"""

import io
import threading

from matplotlib.figure import Figure

__all__ = ["LiveFigure", "_render_png"]


def _render_png(draw, values, figsize=(6.0, 3.0), dpi=100):
    """PNG bytes of ``draw(fig, **values)`` on a fresh figure of ``figsize`` inches."""
    fig = Figure(figsize=figsize, dpi=dpi)
    draw(fig, **values)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LiveFigure:
    """Controls and the picture they drive, as one displayable widget.

    Attributes: ``controls`` (name -> widget), ``image`` (the
    ``ipywidgets.Image``), ``widget`` (controls above image), ``redraws``
    (how many times the picture was drawn, the first time included).
    """

    def __init__(self, draw, controls, constrain=None, figsize=(6.0, 3.0), dpi=100):
        import ipywidgets as widgets  # only where a figure is live

        if not controls:
            raise ValueError("LiveFigure needs at least one control")
        self.draw, self.controls, self.constrain = draw, dict(controls), constrain
        self.figsize, self.dpi = figsize, dpi
        self.redraws = 0
        self._lock = threading.RLock()
        self._busy = False
        if constrain is not None:
            constrain(self.controls)
        self.image = widgets.Image(format="png", value=self._render())
        for control in self.controls.values():
            control.observe(self._changed, "value")
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())), self.image])

    def values(self):
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _render(self):
        self.redraws += 1
        return _render_png(self.draw, self.values(), self.figsize, self.dpi)

    def _changed(self, _change):
        with self._lock:
            if self._busy:          # a change made by constrain() below: the redraw in progress covers it
                return
            self._busy = True
            try:
                if self.constrain is not None:
                    self.constrain(self.controls)
                self.image.value = self._render()
            finally:
                self._busy = False

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

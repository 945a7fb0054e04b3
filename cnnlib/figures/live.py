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

In the static book there is no kernel behind the widget, so a moved slider
would change nothing. A LiveFigure therefore also offers an HTML version of
itself (``text/html``, which the book's configuration ranks above the widget
view; JupyterLab and Colab keep the live widget):

* with ``static={"name": [values, ...], ...}``, every combination of those
  values is drawn at build time (PNG frames at ``static_dpi``, in the book's
  figure style and fitted to the column, :func:`cnnlib.figures._style.fit`) and the page
  gets plain HTML controls whose few lines of script show the matching frame:
  offline, no Python. ``static_draw(fig, **static_values)`` draws a frame
  when the static controls are not the live ones (default: ``draw`` with the
  other controls at their current values). Controls left out of ``static``
  (a free-text kernel, say) are named in a note: they need Jupyter.
* without ``static``, the HTML version is that note alone, and the chapter
  shows a static figure beside it.
"""

import base64
import html
import io
import itertools
import json
import threading

from matplotlib.figure import Figure

__all__ = ["LiveFigure", "_render_png"]

# The most frames a static figure may carry: each is a PNG inside the page.
MAX_STATIC_FRAMES = 40


def _render_png(draw, values, figsize=(6.0, 3.0), dpi=100):
    """PNG bytes of ``draw(fig, **values)`` on a fresh figure of ``figsize`` inches."""
    fig = Figure(figsize=figsize, dpi=dpi)
    draw(fig, **values)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class LiveFigure:
    """Controls and the picture they drive, as one displayable widget.

    Attributes: ``controls`` (name -> widget), ``image`` (the
    ``ipywidgets.Image``), ``widget`` (controls above image), ``redraws``
    (how many times the picture was drawn, the first time included).
    """

    def __init__(self, draw, controls, constrain=None, figsize=(6.0, 3.0), dpi=100, static=None,
                 static_draw=None, static_dpi=150):
        import ipywidgets as widgets  # only where a figure is live

        if not controls:
            raise ValueError("LiveFigure needs at least one control")
        self.draw, self.controls, self.constrain = draw, dict(controls), constrain
        self.figsize, self.dpi = figsize, dpi
        self.static = {name: list(values) for name, values in (static or {}).items()}
        unknown = set(self.static) - set(self.controls)
        if unknown:
            raise ValueError(f"static names controls that do not exist: {sorted(unknown)}")
        if static_draw is None and self.static and set(self.static) != set(self.controls):
            fixed = {name: c.value for name, c in self.controls.items() if name not in self.static}
            static_draw = lambda fig, **values: draw(fig, **fixed, **values)  # noqa: E731
        self.static_draw = static_draw if static_draw is not None else draw
        self.static_dpi = static_dpi
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

    def _labels(self):
        return {name: (getattr(control, "description", "") or name) for name, control in self.controls.items()}

    def _static_html(self):
        """The HTML version: pre-drawn frames and plain controls, or a note (see the module docstring)."""
        labels = self._labels()
        live_only = [labels[name] for name in self.controls if name not in self.static]
        if not self.static:
            return _frames_page({}, {}, {}, live_only)
        frames = {}
        for combination in itertools.product(*self.static.values()):
            values = dict(zip(self.static, combination))
            frames[_key(combination)] = _palette_png(_render_frame(self.static_draw, values, self.figsize,
                                                                   self.static_dpi), self.static_dpi)
        start = {name: self.controls[name].value for name in self.static}
        return _frames_page(self.static, start, frames, live_only, {name: labels[name] for name in self.static})

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/html"] = self._static_html()
        return bundle


def _render_frame(draw, values, figsize, dpi):
    """PNG bytes of one static frame: ``draw(fig, **values)`` in the book's style, fitted to the
    column (:func:`cnnlib.figures._style.fit`: no text under its minimum), at ``dpi``."""
    from cnnlib.figures._style import fit

    fig = Figure(figsize=figsize)
    draw(fig, **values)
    fit(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _palette_png(png, dpi=None, colours=256):
    """``png`` re-encoded with a palette of ``colours`` (a figure has few): about half the bytes.
    ``dpi`` is recorded in the file (its pHYs chunk), so a reader of the file knows the scale."""
    from PIL import Image

    out = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(
        out, "PNG", optimize=True, **extra)
    return out.getvalue()


def _css_width(png):
    """The width at which ``png`` shows its figure at natural size, in CSS px (96 per inch): its
    pixels scaled by the dpi its pHYs chunk records (96 when absent). The page may show it
    narrower (``max-width: 100%``), never wider."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    dpi = image.info.get("dpi", (96, 96))[0] or 96
    return round(image.width * 96 / dpi)


def _key(values):
    """The frame key of a combination of control values, as the page's script builds it."""
    return "|".join(str(v) for v in values)


_SCRIPT = """(function () {
  var root = document.getElementById(%(id)s);
  var frames = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  var controls = root.querySelectorAll("[data-control]");
  var image = root.querySelector("img");
  function show() {
    var key = Array.prototype.map.call(controls, function (c) {
      var out = root.querySelector("output[for='" + c.id + "']");
      var value = c.tagName === "SELECT" ? c.value : c.dataset.values.split(",")[c.value];
      if (out) { out.textContent = value; }
      return value;
    }).join("|");
    if (frames[key]) { image.src = "data:image/png;base64," + frames[key]; }
  }
  Array.prototype.forEach.call(controls, function (c) { c.addEventListener("input", show); });
  show();
})();"""

_COUNTER = itertools.count()


def _frames_page(static, start, frames, live_only=(), labels=None):
    """Frames and plain HTML controls that switch between them, with no Python behind them.

    ``static`` maps a control's name to its values (a range slider for numbers, a
    drop-down list otherwise), ``start`` to its first value, ``frames`` maps
    :func:`_key` of each combination to PNG bytes; ``live_only`` names the
    controls that only work in Jupyter (said in a note). Returns one HTML
    fragment: a ``div.static-controls`` with the controls, the picture, the
    frames as JSON and a few lines of script.
    """
    uid = f"static-controls-{next(_COUNTER)}"
    labels = labels or {name: name for name in static}
    parts = [f'<div class="static-controls" id="{uid}">']
    if static:
        if len(frames) > MAX_STATIC_FRAMES:
            raise ValueError(f"{len(frames)} frames: at most {MAX_STATIC_FRAMES} fit in a page")
        parts.append('<div class="static-controls-row">')
        for n, (name, values) in enumerate(static.items()):
            cid = f"{uid}-{n}"
            label = html.escape(str(labels[name]))
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                joined = ",".join(str(v) for v in values)
                parts.append(f'<label for="{cid}">{label}</label> <input type="range" id="{cid}" data-control '
                             f'min="0" max="{len(values) - 1}" step="1" value="{values.index(start[name])}" '
                             f'data-values="{joined}"> <output for="{cid}">{start[name]}</output>')
            else:
                options = "".join(f'<option{" selected" if v == start[name] else ""}>{html.escape(str(v))}</option>'
                                  for v in values)
                parts.append(f'<label for="{cid}">{label}</label> <select id="{cid}" data-control>{options}</select>')
        parts.append("</div>")
        first = frames[_key(start[name] for name in static)]
        parts.append(f'<img alt="the figure for the chosen values" width="{_css_width(first)}" '
                     f'src="data:image/png;base64,{base64.b64encode(first).decode()}">')
        encoded = {key: base64.b64encode(png).decode() for key, png in frames.items()}
        parts.append(f'<script type="application/json">{json.dumps(encoded)}</script>')
        parts.append(f"<script>{_SCRIPT % {'id': json.dumps(uid)}}</script>")
    if not static:
        parts.append('<p class="static-controls-note">This figure has controls that need Python: it is live in '
                     "Jupyter (open the chapter with the launch button at the top of the page). The static "
                     "figure beside it shows the same thing.</p>")
    elif live_only:
        what = ", ".join(f"<em>{html.escape(str(x))}</em>" for x in live_only)
        parts.append(f'<p class="static-controls-note">In Jupyter you can also change {what} (open the chapter '
                     "with the launch button at the top of the page).</p>")
    parts.append("</div>")
    return "".join(parts)

"""A real JupyterLab for tests: started on 127.0.0.1 in a bare folder, driven by Chromium.

Used by ``test_jupyterlab.py``. The folder holds the student notebooks that
``_ext/course_notebooks.py`` generates, outside the repository; the lab's own
settings come from the course environment (``make`` installs
``.jupyter/overrides.json``), and the test adds user settings that render every
cell (``windowingMode: none``) and, on purpose, the worst case for widgets:
comm messages on kernel subshells (``commsOverSubshells: perCommTarget``).
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from jupyter_client import BlockingKernelClient
from jupyter_core.paths import jupyter_runtime_dir

USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    "@jupyterlab/apputils-extension/kernels-settings.jupyterlab-settings": {"commsOverSubshells": "perCommTarget"},
}

# Chromium: draw an <img> on a canvas and report its size and how much of it is not background.
IMAGE_STATS_JS = """img => {
  if (!img.complete || !img.naturalWidth) return {w: 0, h: 0, ink: 0};
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let ink = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && (d[i] < 235 || d[i+1] < 235 || d[i+2] < 235)) ink++;
  return {w: c.width, h: c.height, ink: ink / (c.width * c.height)};
}"""

# Count how often an <img>'s src changes from now on (one observer per image, however often called).
WATCH_SRC_JS = """img => {
  img.__srcChanges = 0;
  if (!img.__watched) {
    img.__watched = true;
    new MutationObserver(() => { img.__srcChanges += 1; }).observe(img, {attributes: true, attributeFilter: ['src']});
  }
}"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``with Lab(folder) as lab:`` a JupyterLab serving ``folder``; ``lab.url(name)`` opens a notebook."""

    def __init__(self, folder, settings):
        self.folder, self.settings = Path(folder), Path(settings)
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.process = None

    def __enter__(self):
        for name, value in USER_SETTINGS.items():
            path = self.settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(self.settings))
        self.log = open(self.settings / "lab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.folder}", "--ServerApp.open_browser=False",
             f"--LabApp.workspaces_dir={self.settings / 'workspaces'}", "--LabApp.expose_app_in_browser=True"],
            cwd=self.folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                self.api("status")
                return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("JupyterLab did not start: " + (self.settings / "lab.log").read_text()[-3000:])

    def __exit__(self, *exc):
        self.shut_down_kernels()
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def shut_down_kernels(self):
        """End every notebook session and its kernel."""
        for session in self.api("sessions"):
            self._request(f"api/sessions/{session['id']}", method="DELETE")

    def _request(self, path, method="GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return json.loads(body) if body else None

    def api(self, path):
        return self._request(f"api/{path}")

    def url(self, notebook):
        # ?reset: a fresh workspace, so no notebook opened earlier comes back in another tab
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?reset&token={self.token}"

    def kernel_of(self, notebook):
        """A client of the kernel that runs ``notebook`` (the same kernel the page drives)."""
        (session,) = [s for s in self.api("sessions") if s["path"].endswith(notebook)]
        client = BlockingKernelClient(connection_file=str(
            Path(jupyter_runtime_dir()) / f"kernel-{session['kernel']['id']}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client

    def kernel_states(self):
        """The execution state (``idle``, ``busy``, ``dead`` …) of every running notebook's kernel."""
        return [s["kernel"]["execution_state"] for s in self.api("sessions")]


def _kernel_json(client, code):
    """Run ``code`` (which prints one JSON document) in the kernel on this client's own channel; its value."""
    out = []
    reply = client.execute_interactive(
        code, store_history=False, timeout=60,
        output_hook=lambda msg: out.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(out))


def kernel_values(client, names):
    """``{name: text}`` of variables in a running kernel, read on a channel of its own.

    The text is ``str(value)``, or ``"latex:" + value._repr_latex_()`` for a value
    that displays as LaTeX (``IPython.display.Math``), which jupyterlab-myst typesets."""
    code = ("import json as _j\n"
            "def _text(v):\n"
            "    latex = getattr(v, '_repr_latex_', None)\n"
            "    return 'latex:' + latex() if latex and not isinstance(v, str) else str(v)\n"
            f"print(_j.dumps({{n: _text(globals()[n]) for n in {sorted(set(names))!r}}}))")
    return _kernel_json(client, code)


# The open notebook's code cells as the lab's model holds them (window.jupyterapp: expose_app_in_browser).
# A cell queued or running has no execution count; the DOM prompt is no guide: a cell whose
# input is hidden or that sits under a folded heading has no prompt drawn.
CODE_CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const error = c.outputs.toJSON().find(o => o.output_type === 'error');
    out.push({index: i, count: c.executionCount, error: error ? error.ename + ': ' + error.evalue : null});
  }
  return out;
}"""


def kernel_redraws(client):
    """How many times the kernel's live figures (``cnnlib.figures.live.LiveFigure``) have drawn, in all."""
    code = ("import gc as _gc, json as _j; print(_j.dumps(sum(o.redraws for o in _gc.get_objects() "
            "if type(o).__name__ == 'LiveFigure')))")
    return _kernel_json(client, code)


def run_all(page, lab, timeout=int(os.environ.get("CNNLIB_RUN_ALL_TIMEOUT", 600))):
    """Run → Run All Cells, then wait until every code cell has run and the kernel is idle; returns seconds.

    Done means: every code cell of the notebook's model has an execution count
    (queued and running cells have none), and the kernel reports idle twice in a row."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    start, idle, waiting = time.time(), 0, []
    while time.time() - start < timeout:
        time.sleep(1)
        cells = page.evaluate(CODE_CELLS_JS)
        errors = [(c["index"], c["error"]) for c in cells if c["error"]]
        if errors:
            raise RuntimeError(f"Run All stopped at an error (cell, error): {errors[:3]}")
        states = lab.kernel_states()
        if not states or "dead" in states:
            raise RuntimeError(f"the notebook's kernel is gone (states: {states})")
        waiting = [c["index"] for c in cells if c["count"] is None]
        idle = idle + 1 if not waiting and set(states) == {"idle"} else 0
        if idle >= 2:
            return time.time() - start
    raise TimeoutError(f"Run All did not finish in {timeout} s; cells not run: {waiting[:10]}, "
                       f"kernel states: {lab.kernel_states()}")

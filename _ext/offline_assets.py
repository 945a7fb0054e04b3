"""A Sphinx extension that keeps the rendered book self-contained.

Readers open the book on networks where CDNs are slow or blocked. MathJax is
served by ``sphinx-mathjax-offline``; the widget manager and require.js are
installed at build time into ``_vendor/`` by ``scripts/vendor_js.py`` (``make
vendor``; pinned, from the npm registry, never committed) and ``_config.yml``
points ``nb_ipywidgets_js`` at ``../_vendor/...`` (Sphinx puts every local
script path under ``_static/``; ``../`` steps out of it). This extension

* copies ``_vendor/`` into the HTML output (``_build/html/_vendor/``) at the
  start of every HTML build. It is not under ``_static``: Jupyter Book would load
  every file found there on every page;
* fails the build when a page loads a script or style sheet from another host,
  or when a page uses widgets and ``_vendor/`` was never installed;
* tells require.js where the widget manager lies (so that its icon fonts
  load), lets the manager typeset widget labels with MathJax 3, and drops the duplicate inline scripts that Jupyter Book's extensions add
  (a ``const`` declared twice is a console error on every page).
"""

import json
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = "_vendor"


def _is_remote(uri):
    return "://" in uri or uri.startswith("//")


def check_config(app, config):
    remote = [uri for uri in config.nb_ipywidgets_js if _is_remote(uri)]
    if config.mathjax_path and _is_remote(config.mathjax_path):
        remote.append(config.mathjax_path)
    if remote:
        raise ExtensionError(f"offline_assets: the book would load {remote} from another host")


def _dedupe(scripts):
    """The scripts in load order, each (file, attributes) once.

    Under Jupyter Book, sphinx-thebe's and sphinx-togglebutton's inline
    configuration reaches every page twice (Sphinx does not see the two
    copies as equal), and the second ``const THEBE_JS_URL = ...`` is a
    SyntaxError logged on every page.
    """
    seen, kept = set(), []
    for js in sorted(scripts, key=lambda js: js.priority):
        key = (str(js.filename or ""), tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    return kept


# The widget manager (ipywidgets 8) typesets widget labels with MathJax 2's
# API, ``MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])``; the book
# serves MathJax 3, which has no ``Hub``: on a page with both, every widget
# label throws "Cannot read properties of undefined (reading 'Queue')". This
# listener runs after MathJax 3 has loaded (deferred scripts run before
# DOMContentLoaded) and before the widgets render (it is registered first).
MATHJAX2_SHIM = """document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || !mj.startup || mj.Hub) return;
  mj.Hub = {Queue: function () {
    Array.prototype.forEach.call(arguments, function (job) {
      if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
        mj.startup.promise = mj.startup.promise.then(function () { return mj.typesetPromise([job[2]]); });
      }
    });
  }};
});"""


def _widget_manager_setup(js, pathto):
    """An inline script, right after require.js, for the widget manager.

    It tells require.js where the manager lies: its AMD modules
    (``@jupyter-widgets/controls``, ``.../html-manager/dist/libembed-amd``)
    find their icon fonts next to their own URL, which is otherwise relative
    to each page (``chapters/@jupyter-widgets/*.woff2``: 404). And it lets the
    manager typeset with MathJax 3 (``MATHJAX2_SHIM``)."""
    target = pathto(f"{VENDOR}/html-manager", resource=True)
    paths = {"@jupyter-widgets": target, "@jupyter-widgets/html-manager/dist": target}
    body = f"require.config({{paths: {json.dumps(paths)}}});\n{MATHJAX2_SHIM}"
    return type(js)("", priority=js.priority, body=body)


def page_assets(app, pagename, templatename, context, doctree):
    """Per page: refuse remote assets, drop duplicate scripts, configure require.js."""
    scripts = context.get("script_files")
    if not scripts:
        return
    files = [str(getattr(a, "filename", a) or "") for a in scripts]
    files += [str(getattr(a, "filename", a) or "") for a in context.get("css_files", [])]
    remote = [f for f in files if _is_remote(f)]
    if remote:
        raise ExtensionError(f"offline_assets: page {pagename} would load {remote} from another host")
    kept = _dedupe(scripts)
    for i, js in enumerate(kept):
        if str(js.filename or "").endswith(f"{VENDOR}/requirejs/require.js"):
            kept.insert(i + 1, _widget_manager_setup(js, context["pathto"]))
            app.env.offline_assets_pages = getattr(app.env, "offline_assets_pages", set()) | {pagename}
            break
    scripts[:] = kept


def copy_vendor(app):
    """Copy _vendor/ into the output first, so that pages get its checksums (?v=...)."""
    if app.builder.format != "html":
        return
    source = Path(app.srcdir) / VENDOR
    if source.is_dir():
        shutil.copytree(source, Path(app.outdir) / VENDOR, dirs_exist_ok=True)
        logger.info(f"offline_assets: copied {VENDOR}/ into the HTML output")


def check_vendor(app, exception):
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    pages = sorted(getattr(app.env, "offline_assets_pages", ()))
    if pages and not (Path(app.srcdir) / VENDOR).is_dir():
        raise ExtensionError(
            f"offline_assets: {VENDOR}/ is missing but {pages} load the widget manager "
            f"from it: run `make vendor` (python scripts/vendor_js.py)"
        )


def setup(app):
    app.connect("config-inited", check_config, priority=900)
    app.connect("html-page-context", page_assets, priority=900)
    app.connect("builder-inited", copy_vendor)
    app.connect("build-finished", check_vendor)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}

"""Serve a built book on 127.0.0.1 and look at its pages in a real browser.

Used by ``test_browser.py``. The browser is Debian's Chromium driven by
Playwright's Python package (no browser download); every request to a host
other than the local server is aborted and recorded, so a page that needs the
network fails its test the way it would fail a reader who has none.
"""

import functools
import html.parser
import http.server
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# pydata-sphinx-theme logs this once on a fresh profile (no stored theme mode).
BENIGN_CONSOLE_ERRORS = {"Got invalid theme mode: . Resetting to auto."}
JUPYTEXT_HEADER = "---\njupytext"


# ---------------------------------------------------------------- the book

def toc_pages(toc_path=ROOT / "_toc.yml"):
    """Every document of ``_toc.yml`` (root first), at any depth of the TOC."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return [str(Path(p).with_suffix("")) for p in pages]


def is_notebook(page, source_root=ROOT):
    """A chapter that executes (MyST notebook with a jupytext header)."""
    source = Path(source_root) / f"{page}.md"
    return source.exists() and source.read_text().startswith(JUPYTEXT_HEADER)


def html_pages(html_root):
    """Every HTML page of a build (not the theme's snippets under _static/)."""
    root = Path(html_root)
    skip = {"_static", "_vendor", "_sources", "_images"}
    return sorted(
        p for p in root.rglob("*.html")
        if not (set(p.relative_to(root).parts[:-1]) & skip)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


class _AssetParser(html.parser.HTMLParser):
    """Collects what an HTML page makes the browser fetch, and its ids."""

    FETCHING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut",
                          "apple-touch-icon", "manifest", "prefetch"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets = []  # (tag, url)
        self.ids = set()
        self.styles = []  # text of <style> elements and style="" attributes
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if attrs.get("style"):
            self.styles.append(attrs["style"])
        if tag == "style":
            self._in_style = True
        url = None
        if tag in {"script", "img", "iframe", "source", "video", "audio", "embed", "track", "input"}:
            url = attrs.get("src")
        elif tag == "link":
            rels = set((attrs.get("rel") or "").lower().split())
            if rels & self.FETCHING_LINK_RELS:
                url = attrs.get("href")
        elif tag == "object":
            url = attrs.get("data")
        if url:
            self.assets.append((tag, url))
        if tag in {"img", "source"} and attrs.get("srcset"):
            for candidate in attrs["srcset"].split(","):
                if candidate.strip():
                    self.assets.append((tag, candidate.split()[0]))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


@functools.lru_cache(maxsize=None)
def parse_html(path):
    parser = _AssetParser()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return parser


CSS_URL = re.compile(r"""(?:@import\s+(?:url\()?|url\()\s*['"]?([^'")\s]+)""", re.I)


def css_urls(text):
    """The URLs a style sheet imports or loads (fonts, images), comments removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return CSS_URL.findall(text)


def is_remote(url):
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url.strip(), re.I))


# -------------------------------------------------------------- the server

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class BookServer:
    """``http.server`` in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, root):
        self.root = Path(root)
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, page):
        return self.base + f"{page}.html"

    def file_for(self, url):
        """The file a local URL serves, or None for another host."""
        if not url.startswith(self.base):
            return None
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        target = self.root / path
        if path == "" or path.endswith("/"):
            target = target / "index.html"
        return target


# ------------------------------------------------------------- the browser

def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class PageReport:
    """What a reader's browser saw on one page."""

    name: str
    url: str
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    external_requests: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    screenshot: Path | None = None


# Runs in the page once it has loaded, MathJax has typeset and widgets have
# rendered. Everything the tests check in the DOM is collected here, in one go.
COLLECT_JS = r"""
async () => {
  const article = document.querySelector('article.bd-article') || document.body;

  // Images: wait for every one (lazy ones included), then record the broken
  // and the ones without a real description (Sphinx's default alt is the URL).
  const images = [...document.images];
  for (const img of images) img.loading = 'eager';
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done);
                            setTimeout(done, 10000); })));
  const imageProblems = [];
  let widgetImages = 0;
  for (const img of images) {
    const src = img.getAttribute('src') || '';
    const alt = (img.getAttribute('alt') || '').trim();
    const base = src.split('/').pop();
    if (!(img.naturalWidth > 0)) imageProblems.push(`not loaded: ${src.slice(0, 100)}`);
    // The widget manager draws a widget's output images without alt text; the
    // static figure beside every widget (a rule of the book) describes them.
    if (img.closest('.widget-subarea')) { widgetImages += 1; continue; }
    if (!alt) imageProblems.push(`no alt text: ${src.slice(0, 100)}`);
    else if (alt === src || alt.endsWith(base) || /\.(png|jpe?g|svg|gif|webp)$/i.test(alt))
      imageProblems.push(`alt text is a file name (${alt}): ${src}`);
  }

  // Math: every element Sphinx marked as math holds MathJax output; no TeX
  // error boxes; no raw TeX left in the text a reader sees.
  const mathNodes = [...document.querySelectorAll('.math')];
  const untypeset = mathNodes.filter(el => !el.querySelector('mjx-container'))
                             .map(el => el.textContent.trim().slice(0, 80));
  const mathErrors = [...document.querySelectorAll('mjx-merror')].map(el => {
    const message = el.getAttribute('data-mjx-error') || el.textContent;
    const items = (window.MathJax && MathJax.startup && MathJax.startup.document
                   && MathJax.startup.document.math) || [];
    const item = [...items].find(i => i.typesetRoot && i.typesetRoot.contains(el));
    return `${message} in: ${item ? item.math.slice(0, 160) : '?'}`;
  });
  const rawTex = [];
  const skip = 'script, style, pre, code, textarea, mjx-container, .highlight, .MathJax_Preview';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texPattern = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$[^$\s][^$]*[\\^_{][^$]*\$/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const m = node.textContent.match(texPattern);
    if (m) rawTex.push(node.textContent.trim().slice(0, 120));
  }

  // Cell outputs: no traceback, no warning, no error output.
  const outputProblems = [];
  for (const out of document.querySelectorAll('.cell_output')) {
    const text = out.innerText || out.textContent || '';
    if (/Traceback \(most recent call last\)/.test(text)) outputProblems.push('traceback: ' + text.slice(0, 300));
    else if (/\b\w*Warning\b/.test(text)) outputProblems.push('warning: ' + text.slice(0, 300));
  }
  for (const el of document.querySelectorAll('.output.stderr, .output.traceback, .output.error')) {
    const text = el.textContent || '';
    if (el.matches('.traceback, .error') || /Warning|Traceback|Error/.test(text))
      outputProblems.push(`${el.className}: ` + text.slice(0, 300));
  }

  // Headings, in document order, as a screen reader meets them: not the
  // theme's print-only copy of the title and contents (display: none on screen).
  const headings = [...document.body.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => !h.closest('.onlyprint, [aria-hidden="true"], [hidden]'))
    .map(h => [Number(h.tagName[1]), (h.textContent || '').replace('#', '').trim().slice(0, 60),
               !!article.contains(h)]);

  // Widgets: every embedded view has been replaced by a rendered widget.
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const unrendered = views.filter(v => {
    const area = v.previousElementSibling;
    return !(area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets')
             && area.getBoundingClientRect().height > 0);
  }).map(v => v.textContent.slice(0, 120));

  const links = [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]);
  return {
    imageCount: images.length, imageProblems, widgetImages,
    mathCount: mathNodes.length, mjxCount: document.querySelectorAll('mjx-container').length,
    untypeset, mathErrors, rawTex, outputProblems, headings,
    widgetViews: views.length, unrendered,
    hasWidgetState: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
    links,
  };
}
"""

# Resolves once MathJax (when the page loads it) has typeset, and the widget
# manager (when the page embeds widgets) has rendered every view.
READY_JS = r"""
() => {
  if (window.MathJax) {
    if (!(MathJax.startup && MathJax.startup.promise)) return false;
    if (!window.__mjxWaiting) {
      window.__mjxWaiting = true;
      MathJax.startup.promise.then(() => { window.__mjxDone = true; });
    }
    if (!window.__mjxDone) return false;
  }
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  for (const v of views) {
    const area = v.previousElementSibling;
    if (!(area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets'))) return false;
  }
  return true;
}
"""


SEARCH_DONE_JS = r"""
() => {
  const results = document.querySelector('#search-results');
  return !!results && (results.querySelectorAll('ul.search li').length > 0
                       || /Search finished|did not match/i.test(results.innerText));
}
"""


def visit(context, server, name, path=None, screenshot_name=None, wait_for=None,
          ready_timeout_ms=20000):
    """Open one page, as a reader without network would, and report on it.

    ``path`` defaults to ``<name>.html``; ``wait_for`` is a JavaScript
    predicate to wait for as well (the search page's results)."""
    url = server.base + (path if path is not None else f"{name}.html")
    report = PageReport(name=name, url=url)
    page = context.new_page()

    def route(route_):
        if route_.request.url.startswith(server.base):
            route_.continue_()
        else:
            report.external_requests.append(route_.request.url)
            route_.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and m.text not in BENIGN_CONSOLE_ERRORS
            and report.console_errors.append(m.text))
    page.on("pageerror", lambda e: report.page_errors.append(str(e)))
    page.on("requestfailed", lambda r: r.url.startswith(server.base)
            and report.failed_requests.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400
            and report.failed_requests.append(f"{r.url} (HTTP {r.status})"))
    try:
        page.goto(url, wait_until="load")
        try:
            page.wait_for_load_state("networkidle", timeout=10000)
        except Exception:  # noqa: BLE001 - a page that never idles is reported below
            pass
        try:
            page.wait_for_function(READY_JS, timeout=ready_timeout_ms, polling=100)
            report.facts["ready"] = True
        except Exception:  # noqa: BLE001
            report.facts["ready"] = False
        if wait_for:
            try:
                page.wait_for_function(wait_for, timeout=ready_timeout_ms, polling=100)
            except Exception:  # noqa: BLE001 - the caller checks what is on the page
                report.facts["ready"] = False
        page.evaluate("() => document.fonts.ready.then(() => true)")
        report.facts.update(page.evaluate(COLLECT_JS))
        report.facts["search_results"] = page.evaluate(
            "() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
        if screenshot_name:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            report.screenshot = SCREENSHOTS / f"{screenshot_name}.png"
            page.screenshot(path=str(report.screenshot), full_page=True)
    finally:
        page.close()
    return report


def screenshot_name(page):
    return page.replace("/", "-")


def heading_problems(headings):
    """A page without exactly one h1, and every skipped level (an h4 after an h2)."""
    problems = []
    levels = [level for level, _, _ in headings]
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} h1 elements (want exactly one)")
    previous = 0
    for level, text, _ in headings:
        if level > previous + 1:
            problems.append(f"h{level} '{text}' follows h{previous or '-'}")
        previous = level
    return problems


def link_problems(server, links):
    """Internal links whose page or #anchor does not exist in the build."""
    problems = []
    for raw, absolute in links:
        if not absolute.startswith(server.base) or raw.startswith(("javascript:", "mailto:")):
            continue
        parts = urllib.parse.urlsplit(absolute)
        target = server.file_for(urllib.parse.urlunsplit(parts._replace(query="", fragment="")))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{raw}: no file {target.relative_to(server.root)}")
            continue
        fragment = urllib.parse.unquote(parts.fragment)
        if fragment and target.suffix == ".html" and fragment not in parse_html(target).ids:
            problems.append(f"{raw}: no element with id '{fragment}' in {target.relative_to(server.root)}")
    return sorted(set(problems))

"""The book as a reader sees it: offline, in a real browser.

Readers open the book on networks where CDNs are slow or blocked. These
tests serve the book built by ``built_book`` (the whole book, as CI builds it)
on 127.0.0.1, open every page of ``_toc.yml`` in Debian's Chromium (driven by
Playwright; every request to another host is aborted and recorded) and check
what a reader would see: no console error or failed request, every formula
typeset by the book's own MathJax, every image loaded and described, widgets
rendered from their embedded state, no traceback or warning in an output,
headings in order, every internal link and anchor alive, search working.
A full-page screenshot of every page goes to ``test-artifacts/screenshots/``.

``make test`` installs what they need (``make vendor``, ``make chromium``).
"""

import importlib.util
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from browser_helpers import (
    CHROMIUM,
    ROOT,
    SEARCH_DONE_JS,
    BookServer,
    css_urls,
    heading_problems,
    html_pages,
    is_notebook,
    is_remote,
    launch,
    link_problems,
    parse_html,
    screenshot_name,
    toc_pages,
    visit,
)

browser = pytest.mark.browser
PAGES = toc_pages()
NOTEBOOKS = [page for page in PAGES if is_notebook(page)]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
VENDORED = ["_vendor/requirejs/require.js", "_vendor/html-manager/embed-amd.js"]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def book_html(built_book):
    return Path(built_book)


@pytest.fixture(scope="session")
def server(book_html):
    with BookServer(book_html) as running:
        yield running


@pytest.fixture(scope="session")
def browser_context(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` (apt-get install -y chromium) installs it")
    chromium = launch(playwright)
    context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                   service_workers="block")
    yield context
    context.close()
    chromium.close()


@pytest.fixture(scope="session")
def report(browser_context, server):
    """``report(page)``: what the browser saw on a page (each page loaded once)."""
    seen = {}

    def get(page):
        if page not in seen:
            seen[page] = visit(browser_context, server, page, screenshot_name=screenshot_name(page))
        return seen[page]

    return get


def _listing(items):
    return "\n  " + "\n  ".join(map(str, items))


# ------------------------------------------------------- every page of the TOC

@browser
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_errors(report, page):
    seen = report(page)
    problems = (
        [f"console error: {e}" for e in seen.console_errors]
        + [f"uncaught exception: {e}" for e in seen.page_errors]
        + [f"failed request: {r}" for r in seen.failed_requests]
        + [f"request to another host (blocked): {r}" for r in seen.external_requests]
    )
    if not seen.facts.get("ready"):
        problems.append("MathJax or the widgets never finished (see the other tests)")
    assert not problems, f"{page}:" + _listing(problems)
    assert seen.screenshot is not None and seen.screenshot.stat().st_size > 0


@browser
@pytest.mark.parametrize("page", PAGES)
def test_every_formula_is_typeset(report, page):
    facts = report(page).facts
    assert not facts["untypeset"], f"{page}: math that MathJax did not typeset:" + _listing(facts["untypeset"])
    assert not facts["mathErrors"], f"{page}: TeX errors:" + _listing(facts["mathErrors"])
    assert not facts["rawTex"], f"{page}: raw TeX in the text:" + _listing(facts["rawTex"])
    assert facts["mjxCount"] >= facts["mathCount"]


@browser
@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads_and_has_alt_text(report, page):
    facts = report(page).facts
    assert not facts["imageProblems"], f"{page}:" + _listing(facts["imageProblems"])


@browser
@pytest.mark.parametrize("page", PAGES)
def test_no_output_shows_a_traceback_or_a_warning(report, page):
    facts = report(page).facts
    assert not facts["outputProblems"], f"{page}:" + _listing(facts["outputProblems"])


@browser
@pytest.mark.parametrize("page", PAGES)
def test_headings_do_not_skip_a_level(report, page):
    headings = report(page).facts["headings"]
    problems = heading_problems(headings)
    assert not problems, f"{page}:" + _listing(problems) + "\nheadings:" + _listing(headings)


@browser
@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(report, server, page):
    problems = link_problems(server, report(page).facts["links"])
    assert not problems, f"{page}: broken links:" + _listing(problems)


@browser
@pytest.mark.parametrize("page", PAGES)
def test_widgets_render_from_their_embedded_state(report, page):
    facts = report(page).facts
    assert not facts["unrendered"], f"{page}: widget views left blank:" + _listing(facts["unrendered"])
    if facts["widgetViews"]:
        assert facts["hasWidgetState"], f"{page}: widget views but no embedded widget state"


@browser
def test_search_finds_parameter_sharing(browser_context, server):
    seen = visit(browser_context, server, "search", path="search.html?q=parameter+sharing",
                 screenshot_name="search", wait_for=SEARCH_DONE_JS)
    results = seen.facts["search_results"]
    assert results, "the search page lists no result for 'parameter sharing'"
    pages = {server.base + f"{page}.html" for page in PAGES}
    assert any(r.split("?")[0].split("#")[0] in pages for r in results), results
    assert not seen.console_errors and not seen.page_errors and not seen.external_requests, seen


# ------------------------------------------------------ the HTML, read as text

@browser
def test_no_page_loads_a_script_style_or_font_from_another_host(book_html):
    problems = []
    pages = html_pages(book_html)
    assert pages, f"no HTML page in {book_html}"
    for path in pages:
        parsed = parse_html(path)
        where = path.relative_to(book_html)
        problems += [f"{where}: <{tag}> {url}" for tag, url in parsed.assets if is_remote(url)]
        problems += [f"{where}: style {url}" for text in parsed.styles for url in css_urls(text)
                     if is_remote(url)]
    for css in sorted(book_html.rglob("*.css")):
        problems += [f"{css.relative_to(book_html)}: {url}" for url in css_urls(css.read_text(errors="replace"))
                     if is_remote(url)]
    assert not problems, "assets from another host:" + _listing(problems)


@browser
def test_mathjax_and_the_widget_manager_are_served_by_the_book(book_html):
    assert (book_html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for rel in VENDORED:
        assert (book_html / rel).is_file(), f"{rel} is not in the build: `make vendor`"
    # Jupyter Book loads every file under a _static folder on every page.
    assert not list((book_html / "_static").rglob("embed-amd.js"))
    assert not list((book_html / "_static").rglob("requirejs"))
    assert not (book_html / "_static" / "_vendor").exists()
    for page in PAGES:
        html = (book_html / f"{page}.html").read_text()
        if 'class="math' in html:
            assert "_static/mathjax/tex-chtml.js" in html, f"{page} does not load the book's MathJax"
        if "application/vnd.jupyter.widget-state+json" in html:
            for rel in VENDORED:
                assert rel in html, f"{page} has widgets but does not load {rel}"


def _vendor_js():
    spec = importlib.util.spec_from_file_location("vendor_js", ROOT / "scripts" / "vendor_js.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@browser
def test_the_served_widget_manager_is_the_pinned_one(book_html):
    served = json.loads((book_html / "_vendor" / "VERSIONS.json").read_text())
    assert served == _vendor_js().wanted()


def test_vendoring_checks_the_pinned_integrity_and_keeps_only_the_listed_files(tmp_path):
    vendor_js = _vendor_js()
    package = tmp_path / "package"
    (package / "dist").mkdir(parents=True)
    (package / "dist" / "embed-amd.js").write_text("define('x', [], () => 1);")
    (package / "dist" / "font.woff2").write_bytes(b"\0font")
    (package / "dist" / "embed.js.map").write_text("{}")
    (package / "package.json").write_text("{}")
    tarball = tmp_path / "pkg-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(package, arcname="package")
    out = tmp_path / "out"
    vendor_js.unpack(tarball, ["dist/embed-amd.js", "dist/*.woff2", "package.json"], out)
    assert sorted(p.name for p in out.iterdir()) == ["embed-amd.js", "font.woff2", "package.json"]
    with pytest.raises(SystemExit):  # a file the pins promise but the tarball lacks
        vendor_js.unpack(tarball, ["dist/missing.js"], tmp_path / "out2")
    assert vendor_js.sri_sha512(tarball).startswith("sha512-")
    assert vendor_js.sri_sha512(tarball) != vendor_js.sri_sha512(package / "package.json")


@browser
@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chapter_offers_downloads_and_launch_buttons(book_html, page):
    html = (book_html / f"{page}.html").read_text()
    hrefs = {url for tag, url in parse_html(book_html / f"{page}.html").assets} | set(
        re.findall(r'href="([^"]+)"', html))
    depth = page.count("/")
    for suffix in (".ipynb", ".md"):
        rel = "../" * depth + f"_sources/{page}{suffix}"
        assert rel in hrefs, f"{page}: no download link to {rel}"
        assert (book_html / "_sources" / f"{page}{suffix}").is_file(), f"{page}{suffix} not in _sources/"
    owner_repo = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = CONFIG["repository"].get("branch", "main")
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    binder = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
    # Binder opens the student notebook generated from the chapter (notebooks/, committed), Colab
    # its Colab edition (notebooks/colab/: plain Markdown, values written in)
    notebook = f"notebooks/{Path(page).name}.ipynb"
    if not (ROOT / notebook).exists():
        pytest.skip(f"{page} is not a student notebook")
    colab_notebook = f"notebooks/colab/{Path(page).name}.ipynb"
    assert (ROOT / colab_notebook).exists(), f"{page}: no Colab edition {colab_notebook}"
    assert f"{colab}/github/{owner_repo}/blob/{branch}/{colab_notebook}" in hrefs, \
        f"{page}: no Colab launch button opening {colab_notebook}"
    assert any(h.startswith(f"{binder}/v2/gh/{owner_repo}/{branch}?") and h.endswith(notebook) for h in hrefs), \
        f"{page}: no Binder launch button opening {notebook}"


# --------------------------------------------------- accessible colour maps

READABLE_CMAPS = {"viridis", "cividis", "gray", "grey", "Greys", "binary", "gist_yarg",
                  "magma", "inferno", "plasma"}
CMAP_USE = re.compile(
    r"""(?:cmap\s*=\s*|get_cmap\(\s*|colormaps\[\s*|colormaps\.get_cmap\(\s*)["']([A-Za-z0-9_.]+)["']""")


def cmap_problems(text):
    names = CMAP_USE.findall(text)
    return [n for n in names if n.removesuffix("_r") not in READABLE_CMAPS]


def test_colour_maps_are_readable_in_greyscale_and_by_colour_blind_readers():
    sources = [ROOT / f"{page}.md" for page in PAGES if (ROOT / f"{page}.md").exists()]
    sources += sorted((ROOT / "cnnlib").rglob("*.py"))      # the figures package too
    problems = [f"{p.relative_to(ROOT)}: {name}" for p in sources for name in cmap_problems(p.read_text())]
    assert not problems, (f"colour maps not in {sorted(READABLE_CMAPS)} (perceptually uniform, "
                          "readable in greyscale and by colour-blind readers):" + _listing(problems))


def test_the_colour_map_check_can_fail():
    assert cmap_problems('ax.imshow(x, cmap="jet")\nplt.get_cmap("rainbow")') == ["jet", "rainbow"]
    assert cmap_problems('imshow(x, cmap="viridis_r"); colormaps["cividis"]') == []


# ------------------------------------- the checks bite, and widgets really render

WIDGET_PAGE = """
# A widget

Parameter sharing, with a slider: $k \\star x$.

```{code-cell} ipython3
import ipywidgets as widgets
widgets.IntSlider(min=1, max=9, value=3, description="kernel")
```
"""


@browser
def test_a_widget_renders_offline_in_a_tiny_book(book_html, browser_context, tmp_path):
    """Until a chapter embeds a widget, prove the widget path on a one-page book."""
    if any("application/vnd.jupyter.widget-view+json" in (book_html / f"{p}.html").read_text()
           for p in PAGES):
        pytest.skip("the book's own widgets are checked on its pages")
    from book_build import HEADER, build

    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_vendor").symlink_to(ROOT / "_vendor")
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(HEADER + WIDGET_PAGE)
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with BookServer(book / "_build" / "html") as server:
        seen = visit(browser_context, server, "page")
    assert seen.facts["widgetViews"] == 1 and not seen.facts["unrendered"], seen.facts
    assert seen.facts["mjxCount"] == 1 and not seen.facts["untypeset"], seen.facts
    assert not (seen.console_errors or seen.page_errors or seen.failed_requests or seen.external_requests), seen


@browser
def test_the_browser_checks_can_fail(browser_context, tmp_path):
    """A page with a CDN script, raw TeX, a broken image, a skipped heading and
    a dead anchor: each check reports it."""
    (tmp_path / "bad.html").write_text("""<!doctype html><html><head>
      <script src="https://cdn.jsdelivr.net/npm/nothing@1/x.js"></script></head><body>
      <article class="bd-article"><h1>Bad</h1><h3>Skipped</h3>
      <p>Raw \\(x^2\\) and $$y$$.</p><span class="math">\\(z\\)</span>
      <img src="missing.png" alt="missing.png">
      <div class="cell_output"><pre>Traceback (most recent call last):</pre></div>
      <a href="bad.html#nowhere">dead</a> <a href="gone.html">gone</a></article></body></html>""")
    with BookServer(tmp_path) as server:
        seen = visit(browser_context, server, "bad", ready_timeout_ms=2000)
        links = link_problems(server, seen.facts["links"])
    assert seen.external_requests == ["https://cdn.jsdelivr.net/npm/nothing@1/x.js"]
    assert any("missing.png" in r for r in seen.failed_requests)
    assert seen.facts["untypeset"] and seen.facts["rawTex"]
    assert any("not loaded" in p for p in seen.facts["imageProblems"])
    assert any("file name" in p for p in seen.facts["imageProblems"])
    assert seen.facts["outputProblems"]
    assert heading_problems(seen.facts["headings"]) == ["h3 'Skipped' follows h1"]
    assert len(links) == 2, links


# ------------------------------- figures, formulas, sidebars, controls (issue 18)
#
# Each page of the TOC in light and in dark mode, at 1280 px, offline: the text of every figure
# at least layout_helpers.FLOOR_PX (see its justification there), no display formula wider than
# its column, nothing of the main column under a sidebar, and every control a reader can move
# changes the picture around it, with no kernel behind the page and the network blocked.

from browser_helpers import SCREENSHOTS  # noqa: E402
from layout_helpers import (FLOOR_PX, SCRIPT_RATIO, cjk_without_font, covered, dead_controls, figure_text,  # noqa: E402
                            low_contrast, math_overflows, open_page, sideways, text_overlaps)

THEMES = ["light", "dark"]

# Figures known to draw text under the floor, each a strict xfail (remove the entry once it is
# fixed): page -> the start of the figure's alt text.
KNOWN_SMALL_TEXT = {}


@pytest.fixture(scope="session")
def layout(browser_context, server):
    """``layout(page, theme)``: figure text sizes, formula overflows, covered elements, and the
    controls moved with their pictures compared (last: moving changes the page)."""
    seen = {}

    def get(page, theme):
        if (page, theme) not in seen:
            tab, external = open_page(browser_context, server, page, theme)
            try:
                facts = {"text": figure_text(tab), "math": math_overflows(tab), "covered": covered(tab),
                         "overlaps": text_overlaps(tab)}
                facts["contrast"] = low_contrast(tab, ".static-controls, .static-controls *")
                facts["controls"], facts["dead"] = dead_controls(tab)
                facts["external"] = list(external)
                if page in ("chapters/03_equivariance", "chapters/04_edge_detection"):
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    tab.screenshot(path=str(SCREENSHOTS / f"{screenshot_name(page)}-{theme}.png"), full_page=True)
            finally:
                tab.close()
            seen[page, theme] = facts
        return seen[page, theme]

    return get


def _pages_with_known(known, reason):
    return [pytest.param(page, marks=pytest.mark.xfail(strict=True, reason=f"{reason}: {known[page]}"))
            if page in known else page for page in PAGES]


@browser
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", _pages_with_known(KNOWN_SMALL_TEXT, "known small text"))
def test_figure_text_is_not_smaller_than_the_floor(layout, page, theme):
    problems = layout(page, theme)["text"]["problems"]
    assert not problems, f"{page} ({theme}): figure text under {FLOOR_PX} px:" + _listing(problems)


@browser
@pytest.mark.parametrize("page", PAGES)
def test_no_figure_text_is_drawn_over_other_text(layout, page):
    """Titles over axis labels, labels over a colour bar's ticks, numbers over numbers: what a
    figure shrunk to the column, its fonts then raised to the floor, tends to do."""
    problems = layout(page, "light")["overlaps"]
    assert not problems, f"{page}: text drawn over text:" + _listing(problems)


@browser
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", PAGES)
def test_no_formula_is_wider_than_its_column(layout, page, theme):
    problems = [f"{p['tex'][:160]} (by {p['over']} px)" for p in layout(page, theme)["math"]]
    assert not problems, f"{page} ({theme}): formulas wider than their column:" + _listing(problems)


@browser
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", PAGES)
def test_no_element_of_the_main_column_is_under_a_sidebar(layout, page, theme):
    problems = layout(page, theme)["covered"]
    assert not problems, f"{page} ({theme}):" + _listing(problems)


@browser
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", PAGES)
def test_the_static_controls_read_in_both_themes(layout, page, theme):
    """Labels, values and notes of the controls against the ground the theme puts under an output
    (light in dark mode too): at least 4.5:1, WCAG's level for body text."""
    problems = layout(page, theme)["contrast"]
    assert not problems, f"{page} ({theme}): low-contrast text of the controls:" + _listing(problems)


@browser
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", PAGES)
def test_every_control_changes_its_figure_offline(layout, page, theme):
    facts = layout(page, theme)
    assert not facts["dead"], f"{page} ({theme}): controls that change nothing:" + _listing(facts["dead"])
    assert not facts["external"], f"{page}: requests to another host: {facts['external']}"


BAD_LAYOUT_PAGE = """<!doctype html><html><head><style>
  body { margin: 0; } .bd-sidebar-secondary { position: fixed; right: 0; top: 0; width: 250px; height: 100%; }
  article { width: 700px; } .wide { width: 1200px; }
  mjx-container { display: block; } mjx-math { display: inline-block; width: 1500px; height: 20px; }
</style></head><body><div class="bd-sidebar-secondary">Contents</div>
<article class="bd-article">
  <div class="cell_output"><img alt="a tiny-font figure" src="data:image/svg+xml;base64,{tiny}"></div>
  <div class="cell_output"><img alt="a readable figure" src="data:image/svg+xml;base64,{readable}"></div>
  <div class="cell_output"><img alt="a transparent figure" src="data:image/svg+xml;base64,{transparent}"></div>
  <div class="cell_output"><img alt="a log axis with mathtext exponents" src="data:image/svg+xml;base64,{mathtext}"></div>
  <div class="cell_output"><img alt="a log axis in the book's style" src="data:image/svg+xml;base64,{styledlog}"></div>
  <div class="cell_output"><img alt="a figure with a title over a label" src="data:image/svg+xml;base64,{crowded}"></div>
  <p><mjx-container display="true"><mjx-math></mjx-math></mjx-container></p>
  <table class="wide"><tr><td>a table under the sidebar</td></tr></table>
  <div class="static-controls" style="background: rgb(206, 214, 221)"><p style="color: rgb(156, 164, 175)">a faint note</p></div>
  <div class="cell_output"><input type="range" min="0" max="3" value="0"><img alt="a dead control's figure"
    src="data:image/svg+xml;base64,{readable}"></div>
  <div class="cell_output"><select><option>a</option><option>b</option></select><img id="live" alt="a live control's figure"
    src="data:image/svg+xml;base64,{readable}"></div>
  <script>document.querySelector('select').addEventListener('change', () => {
    document.getElementById('live').src = 'data:image/svg+xml;base64,{tiny}'; });</script>
</article></body></html>"""


def _svg_figure(fontsize, transparent=False, log=False, styled=True, crowded=False):
    import base64

    from matplotlib.figure import Figure

    from cnnlib.figures import _style

    fig = Figure(figsize=(4, 2))
    ax = fig.add_subplot()
    ax.set_title("title", fontsize=12 if log else fontsize)
    ax.tick_params(labelsize=fontsize)
    if log:  # decades 10^0 ... 10^8 on the y axis
        ax.set_yscale("log")
        ax.set_ylim(1, 1e8)
        ax.set_xticks([])
    if crowded:  # a second line of title pushed down onto the axes' top tick label
        ax.text(0.0, 1.0, "a long label set over the tick", transform=ax.transAxes, fontsize=fontsize, va="center")
    if transparent:
        fig.patch.set_alpha(0)
    data = _style._svg_bytes(fig) if styled and fontsize >= _style.MIN_FONT_PT else _svg_unfitted(fig)
    return base64.b64encode(data).decode()


def _svg_unfitted(fig):
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


@browser
@pytest.mark.parametrize("theme", THEMES)
def test_the_layout_checks_can_fail(browser_context, tmp_path, theme):
    """A page with a 5-pt figure, a figure on a transparent background, a log axis with 7-pt
    mathtext labels (and one in the book's style that passes), text over text, a formula 1500 px wide, a
    table under a fixed sidebar and a slider that changes nothing: each check reports it, and only it."""
    (tmp_path / "bad.html").write_text(BAD_LAYOUT_PAGE.replace("{tiny}", _svg_figure(5)).replace(
        "{readable}", _svg_figure(12)).replace("{transparent}", _svg_figure(12, transparent=True)).replace(
        "{mathtext}", _svg_figure(7, log=True, styled=False)).replace("{styledlog}", _svg_figure(12, log=True)).replace(
        "{crowded}", _svg_figure(12, crowded=True)))
    with BookServer(tmp_path) as server:
        tab, external = open_page(browser_context, server, "bad", theme)
        try:
            text = figure_text(tab)
            math, hidden = math_overflows(tab), covered(tab)
            names, dead = dead_controls(tab)
            overlaps = text_overlaps(tab)
            faint = low_contrast(tab, ".static-controls, .static-controls *")
        finally:
            tab.close()
    assert [p.split(":")[0] for p in overlaps] == ["a figure with a title over a label"], overlaps
    assert len(faint) == 1 and "a faint note" in faint[0], faint
    assert "a long label set over the tick" in overlaps[0]
    assert [p.split(":")[0] for p in text["problems"]] == [
        "a tiny-font figure", "a transparent figure", "a log axis with mathtext exponents"], text
    assert "transparent background" in text["problems"][1]
    assert "'10" in text["problems"][2]            # a decade's label, drawn in <tspan>s
    sizes = dict(text["measured"])
    assert len(sizes) == 8 and all(sizes[f"a {name} figure"] >= FLOOR_PX for name in ("readable", "transparent"))
    # the book's style: 10-pt tick labels, their exponents at 7 pt, judged as scripts
    assert SCRIPT_RATIO * FLOOR_PX <= sizes["a log axis in the book's style"] < FLOOR_PX
    assert len(math) == 1 and math[0]["over"] > 700, math
    assert any("a table under the sidebar" in p for p in hidden), hidden
    assert not any("readable" in p for p in hidden)
    assert names == ["input[range]", "select[select-one]"] and len(dead) == 1 and dead[0].startswith("input[range]"), dead
    assert not external


@browser
@pytest.mark.parametrize("page", ["chapters/glossary", "chapters/claims_audit"])
def test_cjk_text_names_a_cjk_font(browser_context, server, page, tmp_path):
    """The glossary's Chinese terms and the sources' words in the audit: the font stack
    (_static/course.css) names CJK fonts; a page without the book's style sheet does not."""
    tab, _ = open_page(browser_context, server, page)
    try:
        problems = cjk_without_font(tab)
    finally:
        tab.close()
    assert not problems, f"{page}: CJK text without a CJK font:" + _listing(problems)
    (tmp_path / "bare.html").write_text('<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body><article class="bd-article">'
                                        "<p>参数共享</p></article></body></html>")
    with BookServer(tmp_path) as bare:
        tab, _ = open_page(browser_context, bare, "bare")
        try:
            assert cjk_without_font(tab), "the check cannot fail"
        finally:
            tab.close()


# ------------------------------------------------------------ a phone's width (issue 18)
#
# At 390 px (a phone held upright) a figure shrunk to the column would draw its 10-pt text at about
# 6.5 px. The book's style sheet keeps figures at their natural size in a box that scrolls sideways
# (_static/course.css): the text floor holds there too, and the page itself never scrolls sideways.

PHONE_PX = 390


@pytest.fixture(scope="session")
def phone_layout(browser_context, server):
    seen = {}

    def get(page, theme="light"):
        if (page, theme) not in seen:
            tab, external = open_page(browser_context, server, page, theme, width=PHONE_PX)
            try:
                seen[page, theme] = {"text": figure_text(tab), "sideways": sideways(tab), "external": list(external)}
                seen[page, theme]["dead"] = dead_controls(tab)[1]        # last: moving changes the page
                if page in ("chapters/03_equivariance", "chapters/04_edge_detection"):
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    tab.screenshot(path=str(SCREENSHOTS / f"{screenshot_name(page)}-{PHONE_PX}px-{theme}.png"),
                                   full_page=True)
            finally:
                tab.close()
        return seen[page, theme]

    return get


@browser
@pytest.mark.parametrize("page", PAGES)
def test_on_a_phone_figure_text_keeps_the_floor_the_page_does_not_scroll_sideways_and_controls_work(phone_layout, page):
    facts = phone_layout(page)
    problems = [f"figure text under {FLOOR_PX} px: {p}" for p in facts["text"]["problems"]]
    if facts["sideways"]["over"] > 1:
        problems.append(f"the page scrolls sideways by {facts['sideways']['over']} px:"
                        + _listing(facts["sideways"]["elements"]))
    problems += [f"a control that changes nothing: {d}" for d in facts["dead"]]
    assert not problems, f"{page} at {PHONE_PX} px:" + _listing(problems)
    assert not facts["external"]


@browser
@pytest.mark.parametrize("page", ["chapters/03_equivariance", "chapters/04_edge_detection"])
def test_on_a_phone_in_dark_mode_the_frames_and_figures_read(phone_layout, page):
    facts = phone_layout(page, "dark")
    assert not facts["text"]["problems"] and facts["sideways"]["over"] <= 1 and not facts["dead"], facts


PHONE_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>img { max-width: 100%; height: auto; } /* as the theme does */</style>{style}</head>
<body style="margin: 0 16px"><article class="bd-article">
  <div class="cell_output"><figure><img alt="a figure 6.9 in wide" src="data:image/svg+xml;base64,{figure}">
  <figcaption><p>Its caption.</p></figcaption></figure></div>
  <p>Call <code class="docutils literal notranslate"><span class="pre">cnnlib.figures.edge_figures.PRESET_KERNELS_AND_MORE</span></code>.</p>
</article></body></html>"""


@browser
def test_the_phone_checks_can_fail_and_the_style_sheet_fixes_them(browser_context, tmp_path):
    """At 390 px, a figure as wide as the column at 1280 px and a long inline name: without the book's
    style sheet the figure's text shrinks under the floor and the name pushes the page sideways;
    with it (served as the book serves it) neither happens."""
    import base64

    from matplotlib.figure import Figure

    from cnnlib.figures import _style

    fig = Figure(figsize=(_style.COLUMN_WIDTH_IN, 2.5))
    fig.add_subplot().set_title("a title at the style's sizes")
    figure = base64.b64encode(_style._svg_bytes(fig)).decode()
    shutil.copy(ROOT / "_static" / "course.css", tmp_path / "course.css")
    for name, style in (("bare", ""), ("styled", '<link rel="stylesheet" href="course.css">')):
        (tmp_path / f"{name}.html").write_text(PHONE_PAGE.replace("{style}", style).replace("{figure}", figure))
    found = {}
    with BookServer(tmp_path) as server:
        for name in ("bare", "styled"):
            tab, _ = open_page(browser_context, server, name, width=PHONE_PX)
            try:
                found[name] = figure_text(tab)["problems"], sideways(tab)
            finally:
                tab.close()
    (bare_text, bare_sideways), (styled_text, styled_sideways) = found["bare"], found["styled"]
    assert len(bare_text) == 1 and bare_sideways["over"] > 20, found
    assert any("PRESET_KERNELS" in e for e in bare_sideways["elements"]), bare_sideways
    assert styled_text == [] and styled_sideways["over"] <= 1, found

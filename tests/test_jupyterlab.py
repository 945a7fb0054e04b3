"""Every chapter opened as a student opens it: its notebook in a real JupyterLab, Run All.

What a student must see, checked in Chromium after Run All:
* no raw MyST in the rendered text (``{eval}``, ``{glue``, ``{term}``, ``{exercise}`` …);
* the numbers of the prose: every ``{eval}`` of a visible text cell shows the
  kernel's value;
* as many figures as the chapter's page in the book;
* solutions folded (their cells hidden) after Run All;
* every control of a live figure redraws it once per change, intact, five
  times in a row, with widget messages on kernel subshells (the setting that
  broke the old widgets).
The Run All time of every chapter is printed (``-s`` or the report).
"""

import re
import sys

import nbformat
import pytest
from bs4 import BeautifulSoup

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT
from lab_helpers import IMAGE_STATS_JS, WATCH_SRC_JS, Lab, kernel_redraws, kernel_values, run_all

sys.path.insert(0, str(ROOT / "_ext"))
import course_notebooks  # noqa: E402

pytestmark = pytest.mark.lab
CHAPTERS = course_notebooks.chapter_sources()
SHOTS = ROOT / "test-artifacts" / "lab"
RAW_MYST = re.compile(r"\{(eval|glue[:\w]*|term|exercise|solution[-\w]*|numref|prf:\w+|cite|ref)\}|^\([\w-]+\)=$", re.M)
RUN_ALL_SECONDS = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")  # a bare folder: the notebooks and nothing else
    for chapter in CHAPTERS:
        (folder / f"{chapter.stem}.ipynb").write_text(course_notebooks.notebook_text(chapter))
    with Lab(folder, tmp_path_factory.mktemp("lab-settings")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(playwright):
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def page_images(book_html, chapter):
    """Images of the chapter's page that are cell outputs outside the solutions.

    The pre-drawn frames of an interactive figure (``.static-controls``, the static book's
    stand-in for a live widget) are left out: the notebook shows the live widget there, and
    the tests of the controls below check it."""
    soup = BeautifulSoup((book_html / "chapters" / f"{chapter.stem}.html").read_text(), "html.parser")
    main = soup.select_one("main") or soup
    return [img for img in main.select(".cell_output img")
            if not img.find_parent(class_="solution") and not img.find_parent(class_="static-controls")]


def folded_cell_indices(notebook):
    from test_notebooks import folded_ranges

    ids = {id(c) for cells in folded_ranges(notebook) for c in cells}
    return {i for i, c in enumerate(notebook.cells) if id(c) in ids}


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda p: p.stem)
def chapter(request):
    """One chapter at a time: pytest runs all the checks of a chapter before it opens the next."""
    return request.param


@pytest.fixture(scope="module")
def opened(lab, chromium, built_book, chapter):
    """The chapter opened in the lab after Run All: ``(page, notebook, seconds)``; closed afterwards."""
    name = f"{chapter.stem}.ipynb"
    notebook = nbformat.read(lab.folder / name, 4)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(lab.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length >= %d"
                               % len(notebook.cells), timeout=60_000)
        page.wait_for_timeout(1500)
        seconds = run_all(page, lab)
        RUN_ALL_SECONDS[chapter.stem] = seconds
        page.wait_for_timeout(1500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{chapter.stem}.png"))
        yield page, notebook, seconds
    finally:
        context.close()
        lab.shut_down_kernels()     # one chapter's kernel at a time, as a student's laptop would


@pytest.fixture(scope="module", autouse=True)
def report_run_all_times():
    yield
    print("\nRun All in JupyterLab (s): " + ", ".join(f"{k} {v:.0f}" for k, v in RUN_ALL_SECONDS.items()))


def shown_markdown(page):
    """``{cell index: rendered text}`` of the Markdown cells a student can see.

    A cell hidden under a folded heading is skipped: the browser's ``innerText``
    of an element that is not rendered is its raw text, the cell's source included."""
    return dict(page.locator(".jp-Notebook .jp-Cell").evaluate_all(
        "cells => cells.map((c, i) => [i, c]).filter(([i, c]) => c.classList.contains('jp-MarkdownCell')"
        " && c.checkVisibility()).map(([i, c]) => [i, c.innerText])"))


def raw_myst(page):
    """``(cell, text)`` of raw MyST and of cross-references that jupyterlab-myst could not resolve."""
    raw = [(i, m.group()) for i, text in shown_markdown(page).items() for m in RAW_MYST.finditer(text)]
    unresolved = page.locator(".jp-Notebook .jp-Cell").evaluate_all(
        "cells => cells.flatMap((c, i) => c.checkVisibility() ? [...c.querySelectorAll("
        "'[title=\"Cross Reference Not Found\"]')].map(e => [i, 'unresolved: ' + e.textContent]) : [])")
    return raw + [tuple(u) for u in unresolved]


def values_shown(page, lab, chapter, notebook):
    """Check every value inserted with {eval} in a shown Markdown cell against the kernel's value.

    Returns ``{name: problem}`` for the values that are missing; plain values must
    appear in their cell's text, LaTeX values (``IPython.display.Math``) as typeset
    math in their cell, without the variable's name."""
    shown = shown_markdown(page)
    wanted = {i: re.findall(r"\{eval\}`(\w+)`", notebook.cells[i].source) for i in shown}
    wanted = {i: names for i, names in wanted.items() if names}
    if not wanted:
        return None
    client = lab.kernel_of(f"{chapter.stem}.ipynb")
    try:
        values = kernel_values(client, [n for names in wanted.values() for n in names])
    finally:
        client.stop_channels()
    cells = page.locator(".jp-Notebook .jp-Cell")
    missing = {}
    for i, names in wanted.items():
        text = re.sub(r"\s+", " ", shown[i])
        for name in names:
            value = values[name]
            if value.startswith("latex:"):
                if name in text or cells.nth(i).locator("mjx-container").count() == 0:
                    missing[name] = f"no typeset math in cell {i}"
            elif re.sub(r"\s+", " ", value) not in text:
                missing[name] = f"{value!r} not in cell {i}"
    return missing


def test_run_all_shows_no_error_and_no_raw_myst(opened, chapter):
    page, notebook, _ = opened
    assert page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr'] .ansi-red-fg, "
                        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count() == 0
    raw = raw_myst(page)
    assert not raw, f"raw MyST in the rendered text (cell, text): {raw[:10]}"


def test_the_prose_shows_the_kernels_numbers(opened, lab, chapter):
    page, notebook, _ = opened
    missing = values_shown(page, lab, chapter, notebook)
    if missing is None:
        pytest.skip("no inserted values")
    assert not missing, f"values not shown in the text: {dict(list(missing.items())[:8])}"


def test_the_notebook_shows_every_figure_of_the_page(opened, built_book, chapter):
    page, notebook, _ = opened
    expected = len(page_images(built_book, chapter))
    hidden = folded_cell_indices(notebook)
    shown = 0
    all_cells = page.locator(".jp-Notebook .jp-Cell")
    for i in range(all_cells.count()):
        if i in hidden:
            continue
        images = all_cells.nth(i).locator(".jp-OutputArea-output > img, .jp-RenderedImage img")
        shown += sum(1 for k in range(images.count()) if images.nth(k).evaluate(IMAGE_STATS_JS)["ink"] > 0.002)
    assert shown == expected, f"the page shows {expected} figures, the notebook {shown}"


def test_solutions_stay_folded_after_run_all(opened, chapter):
    page, notebook, _ = opened
    hidden = folded_cell_indices(notebook)
    if not hidden:
        pytest.skip("no solutions")
    all_cells = page.locator(".jp-Notebook .jp-Cell")
    assert all_cells.count() == len(notebook.cells)
    visible = [i for i in sorted(hidden) if all_cells.nth(i).is_visible()]
    assert not visible, f"solution cells visible after Run All: {visible}"
    exercises = [i for i, c in enumerate(notebook.cells) if c.source.startswith("```{exercise}")]
    assert all(all_cells.nth(i).is_visible() for i in exercises)


def _controls(figure):
    sliders = figure.locator(".widget-slider .noUi-handle, .widget-slider .slider-handle")
    dropdowns = figure.locator(".widget-dropdown select")
    return [("slider", sliders.nth(i)) for i in range(sliders.count())] + \
           [("dropdown", dropdowns.nth(i)) for i in range(dropdowns.count())]


def _move(kind, control, step):
    if kind == "slider":
        now, low, high = (float(control.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin",
                                                                      "aria-valuemax"))
        right = now <= low or (now < high and step % 4 < 2)
        control.focus()
        control.press("ArrowRight" if right else "ArrowLeft")
    else:
        options = control.locator("option").all_inner_texts()
        current = control.evaluate("s => s.selectedIndex")
        control.select_option(index=(current + 1) % len(options))


def test_every_control_redraws_its_figure_once_intact(opened, lab, chapter):
    page, notebook, _ = opened
    figures = page.locator(".jp-OutputArea-output .widget-vbox:has(> .widget-image)")
    if figures.count() == 0:
        pytest.skip("no live figure")
    client = lab.kernel_of(f"{chapter.stem}.ipynb")
    try:
        for f in range(figures.count()):
            _move_every_control_five_times(page, client, figures.nth(f), f)
            page.screenshot(path=str(SHOTS / f"{chapter.stem}-widget-{f}.png"))
    finally:
        client.stop_channels()


def _move_every_control_five_times(page, client, figure, f):
    figure.scroll_into_view_if_needed()
    image = figure.locator("> .widget-image").first
    first = image.evaluate(IMAGE_STATS_JS)
    assert first["ink"] > 0.01, "the live figure starts blank"
    controls = _controls(figure)
    assert controls, "a live figure without controls"
    for kind, control in controls:
        for step in range(5):
            before = kernel_redraws(client)
            image.evaluate(WATCH_SRC_JS)
            _move(kind, control, step)
            page.wait_for_function("img => img.__srcChanges >= 1", arg=image.element_handle(), timeout=30_000)
            page.wait_for_timeout(700)      # a second redraw would land here
            changes = image.evaluate("img => img.__srcChanges")
            drawn = kernel_redraws(client) - before
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=image.element_handle(), timeout=10_000)
            stats = image.evaluate(IMAGE_STATS_JS)
            assert (drawn, changes) == (1, 1), \
                f"figure {f}, {kind}: {drawn} redraws in the kernel, {changes} on the page, for one change"
            assert (stats["w"], stats["h"]) == (first["w"], first["h"]), "the redrawn figure changed size"
            assert stats["ink"] > 0.01, f"figure {f}, {kind}, change {step + 1}: blank figure"


def test_an_opened_solution_renders_like_the_text(opened, lab, chapter):
    """A student who unfolds every solution sees rendered MyST and the kernel's numbers there too.

    Runs last for each chapter: it changes the page (solutions unfolded)."""
    page, notebook, _ = opened
    if not folded_cell_indices(notebook):
        pytest.skip("no solutions")
    folded = page.locator(".jp-MarkdownCell:has(.jp-collapseHeadingButton.jp-mod-collapsed)",
                          has_text="Solution")
    for _ in range(len(notebook.cells)):
        if folded.count() == 0:
            break
        folded.first.locator(".jp-collapseHeadingButton").dispatch_event("click")   # the arrow a student clicks
        page.wait_for_timeout(200)
    page.wait_for_timeout(1500)
    hidden = folded_cell_indices(notebook)
    cells = page.locator(".jp-Notebook .jp-Cell")
    still_folded = [i for i in sorted(hidden) if not cells.nth(i).is_visible()]
    assert not still_folded, f"solution cells still folded after opening every solution: {still_folded[:10]}"
    raw = raw_myst(page)
    assert not raw, f"raw MyST in an opened solution (cell, text): {raw[:10]}"
    missing = values_shown(page, lab, chapter, notebook)
    assert not missing, f"values not shown in an opened solution: {dict(list(missing.items())[:8])}"

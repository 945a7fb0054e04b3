"""The student notebooks: the JupyterLab edition (notebooks/*.ipynb) and the Colab edition
(notebooks/colab/*.ipynb, plain Markdown with the chapter's values written in). Both in sync
with the chapters, solutions folded, a set-up cell that installs the course outside its
environment; each chapter runs top to bottom from a bare folder outside the repository, and
the values the Colab edition shows are the ones that run computes."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import course_notebooks  # noqa: E402
import plain_markdown  # noqa: E402

CHAPTERS = course_notebooks.chapter_sources()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def heading_level(cell):
    match = re.match(r"(#+)\s", cell.source) if cell.cell_type == "markdown" else None
    return len(match.group(1)) if match else None


def folded_ranges(notebook):
    """For every collapsed heading: the cells JupyterLab hides under it."""
    cells, ranges = notebook.cells, []
    for i, cell in enumerate(cells):
        if cell.metadata.get("jp-MarkdownHeadingCollapsed"):
            level, end = heading_level(cell), i + 1
            while end < len(cells) and not (heading_level(cells[end]) and heading_level(cells[end]) <= level):
                end += 1
            ranges.append(cells[i + 1:end])
    return ranges


def test_every_chapter_has_a_committed_up_to_date_notebook():
    assert len(CHAPTERS) >= 8
    result = subprocess.run([sys.executable, str(ROOT / "_ext" / "course_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\nrun `make notebooks` and commit notebooks/"


def test_the_sync_check_can_fail(tmp_path):
    chapter = ROOT / "chapters" / "intro.md"
    (tmp_path / "intro.ipynb").write_text(course_notebooks.notebook_text(chapter).replace("course", "curse"))
    result = subprocess.run([sys.executable, str(ROOT / "_ext" / "course_notebooks.py"), "--check",
                             "--out", str(tmp_path), str(chapter)], capture_output=True, text=True)
    assert result.returncode == 1 and "out of date" in result.stderr


def test_a_colab_notebook_whose_text_drifted_fails_the_check(tmp_path):
    chapter = ROOT / "chapters" / "02_sharing.md"
    (tmp_path / "02_sharing.ipynb").write_text(course_notebooks.notebook_text(chapter))
    committed = (ROOT / "notebooks" / "colab" / "02_sharing.ipynb").read_text()
    (tmp_path / "colab").mkdir()
    (tmp_path / "colab" / "02_sharing.ipynb").write_text(committed.replace("weights", "wieghts"))
    result = subprocess.run([sys.executable, str(ROOT / "_ext" / "course_notebooks.py"), "--check",
                             "--out", str(tmp_path), str(chapter)], capture_output=True, text=True)
    assert result.returncode == 1 and "colab/02_sharing.ipynb" in result.stderr
    (tmp_path / "colab" / "02_sharing.ipynb").write_text(committed)        # the committed one passes
    result = subprocess.run([sys.executable, str(ROOT / "_ext" / "course_notebooks.py"), "--check",
                             "--out", str(tmp_path), str(chapter)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_are_folded_and_exercises_kept(chapter):
    notebook = course_notebooks.student_notebook(chapter)
    source = chapter.read_text()
    n_exercises, n_solutions = source.count("```{exercise}"), source.count("```{solution-start}")
    folded = folded_ranges(notebook)
    assert len(folded) == n_solutions
    assert sum(c.source.startswith("```{exercise}") for c in notebook.cells) == n_exercises
    raw = [c for c in notebook.cells if "{solution-start}" in c.source or "{solution-end}" in c.source]
    assert not raw, "solution markers left in the notebook"
    # every cell of every solution in the source is folded: find them by their text
    solution_texts = re.findall(r"```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```\n(.*?)```\{solution-end\}",
                                source, re.S)
    folded_text = "\n".join(c.source for cells in folded for c in cells)
    for text in solution_texts:
        for line in (ln.strip() for ln in text.split("\n")):
            if line and not line.startswith(("```", "+++", ":")):
                assert line in folded_text, f"{chapter.name}: solution line not folded: {line!r}"
    for cells in folded:
        assert not any(c.source.startswith("```{exercise}") for c in cells), "an exercise is folded"
    # the box does not count on its own (jupyterlab-myst numbers per notebook): the heading has the number
    boxes = [c.source for c in notebook.cells if c.source.startswith("```{exercise}")]
    assert all(box.split("\n")[1] == ":nonumber:" for box in boxes)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_bookkeeping_cells_are_folded_and_figures_keep_their_captions(chapter):
    import jupytext

    source = [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    notebook = [c for c in course_notebooks.student_notebook(chapter).cells
                if c.cell_type == "code" and "course-setup" not in c.metadata.get("tags", [])]
    assert [c.source for c in notebook] == [c.source for c in source]
    for old, new in zip(source, notebook):
        hidden = "remove-input" in old.metadata.get("tags", [])
        assert new.metadata.get("jupyter", {}).get("source_hidden", False) == hidden
        assert new.metadata.get("mystnb") == old.metadata.get("mystnb")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_last_solution_is_folded_up_to_a_heading_not_to_the_end(chapter):
    """JupyterLab unfolds the section of the cell it activates after Run All, the last one."""
    notebook = course_notebooks.student_notebook(chapter)
    last = notebook.cells[-1]
    assert heading_level(last) == 3 and not last.metadata.get("jp-MarkdownHeadingCollapsed")
    assert all(last is not c for cells in folded_ranges(notebook) for c in cells)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_lab_edition_numbers_its_figures_and_resolves_their_references(chapter):
    """jupyterlab-myst cannot see a figure name kept in a code cell's metadata: the notebook
    says "Figure k" itself, and a caption cell under the figure says which one is k."""
    import jupytext

    shown = [c.metadata["mystnb"]["figure"] for c in jupytext.read(chapter).cells
             if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})
             and "remove-output" not in c.metadata.get("tags", [])]
    notebook = course_notebooks.student_notebook(chapter)
    prefix = course_notebooks.number_prefix(chapter.stem)   # "2.": numbered as in the book
    captions = [c.source for c in notebook.cells
                if c.cell_type == "markdown" and re.match(r"\*\*Figure (\d+\.)?\d+\.\*\*", c.source)]
    assert len(captions) == len(shown)
    for k, (figure, caption) in enumerate(zip(shown, captions), 1):
        assert caption.startswith(f"**Figure {prefix}{k}.** ")
        first_words = " ".join(figure.get("caption", "").split()[:3])
        assert first_words in " ".join(caption.split())
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    names = {f.get("name") for f in shown} - {None}
    left = [m for m in re.findall(r"\{numref\}`[^`]*`", text) if any(n in m for n in names)]
    assert not left, f"references to code-cell figures left for jupyterlab-myst: {left}"
    for name in names:   # each reference reads "Figure k" with k the figure's place
        k = [f.get("name") for f in shown].index(name) + 1
        refs = re.findall(r"\{numref\}`(?:[^`<]*<)?%s>?`" % re.escape(name), chapter.read_text())
        assert not refs or f"Figure {prefix}{k}" in text


# ------------------------------------------------- the Colab edition

def colab_path(chapter):
    return ROOT / "notebooks" / "colab" / f"{chapter.stem}.ipynb"


def colab(chapter):
    return nbformat.read(colab_path(chapter), 4)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_colab_notebook_is_its_chapter_with_its_stored_values(chapter):
    """Prose or structure drift: regenerate from the chapter with the values the notebook stores."""
    assert colab_path(chapter).exists(), f"no Colab edition of {chapter.name}: run `make notebooks`"
    stored = course_notebooks.stored_values(colab_path(chapter))
    assert sorted(stored) == course_notebooks.eval_names(chapter), "values missing or left over"
    assert course_notebooks.colab_notebook_text(chapter, stored) == colab_path(chapter).read_text(), \
        f"{colab_path(chapter).name} is out of date: run `make notebooks`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_colab_notebook_has_no_myst_left_and_shows_every_value(chapter):
    notebook = colab(chapter)
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    left = {raw for text in markdown for raw in plain_markdown.raw_myst(text)}
    assert not left, f"{chapter.name}: MyST left in the Colab notebook: {sorted(left)}"
    for text in markdown:        # the raw forms, should the scan above ever miss one
        for raw in ("{eval}", "{term}", "{numref}", "{prf:", "{cite}", "```{", ":::{"):
            assert raw not in text, f"{chapter.name}: {raw} left in {text[:200]!r}"
    stored = notebook.metadata["cnnlib"]["values"]
    shown = "\n".join(markdown)
    for name, value in stored.items():
        assert plain_markdown.value_as_markdown(value) in shown, f"{chapter.name}: {name} = {value!r} not shown"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_colab_folds_the_solutions_by_their_heading_cells_ids(chapter):
    """Colab's format: notebook-level colab.collapsed_sections lists the metadata.id of the heading cells
    whose sections start folded; Colab folds a heading's section up to the next heading of its level."""
    notebook = colab(chapter)
    for cell in notebook.cells:
        assert cell.metadata.get("id") == cell.id
    collapsed = notebook.metadata["colab"]["collapsed_sections"]
    headings = [c for c in notebook.cells if c.metadata["id"] in collapsed]
    assert len(headings) == chapter.read_text().count("```{solution-start}") == len(collapsed)
    assert all(c.cell_type == "markdown" and c.source.startswith("#### Solution") for c in headings)
    folded = folded_ranges(notebook)
    assert len(folded) == len(headings)
    lab = folded_ranges(course_notebooks.student_notebook(chapter))
    for colab_cells, lab_cells in zip(folded, lab):    # the same code cells folded as in JupyterLab
        assert [c.source for c in colab_cells if c.cell_type == "code"] == \
               [c.source for c in lab_cells if c.cell_type == "code"]
        assert not any(c.source.startswith("### Exercise") for c in colab_cells)


def test_the_colab_edition_keeps_the_code_cells_and_captions_each_figure():
    chapter = ROOT / "chapters" / "02_sharing.md"
    lab, notebook = course_notebooks.student_notebook(chapter), colab(chapter)
    assert [c.source for c in notebook.cells if c.cell_type == "code"] == \
           [c.source for c in lab.cells if c.cell_type == "code"]
    cells = notebook.cells
    figures = [i for i, c in enumerate(cells) if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})
               and "remove-output" not in c.metadata.get("tags", [])]
    import jupytext

    drawn = [c for c in jupytext.read(chapter).cells if c.cell_type == "code" and "figure" in
             c.metadata.get("mystnb", {}) and "remove-output" not in c.metadata.get("tags", [])]
    assert len(figures) == len(drawn) >= 5              # every figure of the chapter, in order
    for k, i in enumerate(figures, start=1):          # chapter 2: "Figure 2.1", "Figure 2.2", ...
        assert cells[i + 1].cell_type == "markdown" and cells[i + 1].source.startswith(f"**Figure 2.{k}.** ")
    names = [cells[i].metadata["mystnb"]["figure"].get("name") for i in figures]
    text = "\n".join(c.source for c in cells)
    referenced = [n for n in names if n and "{numref}`%s`" % n in chapter.read_text()]
    assert referenced, "chapter 2 refers to one of its figures"
    for name in referenced:
        assert f"Figure 2.{names.index(name) + 1}" in text


def test_chapters_of_the_course_are_numbered_as_in_the_table_of_contents():
    """The number the book gives a chapter (its place in the numbered part of _toc.yml), worked
    out here by hand: the introduction and the appendices have none."""
    assert course_notebooks.number_prefix("01_locality") == "1."
    assert course_notebooks.number_prefix("06_experiments") == "6."
    assert course_notebooks.number_prefix("intro") == ""
    assert course_notebooks.number_prefix("claims_audit") == ""


def test_the_setup_text_of_each_edition_says_what_it_shows():
    chapter = ROOT / "chapters" / "intro.md"
    lab = course_notebooks.student_notebook(chapter).cells[0].source
    colab_text = colab(chapter).cells[0].source
    assert "JupyterLab" in lab and "notebooks/colab/" in lab and "name of the variable" not in lab
    assert "Colab edition" in colab_text and "numbers in it are the values" in colab_text
    assert "name of the variable" not in colab_text
    assert colab(chapter).cells[1].source == course_notebooks.student_notebook(chapter).cells[1].source


def test_the_setup_cell_installs_the_course_with_cpu_torch_only_where_it_is_missing():
    notebook = course_notebooks.student_notebook(ROOT / "chapters" / "intro.md")
    code = next(c.source for c in notebook.cells if "course-setup" in c.metadata.get("tags", []))
    assert notebook.cells.index(next(c for c in notebook.cells if c.source == code)) <= 1
    calls = []
    with mock.patch("subprocess.run", side_effect=lambda cmd, **kw: calls.append(cmd)):
        with mock.patch("importlib.util.find_spec", return_value=object()):
            exec(code, {})                              # inside the course: nothing happens
        assert calls == []
        with mock.patch("importlib.util.find_spec", return_value=None):
            exec(code, {})                              # elsewhere: one pip install
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert "https://download.pytorch.org/whl/cpu" in cmd
    assert f"cnnlib[notebook] @ git+{CONFIG['repository']['url'].rstrip('/')}" in cmd


def test_the_notebook_extra_covers_every_import_of_the_chapters():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["notebook"]
    provided = {re.split(r"[<>=\[ ]", e)[0].lower() for e in extra} | {"numpy", "scipy", "torch"}
    module_to_package = {"skimage": "scikit-image", "sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}
    stdlib = set(sys.stdlib_module_names) | {"cnnlib", "IPython", "matplotlib_inline"}
    for chapter in CHAPTERS:
        for cell in nbformat.reads(course_notebooks.notebook_text(chapter), 4).cells:
            if cell.cell_type != "code":
                continue
            for module in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", cell.source, re.M):
                if module in stdlib:
                    continue
                package = module_to_package.get(module, module).lower()
                assert package in provided or package == "ipywidgets" and "ipywidgets" in provided, \
                    f"{chapter.name} imports {module}: add {package} to cnnlib[notebook]"


def _pins(path):
    pins = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_binder_installs_cpu_torch_and_the_pins_of_the_course():
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    binder, course = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.txt")
    assert binder["torch"] == "2.13.0" and "jupyterlab-myst" in binder
    for name, version in binder.items():
        if name in course:
            assert course[name] == version, f"binder pins {name}=={version}, requirements.txt {course[name]}"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post and ".jupyter/overrides.json" in post
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


def test_lab_settings_keep_widget_messages_on_the_main_shell():
    overrides = json.loads((ROOT / ".jupyter" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:kernels-settings"]["commsOverSubshells"] == "disabled"


# ------------------------------------------------- run from a bare folder

# Values that are measurements of the machine (times, and what is computed from them), not results
# of the course's code: they differ from run to run, so the stale-value check below compares only
# their form (digits aside). A new timing in a chapter's text belongs here.
MEASURED = {
    "02_sharing": {"t_conv", "t_unfold", "t_local", "slow_local_text", "slow_unfold_text"},
    "04_edge_detection": {"slope_text", "dense_full_s", "ratio_full_text", "ratio_largest_text",
                          "ratio_largest_cnnlib_text", "sparse_vs_conv_text", "bandwidth_text", "conv_full_us",
                          "per_entry_small_ns", "per_entry_large_ns"},
}


def test_the_measured_values_are_values_of_their_chapters():
    for stem, names in MEASURED.items():
        assert names <= set(course_notebooks.eval_names(ROOT / "chapters" / f"{stem}.md")), stem


def _form(value):
    """``"16,211"`` and ``"987"`` -> ``"0"``, ``"2.51"`` -> ``"0.0"``: a measurement's form, not its digits."""
    return re.sub(r"\d[\d,]*", "0", value)


def test_a_measurement_is_compared_by_its_form():
    assert _form("16,211") == _form("987") == "0" and _form("2.51") == _form("12.9") == "0.0"
    assert _form("153 µs") != _form("0.2 ms") and _form("1.3") != _form("13")


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_in_a_bare_folder(chapter, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare")
    assert ROOT not in folder.parents
    notebook, values = course_notebooks.run_in_folder(chapter, folder)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    figures = [c for c in notebook.cells if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})]
    for cell in figures:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})]
        assert len(images) == 1, f"{chapter.name}: figure {cell.metadata['mystnb']['figure'].get('name')} " \
                                 f"shows {len(images)} images"
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".ipynb") == [f"{chapter.stem}.ipynb"]
    # the values the Colab edition shows are the ones this run computes (not stale)
    stored = course_notebooks.stored_values(ROOT / "notebooks" / "colab" / f"{chapter.stem}.ipynb")
    assert sorted(values) == sorted(stored) == course_notebooks.eval_names(chapter)
    measured = MEASURED.get(chapter.stem, set())
    stale = {name: (stored[name], value) for name, value in values.items()
             if (_form(value) != _form(stored[name]) if name in measured else value != stored[name])}
    assert not stale, f"{chapter.name}: the Colab edition shows stale values (stored, computed): {stale}; " \
                      "run `make notebooks` (or, if a value is a measured time, add it to MEASURED)"
    shutil.rmtree(folder, ignore_errors=True)


def test_launch_buttons_open_the_jupyterlab_edition_on_binder_and_the_colab_edition_on_colab():
    from types import SimpleNamespace

    def links():  # as sphinx-book-theme 1.3 builds them for a .md page
        return [{"type": "group", "buttons": [
            {"type": "link", "text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/02_sharing.md"},
            {"type": "link", "text": "Colab", "url": "https://colab.research.google.com/github/o/r/blob/main/chapters/02_sharing.md"},
            {"type": "link", "text": ".md", "url": "../_sources/chapters/02_sharing.md"},
        ]}]

    app = SimpleNamespace(srcdir=str(ROOT))
    context = {"header_buttons": links()}
    course_notebooks._point_launch_buttons(app, "chapters/02_sharing", None, context, None)
    urls = [b["url"] for b in context["header_buttons"][0]["buttons"]]
    assert urls[0] == "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/02_sharing.ipynb"
    assert urls[1] == "https://colab.research.google.com/github/o/r/blob/main/notebooks/colab/02_sharing.ipynb"
    assert urls[2] == "../_sources/chapters/02_sharing.md"       # the download stays the source


def test_launch_buttons_keep_the_source_when_there_is_no_notebook(tmp_path):
    from types import SimpleNamespace

    buttons = [{"text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/x.md"},
               {"text": "Colab", "url": "https://colab.research.google.com/github/o/r/blob/main/chapters/x.md"}]
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "x.ipynb").write_text("{}")              # a JupyterLab edition, no Colab one
    context = {"header_buttons": [{"type": "group", "buttons": [dict(b) for b in buttons]}]}
    course_notebooks._point_launch_buttons(SimpleNamespace(srcdir=str(tmp_path)), "chapters/x", None, context, None)
    urls = [b["url"] for b in context["header_buttons"][0]["buttons"]]
    assert urls == [buttons[0]["url"].replace("chapters/x.md", "notebooks/x.ipynb"), buttons[1]["url"]]


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_both_editions_number_exercises_and_figures_as_the_book_page(built_book, chapter):
    """A student told "do Exercise 2.3" or "see Figure 2.1" finds the same one in the book, in
    JupyterLab and in Colab: the numbers are read off the built page and off the notebooks."""
    from bs4 import BeautifulSoup

    main = BeautifulSoup((built_book / "chapters" / f"{chapter.stem}.html").read_text(), "html.parser").main
    titles = [t.get_text(" ", strip=True) for t in main.select("p.admonition-title")]
    book_exercises = [m.group(1) for t in titles if (m := re.match(r"Exercise ([\d.]+)", t))]
    book_figures = [m.group(1) for t in main.select(".caption-number")
                    if (m := re.match(r"Fig\. ([\d.]+)", t.get_text(strip=True)))]
    for notebook in (course_notebooks.student_notebook(chapter), colab(chapter)):
        text = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        assert [m.group(1) for t in text if (m := re.match(r"### Exercise ([\d.]+)", t))] == book_exercises
        assert [m.group(1) for t in text if (m := re.match(r"\*\*Figure ([\d.]+?)\.\*\*", t))] == book_figures

"""The student notebooks (notebooks/*.ipynb): in sync with the chapters, solutions folded,
a set-up cell that installs the course outside its environment, and each one runs
top to bottom from a bare folder outside the repository."""

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

def _executed_in_a_bare_folder(chapter, folder):
    """Execute the generated notebook of ``chapter`` in ``folder`` (outside the repository)."""
    from nbclient import NotebookClient

    path = folder / f"{chapter.stem}.ipynb"
    path.write_text(course_notebooks.notebook_text(chapter))
    notebook = nbformat.read(path, 4)
    env_cwd = os.getcwd()
    try:
        os.chdir(folder)
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                       ).execute()
    finally:
        os.chdir(env_cwd)
    return notebook


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_in_a_bare_folder(chapter, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare")
    assert ROOT not in folder.parents
    notebook = _executed_in_a_bare_folder(chapter, folder)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    figures = [c for c in notebook.cells if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})]
    for cell in figures:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})]
        assert len(images) == 1, f"{chapter.name}: figure {cell.metadata['mystnb']['figure'].get('name')} " \
                                 f"shows {len(images)} images"
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".ipynb") == [f"{chapter.stem}.ipynb"]
    shutil.rmtree(folder, ignore_errors=True)


def test_launch_buttons_are_pointed_at_the_generated_notebook():
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
    assert urls[0].endswith("urlpath=lab/tree/notebooks/02_sharing.ipynb")
    assert urls[1].endswith("/blob/main/notebooks/02_sharing.ipynb")
    assert urls[2] == "../_sources/chapters/02_sharing.md"       # the download stays the source

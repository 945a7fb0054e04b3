"""The chapters as notebooks for students: ``notebooks/<chapter>.ipynb`` from ``chapters/<chapter>.md``.

One source, two readers. The book renders the MyST chapter; a student opens
the generated notebook (in JupyterLab with jupyterlab-myst, on Binder, on
Colab, or downloaded into a bare folder). The notebook is the chapter with
three changes that only a notebook needs:

* a first **set-up cell** that installs the course package (and the CPU build
  of torch) when ``cnnlib`` is missing, and does nothing inside the course's
  environment;
* each exercise gets a heading, and each solution a **collapsed heading**
  (``jp-MarkdownHeadingCollapsed``; Colab's ``collapsed_sections``), so that
  the solution's prose *and* code cells stay folded after Run All;
* the book's bookkeeping cells (tagged ``remove-input``) are **folded**
  (``jupyter.source_hidden``): they run, but show one line.

Command line (``make notebooks``; Binder's ``postBuild``; the tests)::

    python _ext/course_notebooks.py [--check] [--out notebooks] [chapters/01_locality.md ...]

``--check`` writes nothing and exits 1 if a committed notebook differs from
what its chapter generates. As a Sphinx extension it points the Binder and
Colab launch buttons at these notebooks instead of the ``.md`` sources.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
OUT = ROOT / "notebooks"

_FENCE = re.compile(r"^(```+|:::+)\s*\{([\w:-]+)\}(.*)$")
_SOLUTION_HEADING = "#### Solution"


def _repository_url():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def setup_cells(repository):
    """The notebook's first two cells: what the set-up does, and the cell that does it."""
    import nbformat

    text = (
        "**Set-up.** Run the next cell first. Inside the course's environment "
        "(`make lab`) it does nothing. Anywhere else (Colab, Binder, a downloaded "
        "notebook) it installs the course's small library `cnnlib` from "
        f"<{repository}> together with what the chapter needs, taking PyTorch's "
        "CPU build (no GPU is needed); this takes a minute or two, once. "
        "JupyterLab shows the numbers in the text once the cells have run. Colab does "
        "not render MyST: where a number belongs, it shows the name of the variable "
        "that holds it (the book's page shows the value)."
    )
    code = f'''# Set-up: installs the course package only where it is missing.
import importlib.util, subprocess, sys
if importlib.util.find_spec("cnnlib") is None:
    print("Installing cnnlib and its dependencies (PyTorch's CPU build), once ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "--extra-index-url", "https://download.pytorch.org/whl/cpu",
                    "cnnlib[notebook] @ git+{repository}"], check=True)
    print("Done.")'''
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = ["course-setup"]
    return [nbformat.v4.new_markdown_cell(text), cell]


def _blocks(markdown):
    """Split a markdown cell into blocks: top-level fenced directives, and the text between them."""
    blocks, current, fence = [], [], None
    for line in markdown.split("\n"):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                if any(part.strip() for part in current):
                    blocks.append(("text", "\n".join(current).strip("\n")))
                current, fence = [line], (match.group(1), match.group(2))
                continue
            current.append(line)
        else:
            current.append(line)
            if line.strip() == fence[0]:
                blocks.append((fence[1], "\n".join(current)))
                current, fence = [], None
    if fence is not None:
        raise ValueError(f"unclosed {{{fence[1]}}} directive in:\n{markdown[:200]}")
    if any(part.strip() for part in current):
        blocks.append(("text", "\n".join(current).strip("\n")))
    return blocks


def _heading(text, collapsed=False):
    import nbformat

    cell = nbformat.v4.new_markdown_cell(text)
    if collapsed:
        cell.metadata["jp-MarkdownHeadingCollapsed"] = True
    return cell


def student_notebook(chapter, repository=None):
    """The notebook of one chapter (an ``nbformat`` v4 notebook)."""
    import jupytext
    import nbformat

    source = jupytext.read(chapter)
    cells = list(setup_cells(repository or _repository_url()))
    exercise, in_solution = 0, False
    for cell in source.cells:
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
            tags = list(cell.metadata.get("tags", []))
            if tags:
                new.metadata["tags"] = tags
            if "remove-input" in tags:
                new.metadata["jupyter"] = {"source_hidden": True}
            if "mystnb" in cell.metadata:
                new.metadata["mystnb"] = cell.metadata["mystnb"]
            cells.append(new)
            continue
        if cell.cell_type != "markdown":
            continue
        for kind, text in _blocks(cell.source):
            if kind == "exercise":
                in_solution = False
                exercise += 1
                cells.append(_heading(f"### Exercise {exercise}"))
                cells.append(nbformat.v4.new_markdown_cell(text))
            elif kind == "solution-start":
                cells.append(_heading(f"{_SOLUTION_HEADING} (click the arrow to show it)", collapsed=True))
                in_solution = True
            elif kind == "solution-end":
                in_solution = "ended"
            elif kind == "text" and in_solution == "ended" and not text.lstrip().startswith("#"):
                raise ValueError(f"{chapter}: text after a solution must start a new section or exercise")
            else:
                if kind == "text" and text.lstrip().startswith("#"):
                    in_solution = False
                cells.append(nbformat.v4.new_markdown_cell(text))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    ids = []
    for index, cell in enumerate(notebook.cells):  # stable ids: diffs of the generated files stay small
        cell.id = f"{Path(chapter).stem[:12]}-{index:03d}"
        if cell.metadata.get("jp-MarkdownHeadingCollapsed"):
            ids.append(cell.id)
    notebook.metadata["colab"] = {"collapsed_sections": ids, "provenance": []}
    nbformat.validate(notebook)
    return notebook


def notebook_text(chapter, repository=None):
    import nbformat

    return nbformat.writes(student_notebook(chapter, repository)) + "\n"


# Pages that are notebooks for the build but not for students (they grade homework).
NOT_FOR_STUDENTS = {"instructors"}


def chapter_sources():
    """The chapters that are student notebooks (MyST with a jupytext header), in file order."""
    return [p for p in sorted(CHAPTERS.glob("*.md"))
            if p.stem not in NOT_FOR_STUDENTS and p.read_text(encoding="utf-8").startswith("---\njupytext")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is out of date; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for chapter in args.chapters or chapter_sources():
        target = args.out / (chapter.stem + ".ipynb")
        text = notebook_text(chapter)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if args.check and stale:
        print("out of date (run `make notebooks`): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------
# Sphinx: the launch buttons open the generated notebook
# ----------------------------------------------------------------------------

def _point_launch_buttons(app, pagename, templatename, context, doctree):
    target = f"notebooks/{Path(pagename).name}.ipynb"
    if not (Path(app.srcdir) / target).exists():
        return
    source = f"{pagename}.md"
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []) or []:
            url = item.get("url", "")
            if item.get("text") in ("Binder", "Colab") and source in url:  # sphinx-book-theme's launch links
                item["url"] = url.replace(source, target)


def setup(app):
    app.connect("html-page-context", _point_launch_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())

"""The chapters as notebooks for students, in two editions, generated from ``chapters/<chapter>.md``.

One source, three readers. The book renders the MyST chapter; a student opens
a generated notebook:

* ``notebooks/<chapter>.ipynb``, the **JupyterLab edition** (``make lab``,
  Binder, a download): its text is the chapter's MyST, which jupyterlab-myst
  renders, numbers included, once the cells have run;
* ``notebooks/colab/<chapter>.ipynb``, the **Colab edition** (the book's Colab
  button): Colab renders no MyST, so its text is plain Markdown
  (``plain_markdown.py``) with every ``{eval}`` value written in. The values
  are the kernel's: ``make notebooks`` runs each chapter's notebook with
  nbclient in a temporary folder and reads them (stored in the notebook's
  ``metadata.cnnlib.values``); nothing is typed.

Both are the chapter with three changes that only a notebook needs:

* a first **set-up cell** that installs the course package (and the CPU build
  of torch) when ``cnnlib`` is missing, and does nothing inside the course's
  environment;
* each exercise gets a heading, and each solution a **collapsed heading**
  (``jp-MarkdownHeadingCollapsed``; Colab's ``collapsed_sections``, which
  lists the heading cells' ``metadata.id``), so that the solution's prose
  *and* code cells stay folded after Run All;
* the book's bookkeeping cells (tagged ``remove-input``) are **folded**
  (``jupyter.source_hidden``): they run, but show one line.

Command line (``make notebooks``; the tests)::

    python _ext/course_notebooks.py [--check] [--reuse-values] [--out notebooks] [chapters/01_locality.md ...]

It writes both editions; the Colab edition's values come from running the
chapter (a few minutes for the book), or with ``--reuse-values`` from the
Colab notebook already there (seconds; for edits of the prose only).
``--check`` writes and runs nothing, and exits 1 if a committed notebook of
either edition differs from what its chapter generates (the Colab edition
with the values it stores). As a Sphinx extension it points the Binder launch
button at the JupyterLab edition and the Colab button at the Colab edition.
"""

import argparse
import functools
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plain_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
OUT = ROOT / "notebooks"
COLAB = "colab"                     # the Colab edition: OUT / COLAB / <chapter>.ipynb

_FENCE = re.compile(r"^(```+|:::+)\s*\{([\w:-]+)\}(.*)$")
_SOLUTION_HEADING = "#### Solution"


@functools.lru_cache(maxsize=None)
def _config():
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _repository_url():
    return _config()["repository"]["url"].rstrip("/")


def number_prefix(stem):
    """What the book puts before the numbers of a chapter's figures, exercises and equations: "2."
    for the second chapter of the numbered part of ``_toc.yml``, "" for a page outside it."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        files = [Path(entry["file"]).stem for entry in part.get("chapters", [])]
        if part.get("numbered") and stem in files:
            return f"{files.index(stem) + 1}."
    return ""


def colab_link(stem):
    """The URL that opens the Colab edition of chapter ``stem`` (what the book's Colab button opens)."""
    config = _config()
    owner_repo = _repository_url().removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    colab = config.get("launch_buttons", {}).get("colab_url", "https://colab.research.google.com").rstrip("/")
    return f"{colab}/github/{owner_repo}/blob/{branch}/notebooks/{COLAB}/{stem}.ipynb"


def setup_cells(repository, edition="lab"):
    """The notebook's first two cells: what the set-up does, and the cell that does it."""
    import nbformat

    install = (
        "it installs the course's small library `cnnlib` from "
        f"<{repository}> together with what the chapter needs, taking PyTorch's "
        "CPU build (no GPU is needed); this takes a minute or two, once."
    )
    if edition == COLAB:
        text = (
            "**Set-up.** Run the next cell first. On Colab (or anywhere outside the course's "
            f"environment) {install} This is the notebook's Colab edition: its text is plain "
            "Markdown, and the numbers in it are the values the chapter's code computed when the "
            "notebook was generated, the same as on the book's page; running the cells computes "
            "them again in the outputs."
        )
    else:
        text = (
            "**Set-up.** Run the next cell first. Inside the course's environment "
            f"(`make lab`) it does nothing. Anywhere else (Binder, a downloaded notebook) {install} "
            "JupyterLab (with `jupyterlab-myst`, as in `make lab` and on Binder) shows the numbers "
            "in the text once the cells have run. For Colab, which does not render MyST, open the "
            f"Colab edition of this notebook (`notebooks/{COLAB}/`, the book's Colab button), "
            "whose text has the numbers written in."
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


def _figure(cell):
    """A code cell's MyST-NB figure (its ``name`` and ``caption``), or None."""
    return cell.metadata.get("mystnb", {}).get("figure")


def _cells(chapter, repository, converter=None):
    """The notebook's cells; with a ``plain_markdown.Converter``, the Colab edition's."""
    import jupytext
    import nbformat

    colab = converter is not None
    source = jupytext.read(chapter)
    prefix = number_prefix(Path(chapter).stem)
    figures = _figure_numbers(source.cells, prefix)
    markdown = converter.convert if colab else (lambda text: _lab_figure_references(text, figures))
    cells = list(setup_cells(repository, COLAB if colab else "lab"))
    exercise, in_solution, shown = 0, False, 0
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
            figure = _figure(cell)
            if figure and "remove-output" not in tags:  # the caption the book shows under it
                shown += 1
                cells.append(nbformat.v4.new_markdown_cell(
                    converter.figure_caption(figure.get("name"), figure.get("caption", "")) if colab else
                    f"**Figure {prefix}{shown}.** "
                    + " ".join(_lab_figure_references(figure.get("caption", ""), figures).split())))
            continue
        if cell.cell_type != "markdown":
            continue
        for kind, text in _blocks(cell.source):
            if kind == "exercise":
                in_solution = False
                exercise += 1
                if colab:
                    body, title = converter.exercise(text, f"{prefix}{exercise}")
                    cells.append(_heading(f"### Exercise {prefix}{exercise}" + (f": {title}" if title else "")))
                    cells.append(nbformat.v4.new_markdown_cell(body))
                else:
                    cells.append(_heading(f"### Exercise {prefix}{exercise}"))
                    cells.append(nbformat.v4.new_markdown_cell(_unnumbered(text)))
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
                text = markdown(text)
                if text.strip():
                    cells.append(nbformat.v4.new_markdown_cell(text))
    # A last heading ends the last folded solution: JupyterLab activates the last cell after
    # Run All and unfolds the section that holds it.
    cells.append(_heading("### End of the chapter"))
    return cells


def _unnumbered(exercise):
    """An ``{exercise}`` directive that jupyterlab-myst shows without a number of its own: it would
    count per notebook ("Exercise 5"), and the heading above it gives the book's ("Exercise 2.5")."""
    first, _, rest = exercise.partition("\n")
    return f"{first}\n:nonumber:\n{rest}"


def _figure_numbers(cells, prefix=""):
    """Figure name -> its number as the book shows it ("2.1", "2.2", … or 1, 2, … in an unnumbered
    page), in the order of the cells that draw them."""
    shown = [c for c in cells
             if c.cell_type == "code" and _figure(c) and "remove-output" not in c.metadata.get("tags", [])]
    return {_figure(c)["name"]: f"{prefix}{k}" for k, c in enumerate(shown, 1) if _figure(c).get("name")}


def _lab_figure_references(markdown, figures):
    """``{numref}`` of a figure drawn by a code cell as "Figure k": jupyterlab-myst knows only
    labels written in Markdown, not the figure names that MyST-NB reads from a cell's metadata."""
    def replace(match):
        text, label = match.group("text"), match.group("label")
        if label not in figures:
            return match.group(0)
        number = str(figures[label])
        return text.replace("%s", number).replace("{number}", number) if text else f"Figure {number}"

    return re.sub(r"\{numref\}`(?:(?P<text>[^`<]*?)\s*<)?(?P<label>[^`<>]+?)>?`", replace, markdown)


def _notebook(chapter, cells, colab=False):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    ids = []
    for index, cell in enumerate(notebook.cells):  # stable ids: diffs of the generated files stay small
        cell.id = f"{Path(chapter).stem[:12]}-{index:03d}"
        if colab:
            cell.metadata["id"] = cell.id         # the id Colab knows a cell by (collapsed_sections)
        if cell.metadata.get("jp-MarkdownHeadingCollapsed"):
            ids.append(cell.id)
    notebook.metadata["colab"] = {"collapsed_sections": ids, "provenance": []}
    return notebook


def student_notebook(chapter, repository=None):
    """The JupyterLab edition of one chapter (an ``nbformat`` v4 notebook)."""
    import nbformat

    notebook = _notebook(chapter, _cells(chapter, repository or _repository_url()))
    nbformat.validate(notebook)
    return notebook


def notebook_text(chapter, repository=None):
    import nbformat

    return nbformat.writes(student_notebook(chapter, repository)) + "\n"


# ----------------------------------------------------------------------------
# The Colab edition: plain Markdown, the chapter's values written in
# ----------------------------------------------------------------------------

def eval_names(chapter):
    """Every variable an ``{eval}`` of the chapter shows (its text and its figures' captions), sorted."""
    import jupytext

    names = set()
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type == "markdown":
            names.update(plain_markdown.eval_names(cell.source))
        elif cell.cell_type == "code" and _figure(cell):
            names.update(plain_markdown.eval_names(_figure(cell).get("caption", "")))
    return sorted(names)


@functools.lru_cache(maxsize=None)
def citation_labels(bibfile=ROOT / "references.bib"):
    """Bibliography key -> the book's author-year label ("Goodfellow et al., 2016"); {} without pybtex."""
    try:
        from pybtex.database import parse_file
    except ImportError:
        return {}
    labels = {}
    for key, entry in parse_file(str(bibfile)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [re.sub(r"[{}]|\\.", "", " ".join(p.last_names) or str(p)) for p in people]
        who = (names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2
               else f"{names[0]} et al." if names else key)
        labels[key] = f"{who}, {entry.fields.get('year', 'n.d.')}" if who != key else key
    return labels


@functools.lru_cache(maxsize=None)
def _chapter_links():
    """Labels and documents of every chapter, for references across chapters: (labels, documents)."""
    labels, documents = {}, {}
    for path in sorted(CHAPTERS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = re.search(r"^# (.+)$", text, re.M)
        if not title:
            continue
        title = title.group(1).strip()
        documents[path.stem] = f"[{title}]({colab_link(path.stem)})"
        for label, heading in re.findall(r"^\(([^()\s]+)\)=\s*\n#+ (.+)$", text, re.M):
            heading = heading.strip()
            text = documents[path.stem] if heading == title else f"*{heading}* (chapter {documents[path.stem]})"
            labels[label] = plain_markdown.Target(text, title=heading)
    return labels, documents


def _image_url(path):
    """An image path of a chapter as a URL that Colab can show (the repository's raw file)."""
    if re.match(r"^[a-z]+:", path):
        return path
    owner_repo = _repository_url().removeprefix("https://github.com/")
    branch = _config()["repository"].get("branch", "main")
    relative = path.lstrip("/") if path.startswith("/") else f"chapters/{path}"
    return f"https://raw.githubusercontent.com/{owner_repo}/{branch}/{relative}"


def colab_notebook(chapter, values, repository=None):
    """The Colab edition of one chapter, with ``values`` (name -> text, from the kernel) written in.

    Raises ``plain_markdown.MissingValue`` if an ``{eval}`` names a variable not in ``values``."""
    import nbformat

    chapter = Path(chapter)
    names = eval_names(chapter)
    missing = [n for n in names if n not in values]
    if missing:
        raise plain_markdown.MissingValue(", ".join(missing))
    labels, documents = _chapter_links()
    converter = plain_markdown.Converter(values, citations=citation_labels(), external=labels,
                                         documents=documents, image_url=_image_url,
                                         prefix=number_prefix(chapter.stem))
    repository = repository or _repository_url()
    _cells(chapter, repository, converter)          # first pass: learn the labels and their numbers
    converter.restart()
    notebook = _notebook(chapter, _cells(chapter, repository, converter), colab=True)
    if converter.unresolved:
        print(f"{chapter.name}: unresolved references (shown as their kind): "
              + ", ".join(sorted(set(converter.unresolved))), file=sys.stderr)
    notebook.metadata["cnnlib"] = {"edition": COLAB, "chapter": f"chapters/{chapter.name}",
                                   "values": {n: values[n] for n in names}}
    nbformat.validate(notebook)
    return notebook


def colab_notebook_text(chapter, values, repository=None):
    import nbformat

    return nbformat.writes(colab_notebook(chapter, values, repository)) + "\n"


def stored_values(path):
    """The values a Colab notebook was generated with (``metadata.cnnlib.values``); {} if none."""
    path = Path(path)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["metadata"].get("cnnlib", {}).get("values", {})


# ----------------------------------------------------------------------------
# Running a chapter's notebook and reading its values from the kernel
# ----------------------------------------------------------------------------

_PROBE_MARK = "cnnlib-eval-values:"
_PROBE = '''def _cnnlib_value(value):  # the text an {{eval}} shows; a Math object as its LaTeX
    if not isinstance(value, str) and callable(getattr(value, "_repr_latex_", None)):
        latex = value._repr_latex_()
        latex = (latex[0] if isinstance(latex, tuple) else latex or "").strip()
        if latex:
            return latex if latex.startswith("$") else "$" + latex + "$"
    return str(value)
print({mark!r} + __import__("json").dumps({{n: _cnnlib_value(globals()[n]) for n in {names!r} if n in globals()}}))
del _cnnlib_value'''


def _probe(names):
    import nbformat

    cell = nbformat.v4.new_code_cell(_PROBE.format(mark=_PROBE_MARK, names=sorted(names)))
    cell.metadata["cnnlib_probe"] = sorted(names)
    return cell


def execute(notebook, folder, timeout=600):
    """Run ``notebook`` (a student notebook, in place) with nbclient, its kernel started in ``folder``;
    return the values of the variables its ``{eval}`` roles show, as the book shows them: each read
    when the cells above its text have run (a Math object as ``$…$``, anything else as ``str``).

    The values are read by small cells inserted for the run and taken out afterwards. A variable
    whose value changes between two texts that show it is an error: a notebook stores one value."""
    from nbclient import NotebookClient

    cells, pending = [], set()
    for cell in notebook.cells:
        if cell.cell_type == "code" and pending:
            cells.append(_probe(pending))
            pending = set()
        cells.append(cell)
        if cell.cell_type == "markdown":
            pending.update(plain_markdown.eval_names(cell.source))
        elif cell.cell_type == "code" and _figure(cell):
            pending.update(plain_markdown.eval_names(_figure(cell).get("caption", "")))
    if pending:
        cells.append(_probe(pending))
    original, notebook.cells = notebook.cells, cells
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        probes, notebook.cells = [c for c in notebook.cells if "cnnlib_probe" in c.metadata], original
    values = {}
    for probe in probes:
        printed = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
        read = json.loads(printed.split(_PROBE_MARK, 1)[1])
        absent = sorted(set(probe.metadata["cnnlib_probe"]) - set(read))
        if absent:
            raise NameError(f"the text shows {', '.join(absent)}, not defined by the cells above it")
        for name, value in read.items():
            if values.setdefault(name, value) != value:
                raise ValueError(f"{name} is shown as {values[name]!r} and later as {value!r}: "
                                 "give the later value a name of its own")
    return values


def run_in_folder(chapter, folder, timeout=600):
    """Write the chapter's student notebook into ``folder`` and run it there (:func:`execute`).
    Returns ``(executed notebook, values)``."""
    import nbformat

    path = Path(folder) / f"{Path(chapter).stem}.ipynb"
    path.write_text(notebook_text(chapter), encoding="utf-8")
    notebook = nbformat.read(path, 4)
    return notebook, execute(notebook, folder, timeout)


# Pages that are notebooks for the build but not for students (they grade homework).
NOT_FOR_STUDENTS = {"instructors"}


def chapter_sources():
    """The chapters that are student notebooks (MyST with a jupytext header), in file order."""
    return [p for p in sorted(CHAPTERS.glob("*.md"))
            if p.stem not in NOT_FOR_STUDENTS and p.read_text(encoding="utf-8").startswith("---\njupytext")]


def _write_or_flag(target, text, check, stale):
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if current == text:
        return
    stale.append(str(target))
    if not check:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a notebook of either edition is out of date; write and run nothing")
    parser.add_argument("--reuse-values", action="store_true",
                        help="do not run the chapters: take the Colab edition's values from the Colab "
                             "notebooks already there (for edits of the prose only)")
    args = parser.parse_args(argv)
    stale, failed = [], []
    for chapter in args.chapters or chapter_sources():
        _write_or_flag(args.out / (chapter.stem + ".ipynb"), notebook_text(chapter), args.check, stale)
        target = args.out / COLAB / (chapter.stem + ".ipynb")
        if args.check or args.reuse_values:
            values = stored_values(target)
        else:
            print(f"running {chapter.name} for the values of its text ...", flush=True)
            with tempfile.TemporaryDirectory(prefix="cnnlib-notebook-") as folder:
                try:
                    values = run_in_folder(chapter, Path(folder))[1]
                except Exception as error:  # a failing chapter: report it, write the others
                    failed.append(f"{chapter.name}: {type(error).__name__}: {str(error)[-2000:]}")
                    continue
        try:
            text = colab_notebook_text(chapter, values)
        except plain_markdown.MissingValue as error:
            if args.check:
                stale.append(f"{target} (no stored value for {error.args[0]})")
                continue
            failed.append(f"{chapter.name}: no value for {error.args[0]}: run `make notebooks` "
                          "(without --reuse-values)")
            continue
        _write_or_flag(target, text, args.check, stale)
    if failed:
        print("\n".join(["failed:"] + failed), file=sys.stderr)
        return 1
    if args.check and stale:
        print("out of date (run `make notebooks`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------
# Sphinx: the launch buttons open the generated notebooks
# ----------------------------------------------------------------------------

def _point_launch_buttons(app, pagename, templatename, context, doctree):
    """Binder opens the JupyterLab edition, ``notebooks/<page>.ipynb``; Colab the Colab edition,
    ``notebooks/colab/<page>.ipynb`` (each only if it exists; else the button keeps the ``.md``)."""
    name = Path(pagename).name
    targets = {"Binder": f"notebooks/{name}.ipynb", "Colab": f"notebooks/{COLAB}/{name}.ipynb"}
    source = f"{pagename}.md"
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []) or []:
            url, target = item.get("url", ""), targets.get(item.get("text"))  # sphinx-book-theme's launch links
            if target and source in url and (Path(app.srcdir) / target).exists():
                item["url"] = url.replace(source, target)


def setup(app):
    app.connect("html-page-context", _point_launch_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())

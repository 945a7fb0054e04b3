"""The book builds, executes every chapter, and a failing cell or warning fails it.

These tests run ``jupyter-book build`` exactly as CI does (every chapter
executed by MyST-NB's inline mode, which runs the kernel on every build and
never reads a cache; warnings as errors). They take a few minutes: the whole book is executed.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from book_build import HEADER, ROOT, build

pytestmark = pytest.mark.book


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    files += [c["file"] for c in toc.get("chapters", [])]
    return files


def tiny_book(tmp_path, cell):
    """A copy of the book's configuration with one page holding ``cell``."""
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copy(ROOT / "references.bib", book / "references.bib")
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(HEADER + f"\n# A page\n\n```{{code-cell}} ipython3\n{cell}\n```\n")
    return book


def test_a_tiny_book_with_good_cells_builds(tmp_path):
    result = build(tiny_book(tmp_path, "x = 6 * 7\nx"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_failing_cell_fails_the_build(tmp_path):
    result = build(tiny_book(tmp_path, "raise RuntimeError('this cell fails on purpose')"))
    assert result.returncode != 0
    assert "this cell fails on purpose" in result.stdout + result.stderr


def test_a_sphinx_warning_fails_the_build(tmp_path):
    book = tiny_book(tmp_path, "1 + 1")
    page = book / "page.md"
    page.write_text(page.read_text() + "\nSee {ref}`a-label-that-does-not-exist`.\n")
    result = build(book)
    assert result.returncode != 0
    assert "a-label-that-does-not-exist" in result.stdout + result.stderr


def test_an_eval_role_shows_the_computed_value(tmp_path):
    book = tiny_book(tmp_path, "answer_text = f'{6 * 7 * 1000:,}'")
    page = book / "page.md"
    page.write_text(page.read_text() + "\nThe answer is {eval}`answer_text`.\n")
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "42,000" in (book / "_build" / "html" / "page.html").read_text()


def test_a_value_used_before_it_is_computed_fails_the_build(tmp_path):
    book = tiny_book(tmp_path, "answer_text = '42'")
    page = book / "page.md"
    text = page.read_text()
    page.write_text(text.replace("# A page\n", "# A page\n\nToo early: {eval}`answer_text`.\n"))
    result = build(book)
    assert result.returncode != 0
    assert "answer_text" in result.stdout + result.stderr


def test_ci_configuration_executes_inline_and_raises():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    execute = config["execute"]
    # inline: the kernel runs while each page is parsed ({eval} needs it); no cache is read
    assert execute["execute_notebooks"] == "inline"
    assert execute["raise_on_error"] is True and execute["allow_errors"] is False
    assert config["only_build_toc_files"] is True


def test_the_book_builds_with_every_chapter_executed(built_book):
    assert (built_book / "index.html").exists()
    for name in toc_files():
        page = built_book / f"{name}.html"
        assert page.exists(), f"{name} is in _toc.yml but was not rendered"
        html = page.read_text()
        assert "Traceback (most recent call last)" not in html, f"{name} shows a traceback"


def test_the_status_page_lists_every_executed_chapter(built_book):
    html = (built_book / "chapters" / "status.html").read_text()
    for name in toc_files():
        source = ROOT / f"{name}.md"
        if source.read_text().startswith("---\njupytext"):
            assert re.search(rf">\s*{re.escape(name)}\s*<", html), f"{name} missing from the status table"

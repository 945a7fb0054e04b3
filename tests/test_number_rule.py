"""The one rule of the text, enforced on every chapter (and shown to bite)."""

from pathlib import Path

import pytest

from numbers_rule import typed_numbers

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "prose"
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def test_there_are_chapters_to_check():
    assert (ROOT / "chapters" / "intro.md") in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_no_typed_numbers_in_prose(chapter):
    typed = typed_numbers(chapter)
    assert not typed, "glue these results instead of typing them:\n" + "\n".join(map(str, typed))


def test_catches_a_typed_result():
    typed = typed_numbers(FIXTURES / "typed_result.md")
    assert [t.text for t in typed] == ["1,000,000,000,000", "37"]  # 37: prose between two fenced blocks


def test_catches_a_typed_result_in_math():
    typed = typed_numbers(FIXTURES / "typed_in_math.md")
    assert [t.text for t in typed] == ["30", "30"]


def test_accepts_glue_setup_sizes_years_figures_and_non_prose():
    assert typed_numbers(FIXTURES / "glued.md") == []


def test_catches_a_typed_result_in_a_figure_caption():
    typed = typed_numbers(FIXTURES / "typed_in_caption.md")
    assert [t.text for t in typed] == ["1,000,000"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_values_are_inserted_with_eval_not_glue(chapter):
    """glue's roles stay raw text in JupyterLab and its figures invisible: {eval} renders in both."""
    text = chapter.read_text()
    assert "{glue" not in text and "myst_nb import glue" not in text, f"{chapter.name} still uses glue"

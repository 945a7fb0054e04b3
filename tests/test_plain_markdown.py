"""MyST down-converted to Colab's plain Markdown (_ext/plain_markdown.py), on small hand-written
inputs whose expected output is written out by hand."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import plain_markdown as pm  # noqa: E402
from plain_markdown import to_plain_markdown as plain  # noqa: E402

# ------------------------------------------------------------------ roles


def test_eval_shows_the_value_not_the_name():
    assert plain("A layer of {eval}`n_text` weights.", {"n_text": "24,300"}) == "A layer of 24,300 weights."


def test_eval_of_a_missing_name_is_an_error_not_a_blank():
    with pytest.raises(pm.MissingValue):
        plain("{eval}`nowhere`", {})


def test_a_value_with_markdown_characters_shows_as_text():
    assert plain("{eval}`v`", {"v": "a*b_c [1] <x> |"}) == r"a\*b\_c \[1\] \<x\> \|"


def test_a_latex_value_stays_math():
    value = r"$\displaystyle \frac{a}{b} = 2{,}000$"
    assert plain("ratio: {eval}`eq`", {"eq": value}) == "ratio: " + value


def test_eval_names_in_order_each_once():
    assert pm.eval_names("{eval}`b` and {eval}`a`, {eval}`b`; `{eval}` is code") == ["b", "a"]


def test_term_shows_its_text():
    assert plain("a {term}`stride` and {term}`multiply-adds <multiply-add>`") == "a stride and multiply-adds"


def test_cite_shows_the_label_or_the_key():
    citations = {"goodfellow2016": "Goodfellow et al., 2016"}
    assert plain("as shown {cite}`goodfellow2016`.", citations=citations) == "as shown [Goodfellow et al., 2016]."
    assert plain("{cite}`goodfellow2016,src002`", citations=citations) == "[Goodfellow et al., 2016; src002]"
    assert plain("{cite:p}`x`") == "[x]"


def test_math_role_is_dollar_math():
    assert plain("so {math}`a^2 + b^2` holds") == "so $a^2 + b^2$ holds"


def test_code_spans_are_left_alone():
    assert plain("write `{eval}` and `x = 1`") == "write `{eval}` and `x = 1`"


def test_a_role_split_over_two_lines():
    assert plain("the {term}`feature\nmap` here") == "the feature\nmap here"


def test_unknown_role_shows_its_text():
    assert plain("{sub}`2` and {abbr}`CNN (convolutional network)` and {foo}`bar`") == \
        "<sub>2</sub> and CNN and bar"


# ------------------------------------------------------------------ labels and references


def test_label_lines_are_removed_and_name_their_heading():
    source = "(sec-pad)=\n## Zero padding\n\nSee {ref}`sec-pad`."
    assert plain(source) == "## Zero padding\n\nSee *Zero padding*."


def test_ref_with_its_own_text():
    assert plain("(a)=\n# A\n\n{ref}`the first part <a>`") == "# A\n\nthe first part"


def test_numref_and_prf_ref_name_the_number_in_this_document_even_forwards():
    source = """See {prf:ref}`prop-b` and {numref}`fig-x` ({numref}`Fig. %s <fig-x>`).

```{prf:theorem} First
:label: thm-a

A.
```

```{prf:proposition} Second
:label: prop-b

B.
```

```{figure} img/x.png
:name: fig-x
:alt: an x

The x.
```
"""
    assert plain(source) == """See Proposition 1 and Figure 1 (Fig. 1).

**Theorem 1** (First). A.

**Proposition 1** (Second). B.

![an x](img/x.png)

**Figure 1.** The x."""


def test_an_unknown_target_reads_as_its_kind():
    converter = pm.Converter()
    assert converter.convert("{numref}`fig-elsewhere` and {prf:ref}`thm-far`") == "Figure and Theorem"
    assert converter.unresolved == ["fig-elsewhere", "thm-far"]


def test_targets_of_other_documents_and_doc_links():
    converter = pm.Converter(external={"ch-two": "[Two](https://x/two.ipynb)"},
                             documents={"02_two": "[Two](https://x/two.ipynb)"})
    assert converter.convert("{ref}`ch-two`, {doc}`02_two`, {doc}`the second <02_two>`") == \
        "[Two](https://x/two.ipynb), [Two](https://x/two.ipynb), the second"


# ------------------------------------------------------------------ directives


def test_math_directive_becomes_dollar_dollar():
    assert plain("```{math}\n:label: eq-a\n\na = b\n\nc = d\n```\n\nBy {eq}`eq-a`.") == \
        "$$\na = b\nc = d\n\\tag{1}\n$$\n\nBy (1)."
    assert plain("```{math}\nx\n```") == "$$\nx\n$$"


def test_dollar_math_is_kept_and_its_label_dropped():
    assert plain("$$\nx + y\n$$ (eq-x)\n\nand $a$.") == "$$\nx + y\n\\tag{1}\n$$\n\nand $a$."
    assert plain("Text\n\n$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$") == \
        "Text\n\n$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$"


@pytest.mark.parametrize("name, title", [("note", "Note"), ("tip", "Tip"), ("warning", "Warning"),
                                         ("important", "Important"), ("seealso", "See also")])
def test_admonitions_become_a_quote_with_a_bold_title(name, title):
    assert plain(f"```{{{name}}}\nRead {{term}}`this`.\n\nTwice.\n```") == \
        f"> **{title}**\n>\n> Read this.\n>\n> Twice."


def test_admonition_with_a_title_and_class_options():
    source = "```{admonition} Why it works\n:class: tip dropdown\n\nBecause.\n```"
    assert plain(source) == "> **Why it works**\n>\n> Because."


def test_colon_fence_dropdown():
    assert plain(":::{dropdown} Show the details\nHidden *text*.\n:::") == "> **Show the details**\n>\n> Hidden *text*."


def test_nested_fences_four_backticks_around_three():
    source = "````{note}\nOuter.\n\n```{math}\nx^2\n```\n\n```python\nprint('{eval}`no`')\n```\n````"
    assert plain(source) == "> **Note**\n>\n> Outer.\n>\n> $$\n> x^2\n> $$\n>\n> ```python\n" \
                            "> print('{eval}`no`')\n> ```"


def test_proof_and_definition():
    source = "```{prf:definition} Cyclic shift\n:label: def-shift\n\nMoves $I$.\n```\n\n" \
             "```{prf:proof}\n$$\na\n$$\n\nDone.\n```"
    assert plain(source) == "**Definition 1** (Cyclic shift). Moves $I$.\n\n**Proof.**\n\n$$\na\n$$\n\nDone."


def test_exercise_body_under_its_heading():
    converter = pm.Converter()
    body, title = converter.exercise("```{exercise}\n:label: ex-a\n\nCount the {term}`weights`.\n```", 3)
    assert (body, title) == ("Count the weights.", "")
    assert converter.convert("as in {ref}`ex-a`") == "as in Exercise 3"


def test_exercise_met_inside_text_is_numbered():
    assert plain("```{exercise}\n:label: ex-b\nDo it.\n```\n\nSee {ref}`ex-b`.") == \
        "**Exercise 1.** Do it.\n\nSee Exercise 1."


def test_figure_caption_of_a_code_cell():
    converter = pm.Converter({"n": "7"})
    assert converter.figure_caption("fig-a", "Seven: {eval}`n`\nunits.") == "**Figure 1.** Seven: 7 units."
    assert converter.convert("{numref}`fig-a`") == "Figure 1"


def test_image_and_figure_urls():
    converter = pm.Converter(image_url=lambda path: "https://host/" + path)
    assert converter.convert("```{image} a.png\n:alt: A\n```") == "![A](https://host/a.png)"


def test_glossary_as_a_list():
    source = ("```{glossary}\nstride\n  How far the window moves.\n\n"
              "padding\nzero padding\n  Zeros around the image.\n```")
    assert plain(source) == "- **stride**: How far the window moves.\n" \
                            "- **padding**, **zero padding**: Zeros around the image."


def test_unknown_directive_shows_its_body_never_its_fence():
    assert plain("```{mystery} Title\n:opt: 1\n\nSome *text*.\n```") == "**Title**\n\nSome *text*."
    assert plain("```{toctree}\nchapters/a\n```\n\nAfter.") == "After."


def test_code_block_directive_is_a_plain_fence():
    assert plain("```{code-block} python\n:linenos:\n\nx = 1\n```") == "```python\nx = 1\n```"


def test_comments_and_cell_breaks_are_dropped():
    assert plain("% a comment\nText.\n+++\nMore.") == "Text.\nMore."


def test_a_plain_code_fence_is_verbatim():
    source = "```text\n(label)=\n{term}`x`\n```"
    assert plain(source) == source


def test_unclosed_directive_is_an_error():
    with pytest.raises(ValueError, match="unclosed"):
        plain("```{note}\nno end")


# ------------------------------------------------------------------ the scan for left-over MyST


@pytest.mark.parametrize("markdown", ["{eval}`x`", "a {term}`t` b", "```{note}\nx\n```", ":::{tip}\nx\n:::",
                                      "(sec-a)=\n# A", "{numref}`fig`", "{prf:ref}`p`", "> ```{math}\n> x\n> ```"])
def test_raw_myst_is_found(markdown):
    assert pm.raw_myst(markdown)


@pytest.mark.parametrize("markdown", ["plain $x$ text", "`{eval}` in code", "```python\n{term}`x`\n```",
                                      "a (note) = b", "$$\n\\sum_{i} x\n$$"])
def test_plain_markdown_is_not_flagged(markdown):
    assert pm.raw_myst(markdown) == []


def test_eval_names_inside_a_fenced_directive_are_found():
    text = "Before {eval}`a`.\n\n```{admonition} What the sources say\n:class: sources\nValue {eval}`b` here.\n```\n"
    assert pm.eval_names(text) == ["a", "b"]
    assert pm.eval_names("````{note}\n```{admonition} x\n{eval}`c`\n```\n````") == ["c"]


def test_a_numbered_chapter_numbers_figures_and_exercises_as_the_book_does():
    converter = pm.Converter(prefix="2.")
    assert converter.figure_caption("fig-a", "A.") == "**Figure 2.1.** A."
    assert converter.figure_caption("fig-b", "B.") == "**Figure 2.2.** B."
    assert converter.convert("{numref}`fig-b`") == "Figure 2.2"
    assert converter.convert("```{exercise}\n:label: ex-a\nDo it.\n```").startswith("**Exercise 2.1.**")

"""Every figure the claims audit shows for a claim appears, digit for digit, on the chapter page the claim names.

The audit (``chapters/claims_audit.md``) computes every claim through the
registry ``cnnlib.claims``; the chapters compute the same values with the
same functions and show them in their prose. This test reads both from the
built book: for every row of the audit's table, every figure of its
*computed* column and of its note must appear on the page of the chapter the
row links to, with the same digits and the same formatting (``77.4 %`` does
not match ``77 %``, nor ``8.0 × 10⁹`` ``8.003 × 10⁹``). A claim whose value
the audit computes differently from its chapter fails here.
"""

import html
import re

import pytest

from cnnlib import claims

pytestmark = pytest.mark.book

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
# a number as the book writes it: 1,024  0.45%  77.4 %  3.8e-15  8.003 × 10⁹  10¹²
FIGURE = re.compile(
    rf"(?<![\w.,])(?:\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?(?: × 10[{_SUPERSCRIPTS}]+)?(?: ?%)?|10[{_SUPERSCRIPTS}]+)(?!\w)"
)
ROW = re.compile(
    r'<tr id="claim-(?P<anchor>[^"]+)"><td><code>(?P<id>[^<]+)</code></td><td>.*?</td><td>(?P<computed>.*?)</td>'
    r"<td><strong[^>]*>[^<]*</strong>(?:<br\s*/?><small>(?P<note>.*?)</small>)?</td>"
    r'<td><a href="(?P<chapter>[\w.-]+)\.html">',
    flags=re.S,
)


def page_text(path):
    """The visible text of a built page: no scripts or tags, entities decoded, white space folded."""
    text = path.read_text()
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text)


def figures(text):
    """The figures of a piece of the audit's text, as written (trailing punctuation dropped)."""
    return [f.rstrip(",") for f in FIGURE.findall(text)]


def shows(page, figure):
    """``figure`` stands on ``page`` as a whole number, not inside a longer one."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?!\d|[.,]\d)", page) is not None


def audit_rows(built_book):
    source = (built_book / "chapters" / "claims_audit.html").read_text()
    rows = [m.groupdict() for m in ROW.finditer(source)]
    for row in rows:
        row["computed"] = html.unescape(re.sub(r"<[^>]+>", "", row["computed"]))
        row["note"] = html.unescape(re.sub(r"<[^>]+>", "", row["note"] or ""))
    return rows


def test_the_figure_pattern_by_hand():
    assert figures("1,024 and 77.4 % of 8.003 × 10⁹, 10¹², 3.8e-15 or 0.45%; shifts 1–4") == [
        "1,024", "77.4 %", "8.003 × 10⁹", "10¹²", "3.8e-15", "0.45%", "1", "4"]
    assert shows("it keeps 77.4 % of them", "77.4 %") and not shows("it keeps 77.4 % of them", "77 %")
    assert not shows("a 1,024,000 count", "1,024") and not shows("at 18.05", "8.0")


def test_the_audit_table_lists_every_claim(built_book):
    rows = audit_rows(built_book)
    assert [row["id"] for row in rows] == list(claims.REGISTRY)
    assert all(row["anchor"] == row["id"] for row in rows)  # an aside links a row by #claim-<id>


def test_every_figure_of_the_audit_is_on_the_chapter_it_names(built_book):
    pages, missing = {}, {}
    rows = audit_rows(built_book)
    assert len(rows) == len(claims.REGISTRY), "the audit's rows were not read: nothing would be checked"
    for row in rows:
        name = row["chapter"]
        if name not in pages:
            pages[name] = page_text(built_book / "chapters" / f"{name}.html")
        absent = [f for f in figures(row["computed"] + " " + row["note"]) if not shows(pages[name], f)]
        if absent:
            missing[row["id"]] = (name, absent)
    assert not missing, "figures of the audit that their chapter does not show (claim: chapter, figures):\n" + \
        "\n".join(f"  {i}: {name} {absent}" for i, (name, absent) in missing.items())

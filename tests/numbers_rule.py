"""The one rule of the text: no result in the prose is typed by hand.

``typed_numbers(path)`` returns every number of two or more digits that the
prose of a MyST notebook states (markdown cells, math included), except

* inputs that one of the notebook's code cells sets literally
  (``side = 1000`` allows "a 1000×1000 image");
* a year in a citation ("LeCun et al. 1989", "Zhang (2019)");
* figure, section, chapter, table or equation numbers ("fig. 9.6", "§ 2.12");

and ignoring what is not prose: code cells, inline code, glue and reference
roles, directive options, labels, link targets and HTML comments.
"""

import io
import re
import tokenize
from dataclasses import dataclass

import jupytext

# roles whose content is a key or a target, never prose
_ROLE = re.compile(r"\{(glue(:\w*)?|ref|numref|doc|cite(:\w+)?|prf:ref|eq|download|term|abbr|sub-ref)\}`[^`]*`")
_INLINE_CODE = re.compile(r"``.+?``|`[^`\n]+`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_OPTION_LINE = re.compile(r"^\s*:[\w-]+:.*$", re.M)
_LABEL_LINE = re.compile(r"^\s*\([\w:.-]+\)=\s*$", re.M)
_GLUE_DIRECTIVE = re.compile(r"^\s*(```|:::)\{glue(:\w+)?\}.*$", re.M)
_URL = re.compile(r"https?://\S+")
_FENCED_CODE = re.compile(r"^(```+)(?!\{)[^\n]*\n.*?^\1\s*$", re.M | re.S)
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\w])")
_YEAR = re.compile(r"(?:et al\.?|[A-Z][\w-]+(?: and [A-Z][\w-]+)?),?\s*\(?\s*$")
_FIGURE_REF = re.compile(r"(?:fig(?:ure)?s?\.?|sec(?:tion)?s?\.?|§|ch(?:apter)?s?\.?|table|eq(?:uation)?\.?)\s*$", re.I)


@dataclass(frozen=True)
class TypedNumber:
    path: str
    cell: int
    text: str
    context: str

    def __str__(self):
        return f"{self.path}, markdown cell {self.cell}: typed number {self.text!r} in “…{self.context}…”"


def _value(text):
    clean = text.replace(",", "")
    try:
        return float(clean)
    except ValueError:
        return None


def code_literals(source):
    """Every numeric literal in a code cell (as floats), ignoring unparsable code."""
    values = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NUMBER:
                try:
                    values.add(float(eval(tok.string.replace("_", ""))))  # noqa: S307 - a literal
                except (SyntaxError, ValueError, TypeError):
                    pass
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return values


def prose_of(markdown):
    """The prose of one markdown cell, with the non-prose parts blanked out."""
    text = _HTML_COMMENT.sub(" ", markdown)
    text = _FENCED_CODE.sub(" ", text)
    text = _GLUE_DIRECTIVE.sub(" ", text)
    text = _OPTION_LINE.sub(" ", text)
    text = _LABEL_LINE.sub(" ", text)
    text = _ROLE.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _LINK_TARGET.sub("] ", text)
    text = _URL.sub(" ", text)
    return text


def typed_numbers(path):
    notebook = jupytext.read(path)
    allowed = set()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            allowed |= code_literals(cell.source)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        prose = prose_of(cell.source)
        for match in _NUMBER.finditer(prose):
            text = match.group()
            digits = re.sub(r"\D", "", text)
            if len(digits) < 2:
                continue
            before = prose[max(0, match.start() - 40): match.start()]
            if _value(text) in allowed:
                continue
            if len(digits) == 4 and re.fullmatch(r"(19|20)\d\d", text) and _YEAR.search(before):
                continue
            if _FIGURE_REF.search(before):
                continue
            context = prose[max(0, match.start() - 30): match.end() + 30].replace("\n", " ")
            found.append(TypedNumber(str(path), index, text, context))
    return found

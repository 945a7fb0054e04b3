"""The one rule of the text: no result in the prose is typed by hand.

``typed_numbers(path)`` returns every number of two or more digits that the
prose of a MyST notebook states (markdown cells, math included, and the
captions of figures that code cells make), except

* inputs that one of the notebook's code cells sets literally
  (``side = 1000`` allows "a 1000×1000 image");
* a year in a citation ("LeCun et al. 1989", "Zhang (2019)");
* figure, section, chapter, table or equation numbers ("fig. 9.6", "§ 2.12");
* a software version ("Python 3.11");

and ignoring what is not prose: code cells, inline code, glue and reference
roles (``{eval}``, ``{glue:text}``, references), directive options, labels, link targets and HTML comments.
"""

import io
import re
import tokenize
from dataclasses import dataclass

import jupytext

# roles whose content is a key or a target, never prose
_ROLE = re.compile(r"\{(eval|glue(:\w*)?|ref|numref|doc|cite(:\w+)?|prf:ref|eq|download|term|abbr|sub-ref)\}`[^`]*`")
_INLINE_CODE = re.compile(r"``.+?``|`[^`\n]+`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_OPTION_LINE = re.compile(r"^\s*:[\w-]+:.*$", re.M)
_LABEL_LINE = re.compile(r"^\s*\([\w:.-]+\)=\s*$", re.M)
_GLUE_DIRECTIVE = re.compile(r"^\s*(```|:::)\{glue(:\w+)?\}.*$", re.M)
_URL = re.compile(r"https?://\S+")
_FENCE = re.compile(r"^\s*(```+|:::+)(.*)$")
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\w])")
_YEAR = re.compile(r"(?:et al\.?|[A-Z][\w-]+(?: and [A-Z][\w-]+)?),?\s*\(?\s*$")
_VERSION = re.compile(r"(?:Python|PyTorch|torch|NumPy|version)\s*$")
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


def _without_code_blocks(text):
    """Blank out fenced code blocks (```bash …```), keeping directive bodies (```{note} …```).

    Fences are matched line by line, so the closing fence of a directive is never
    taken for the opening of a code block."""
    kept, stack = [], []  # stack: (fence, is_code) of the open blocks
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match and stack and match.group(1) == stack[-1][0] and not match.group(2).strip():
            stack.pop()
            kept.append("")
            continue
        if match and not (stack and stack[-1][1]):
            is_code = not match.group(2).strip().startswith("{")
            stack.append((match.group(1), is_code))
            kept.append("" if is_code else line)
            continue
        kept.append("" if any(code for _, code in stack) else line)
    return "\n".join(kept)


def prose_of(markdown):
    """The prose of one markdown cell, with the non-prose parts blanked out."""
    text = _HTML_COMMENT.sub(" ", markdown)
    text = _without_code_blocks(text)
    text = _GLUE_DIRECTIVE.sub(" ", text)
    text = _OPTION_LINE.sub(" ", text)
    text = _LABEL_LINE.sub(" ", text)
    text = _ROLE.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _LINK_TARGET.sub("] ", text)
    text = _URL.sub(" ", text)
    return text


def figure_caption(cell):
    """The caption of the figure a code cell makes (MyST-NB cell metadata), or ''."""
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    return str(figure.get("caption", "")) if isinstance(figure, dict) else ""


def typed_numbers(path):
    notebook = jupytext.read(path)
    allowed = set()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            allowed |= code_literals(cell.source)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            prose = prose_of(cell.source)
        else:  # a figure made by a code cell: its caption is prose (mystnb.figure.caption)
            prose = prose_of(figure_caption(cell))
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
            if _FIGURE_REF.search(before) or _VERSION.search(before):
                continue
            context = prose[max(0, match.start() - 30): match.end() + 30].replace("\n", " ")
            found.append(TypedNumber(str(path), index, text, context))
    return found

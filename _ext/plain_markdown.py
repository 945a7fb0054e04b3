"""MyST Markdown down-converted to the plain Markdown that Google Colab renders.

Colab's Markdown is CommonMark with GitHub's tables, ``$…$``/``$$…$$`` LaTeX
and a little HTML; it knows no MyST. A chapter's text cell goes through
:class:`Converter`, which writes

* ``{eval}`name``` as the value the chapter computed (given, never computed
  here), a Math object's LaTeX as ``$…$``;
* ``{term}``, ``{ref}``, ``{numref}``, ``{prf:ref}``, ``{doc}``, ``{cite}``
  and ``{math}`` roles as the text a reader needs ("Figure 2", a section's
  title, "[Goodfellow et al., 2016]", ``$…$``);
* ``(label)=`` lines and ``%`` comments as nothing (the label is remembered
  for the references to it);
* directives as Markdown: ``{math}`` as ``$$…$$``; admonitions (``note``,
  ``tip``, ``admonition``, ``dropdown``, …) as a blockquote starting with the
  bold title; ``{prf:…}`` as a bold, numbered title and the body; figures and
  images as Markdown images with a bold caption; ``{glossary}`` as a list;
  anything else as its body, never its fence.

Numbers (figures, propositions, exercises) count within the document, so a
reference names what the reader sees in the same notebook. References may
point forwards: convert the document once to learn its labels,
:meth:`Converter.restart`, then convert it again (:func:`to_plain_markdown`
does both).
"""

import re
from collections import Counter
from dataclasses import dataclass, field

ADMONITION_TITLES = {
    "note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important", "warning": "Warning",
    "caution": "Caution", "attention": "Attention", "danger": "Danger", "error": "Error",
    "seealso": "See also", "todo": "To do",
}
# directives whose argument is their title, shown like an admonition
TITLED_BOXES = {"admonition", "dropdown", "topic", "sidebar", "margin", "card", "tab-item", "epigraph",
                "pull-quote", "highlights"}
PROOF_KINDS = {
    "theorem": "Theorem", "lemma": "Lemma", "definition": "Definition", "proposition": "Proposition",
    "corollary": "Corollary", "remark": "Remark", "example": "Example", "conjecture": "Conjecture",
    "axiom": "Axiom", "observation": "Observation", "criterion": "Criterion", "algorithm": "Algorithm",
    "property": "Property", "assumption": "Assumption", "notation": "Notation",
}
# directives that show nothing useful outside the book
DROPPED = {"toctree", "tableofcontents", "bibliography", "nb-exec-table", "raw", "include", "literalinclude",
           "only", "index"}
# when a reference's target is unknown (another document): what the book would call it, by label prefix
KIND_BY_PREFIX = {"fig": "Figure", "tab": "Table", "table": "Table", "eq": "Equation", "ex": "Exercise",
                  "sec": "Section", "ch": "Chapter", "thm": "Theorem", "prop": "Proposition",
                  "def": "Definition", "cor": "Corollary", "lem": "Lemma"}

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,}|:{3,})(.*)$")
_DIRECTIVE_INFO = re.compile(r"^\{([A-Za-z][\w:.-]*)\}\s*(.*)$")
_OPTION = re.compile(r"^:([\w-]+):\s*(.*)$")
_LABEL_LINE = re.compile(r"^ {0,3}\(([^()\s]+)\)=\s*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MATH_CLOSE = re.compile(r"^(.*?)\$\$\s*(?:\(([^()\s]+)\))?\s*$")
_INLINE = re.compile(
    r"(?P<role>\{(?P<name>[A-Za-z][\w:.+-]*)\})?(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")


class MissingValue(KeyError):
    """An ``{eval}`` names a variable whose value was not given."""


@dataclass
class Directive:
    """A fenced MyST directive: ``name``, its ``argument``, ``options`` and ``body``."""
    name: str
    argument: str = ""
    options: dict = field(default_factory=dict)
    body: str = ""


@dataclass
class Target:
    """What a reference to a label shows: ``text`` ("Figure 2"), and the number and title if any."""
    text: str
    number: str = ""
    title: str = ""


# --------------------------------------------------------------- small pieces

_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*$", re.M)


def eval_names(markdown):
    """The variable names of the ``{eval}`` roles in ``markdown``, in order, each once (those in the
    body of a fenced directive too: a fence line is not a run of inline-code backticks)."""
    names = []
    for match in _INLINE.finditer(_FENCE_LINE.sub("", markdown)):
        if match.group("name") == "eval" and match.group("content").strip() not in names:
            names.append(match.group("content").strip())
    return names


def escape_markdown(text):
    """``text`` with the characters that Markdown would read as markup escaped (``2*3`` -> ``2\\*3``)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def value_as_markdown(value):
    """A value computed by a chapter, as Markdown: LaTeX (``$…$``) as it is, any other text escaped."""
    value = str(value)
    if len(value) > 2 and value.startswith("$") and value.endswith("$"):
        return value
    return escape_markdown(value)


def blockquote(markdown):
    """Every line of ``markdown`` quoted with ``>``."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in markdown.strip("\n").split("\n"))


def display_math(body, tag=None):
    """A ``$$`` block (with ``\\tag{tag}`` when numbered); blank lines, which end a Markdown block, dropped."""
    lines = [line for line in body.strip("\n").split("\n") if line.strip()]
    if tag:
        lines.append(rf"\tag{{{tag}}}")
    return "$$\n" + "\n".join(lines) + "\n$$"


def bold_title(name, title=""):
    """``**Theorem 1** (Title).``, or ``**Theorem 1.**`` without a title."""
    return f"**{name}** ({title})." if title else f"**{name}.**"


def lead_in(title, body):
    """``title`` in front of ``body``: on its first line when that is prose, else as a paragraph of its own."""
    body = body.strip("\n")
    if not body:
        return title
    first = body.split("\n", 1)[0].lstrip()
    if first and not re.match(r"(\$\$|>|#|[-*+] |\d+[.)] |\||```|~~~|<|!\[)", first):
        return f"{title} {body}"
    return f"{title}\n\n{body}"


def split_explicit(content):
    """``"text <target>"`` -> ``("text", "target")``; ``"target"`` -> ``(None, "target")``."""
    match = _EXPLICIT.match(content.strip())
    if match and match.group("text"):
        return match.group("text"), match.group("target").strip()
    return None, content.strip()


def parse_directive(lines):
    """A directive from its lines, opening and closing fence included: name, argument, options, body."""
    info = _FENCE_OPEN.match(lines[0]).group(3).strip()
    name, argument = _DIRECTIVE_INFO.match(info).groups()
    inner = lines[1:-1]
    options, i = {}, 0
    if inner and inner[0].strip() == "---":  # YAML options
        import yaml

        end = next((k for k in range(1, len(inner)) if inner[k].strip() == "---"), None)
        if end is not None:
            options = yaml.safe_load("\n".join(inner[1:end])) or {}
            i = end + 1
    else:
        while i < len(inner) and _OPTION.match(inner[i]):
            key, value = _OPTION.match(inner[i]).groups()
            options[key] = value
            i += 1
    body = "\n".join(inner[i:]).strip("\n")
    return Directive(name, argument.strip(), {str(k): v for k, v in options.items()}, body)


def split_blocks(markdown):
    """``markdown`` as a list of ``(kind, content)``, kind one of ``"text"``, ``"code"`` (a plain fence,
    kept verbatim), ``"math"`` (``(body, label)``), ``"amsmath"`` (a bare ``\\begin…\\end`` environment)
    and ``"directive"`` (a :class:`Directive`). Fences close as in CommonMark: the same character, at
    least as many times, so a four-backtick directive may hold three-backtick ones."""
    lines, blocks, text, i = markdown.split("\n"), [], [], 0

    def flush():
        if any(line.strip() for line in text):
            blocks.append(("text", "\n".join(text).strip("\n")))
        text.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        directive = fence and _DIRECTIVE_INFO.match(fence.group(3).strip())
        if fence and (directive or fence.group(2)[0] != ":"):
            char, width = fence.group(2)[0], len(fence.group(2))
            closing = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{width},}}\s*$")
            end = next((k for k in range(i + 1, len(lines)) if closing.match(lines[k])), None)
            if end is None:
                if directive:
                    raise ValueError(f"unclosed {{{directive.group(1)}}} directive: {line!r}")
                end = len(lines)  # CommonMark: an unclosed code fence runs to the end
                lines = lines + [char * width]
            flush()
            chunk = lines[i:end + 1]
            blocks.append(("directive", parse_directive(chunk)) if directive else ("code", "\n".join(chunk)))
            i = end + 1
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):
            flush()
            rest = stripped[2:]
            close = _MATH_CLOSE.match(rest)
            if close and "$$" in rest:          # one line: $$ x $$ (label)
                blocks.append(("math", (close.group(1), close.group(2))))
                i += 1
                continue
            body = [rest] if rest else []
            i += 1
            while i < len(lines):
                close = _MATH_CLOSE.match(lines[i].strip())
                if close and "$$" in lines[i]:
                    body.append(close.group(1))
                    blocks.append(("math", ("\n".join(body), close.group(2))))
                    break
                body.append(lines[i])
                i += 1
            else:
                raise ValueError("unclosed $$ block")
            i += 1
            continue
        environment = re.match(r"^\\begin\{([\w*]+)\}", stripped)
        if environment:
            end_line = "\\end{" + environment.group(1) + "}"
            end = next((k for k in range(i, len(lines)) if lines[k].strip().endswith(end_line)), None)
            if end is not None:
                flush()
                blocks.append(("amsmath", "\n".join(lines[i:end + 1])))
                i = end + 1
                continue
        text.append(line)
        i += 1
    flush()
    return blocks


# --------------------------------------------------------------- the converter

class Converter:
    """Converts one document's MyST, cell by cell, into Colab's Markdown.

    ``values``: variable name -> value (text) for ``{eval}``; ``citations``: bibliography key ->
    label ("Goodfellow et al., 2016"); ``external``: label -> :class:`Target` (or text) of other
    documents; ``documents``: document name -> text (Markdown) for ``{doc}``; ``image_url``: maps an
    image path of the source to the URL the notebook shows.
    """

    def __init__(self, values=None, citations=None, external=None, documents=None, image_url=None, prefix=""):
        self.values = dict(values or {})
        self.prefix = prefix       # the chapter's number and a dot ("2."): numbers read "Figure 2.1"
        self.citations = dict(citations or {})
        self.external = {k: v if isinstance(v, Target) else Target(str(v)) for k, v in (external or {}).items()}
        self.documents = dict(documents or {})
        self.image_url = image_url or (lambda path: path)
        self.targets = {}          # this document's labels, kept across restart()
        self.unresolved = []
        self.restart()

    def restart(self):
        """Start the document again (second pass): the numbering restarts, the labels found stay."""
        self.counters = Counter()
        self.unresolved = []
        self._pending_labels = []

    # ---- labels and numbers

    def register(self, label, text, number="", title=""):
        """Remember what a reference to ``label`` shows."""
        if label:
            self.targets[label] = Target(text, str(number), title)

    def next_number(self, kind):
        """The next number of ``kind`` in this document, as the book shows it ("3", or "2.3")."""
        self.counters[kind] += 1
        return f"{self.prefix}{self.counters[kind]}"

    def target(self, label):
        found = self.targets.get(label) or self.external.get(label)
        if found is None:
            self.unresolved.append(label)
        return found

    # ---- whole cells

    def convert(self, markdown):
        """A MyST Markdown text (a cell, a directive's body, a caption) as Colab Markdown."""
        parts = []
        for kind, content in split_blocks(markdown):
            if kind == "text":
                converted = self.text(content)
            elif kind == "code":
                self._pending_labels = []
                converted = content
            elif kind == "math":
                converted = self.math_block(*content)
            elif kind == "amsmath":
                converted = display_math(content)
            else:
                converted = self.directive(content)
            if converted.strip():
                parts.append(converted.strip("\n"))
        return "\n\n".join(parts)

    def text(self, markdown):
        """Prose: label lines and comments removed, headings' labels remembered, roles converted."""
        kept = []
        for line in markdown.split("\n"):
            label = _LABEL_LINE.match(line)
            if label:
                self._pending_labels.append(label.group(1))
                continue
            if re.match(r"^ {0,3}%", line) or re.match(r"^\+\+\+(\s|$)", line):
                continue                  # a MyST comment; a cell break
            if line.strip() and self._pending_labels:
                heading = _HEADING.match(line)
                if heading:
                    title = self.inline(heading.group(2))
                    for name in self._pending_labels:
                        self.register(name, f"*{title}*", title=title)
                self._pending_labels = []
            kept.append(line)
        return self.inline("\n".join(kept))

    def inline(self, markdown):
        """Roles converted; literal code spans kept as they are."""
        return _INLINE.sub(self._inline_match, markdown)

    def _inline_match(self, match):
        if not match.group("role"):
            return match.group(0)     # `code`, not a role: verbatim
        return self.role(match.group("name"), match.group("content"))

    # ---- roles

    def role(self, name, content):
        """One role, ``{name}`content```, as Markdown."""
        text, target = split_explicit(content)
        if name == "eval":
            key = content.strip()
            if key not in self.values:
                raise MissingValue(key)
            return value_as_markdown(self.values[key])
        if name == "term":
            return text or target
        if name == "abbr":                     # {abbr}`CNN (convolutional network)`
            return re.sub(r"\s*\(.*\)$", "", content.strip(), flags=re.S)
        if name == "math":
            return f"${content.strip()}$"
        if name in ("sub", "sup", "kbd"):
            return f"<{name}>{content}</{name}>"
        if name in ("numref", "ref", "prf:ref", "eq", "any", "doc") or name.startswith("external"):
            return self.reference(name, text, target)
        if name == "cite" or name.startswith("cite:"):
            keys = [k.strip() for k in target.split(",") if k.strip()]
            return "[" + "; ".join(self.citations.get(k, k) for k in keys) + "]"
        if name in ("code", "literal", "file", "samp", "command", "program"):
            return f"`{content}`"
        if name in ("guilabel", "menuselection", "dfn", "emphasis"):
            return f"*{content.strip()}*"
        if name in ("strong",):
            return f"**{content.strip()}**"
        return text or target                  # unknown role: its text

    def reference(self, role, text, label):
        """A cross-reference as the text the reader needs: its own text, else the target's."""
        if role == "doc":
            name = label.rstrip("/").rsplit("/", 1)[-1].removesuffix(".md").removesuffix(".ipynb")
            return text or self.documents.get(name, f"*{name}*")
        found = self.target(label)
        if role == "numref" and text and found:
            return text.replace("%s", found.number).replace("{number}", found.number).replace(
                "{name}", found.title or found.text)
        if text:
            return text
        if found:
            return f"({found.number})" if role == "eq" and found.number else found.text
        prefix = re.split(r"[-_:]", label, maxsplit=1)[0].lower()
        return KIND_BY_PREFIX.get(prefix, f"*{label}*")

    # ---- blocks

    def math_block(self, body, label=None):
        if label:
            number = self.next_number("equation")
            self.register(label, f"({number})", number)
            return display_math(body, tag=number)
        return display_math(body)

    def directive(self, d):
        """One directive as Markdown (see the module's docstring)."""
        self._pending_labels = []
        name, label = d.name, d.options.get("label") or d.options.get("name")
        if name == "math":
            return self.math_block(d.body, label)
        if name in ADMONITION_TITLES or name in TITLED_BOXES:
            title = self.inline(d.argument) if d.argument else ADMONITION_TITLES.get(name, "")
            body = self.convert(d.body)
            return blockquote(f"**{title}**\n\n{body}" if title else body) if (title or body) else ""
        if name.startswith("prf:"):
            return self.proof_block(name.split(":", 1)[1], d, label)
        if name in ("figure", "image", "eval:figure"):
            return self.figure(d, label)
        if name in ("code-block", "code", "sourcecode", "code-cell"):
            fence = "````" if "```" in d.body else "```"
            return f"{fence}{d.argument.split()[0] if d.argument else ''}\n{d.body}\n{fence}"
        if name == "glossary":
            return self.glossary(d.body)
        if name == "exercise":
            number = self.next_number("exercise")
            self.register(label, f"Exercise {number}", number, d.argument)
            return lead_in(bold_title(f"Exercise {number}", self.inline(d.argument)), self.convert(d.body))
        if name in ("solution", "solution-start"):
            return lead_in("**Solution.**", self.convert(d.body))
        if name in ("table", "list-table", "csv-table"):
            number = self.next_number("table")
            self.register(label, f"Table {number}", number, d.argument)
            caption = f"**Table {number}.** {self.inline(d.argument)}".rstrip()
            return caption + ("\n\n" + self.convert(d.body) if name == "table" else "\n\n" + d.body)
        if name in DROPPED or name == "solution-end":
            return ""
        body = self.convert(d.body)                    # anything else: its body, as text
        if d.argument and body:
            return f"**{self.inline(d.argument)}**\n\n{body}"
        return body

    def exercise(self, markdown, number):
        """An ``{exercise}`` directive (its whole text) numbered ``number`` by the caller, who writes the
        heading: returns ``(body, title)``, the body as Markdown, the title ("" if none)."""
        ((kind, d),) = split_blocks(markdown)
        if kind != "directive" or d.name != "exercise":
            raise ValueError(f"not an exercise directive: {markdown[:80]!r}")
        title = self.inline(d.argument) if d.argument else ""
        self.register(d.options.get("label"), f"Exercise {number}", number, title)
        return self.convert(d.body), title

    def proof_block(self, kind, d, label):
        if kind == "proof":
            return lead_in("**Proof.**", self.convert(d.body))
        word = PROOF_KINDS.get(kind, kind.replace("-", " ").capitalize())
        title = self.inline(d.argument) if d.argument else ""
        if "nonumber" in d.options:
            self.register(label, word, "", title)
        else:
            number = self.next_number(f"prf:{kind}")
            word = f"{word} {number}"
            self.register(label, word, number, title)
        return lead_in(bold_title(word, title), self.convert(d.body))

    def figure_caption(self, label, caption):
        """A figure drawn by a code cell: its number, and its caption as a line of bold-led Markdown."""
        number = self.next_number("figure")
        self.register(label, f"Figure {number}", number, caption)
        text = " ".join(self.convert(caption or "").split("\n")).strip()
        return f"**Figure {number}.** {text}".rstrip()

    def figure(self, d, label):
        alt = str(d.options.get("alt", "")).replace("\n", " ").replace("]", "\\]")
        image = f"![{alt}]({self.image_url(d.argument)})" if d.argument and d.name != "eval:figure" else ""
        if d.name == "image":
            return image
        caption = self.figure_caption(label, d.body)
        return f"{image}\n\n{caption}" if image else caption

    def glossary(self, body):
        """A glossary's entries as a list: ``- **term**: definition``."""
        entries, terms, definition = [], [], []

        def close():
            if terms:
                entries.append("- " + ", ".join(f"**{self.inline(t)}**" for t in terms) + ": "
                               + " ".join(self.inline(" ".join(definition)).split()))

        for line in body.split("\n"):
            if not line.strip() or line.lstrip().startswith(":"):
                continue
            if line[0] not in " \t":
                if definition:
                    close()
                    terms, definition = [], []
                terms.append(line.strip())
            else:
                definition.append(line.strip())
        close()
        return "\n".join(entries)


def to_plain_markdown(markdown, values=None, **kwargs):
    """One MyST text as Colab Markdown: converted twice, so that references may point forwards."""
    converter = Converter(values, **kwargs)
    converter.convert(markdown)
    converter.restart()
    return converter.convert(markdown)


# what must never reach a Colab notebook's Markdown: a role; a directive's fence, a colon fence or a
# label line (also inside a quote)
RAW_ROLE = re.compile(r"\{[A-Za-z][\w:.+-]*\}`")
RAW_LINE = re.compile(r"^(?:> ?)* {0,3}(?:(?:`{3,}|~{3,}|:{3,})\s*\{|:::|\([^()\s]+\)=\s*$)", re.M)


def raw_myst(markdown):
    """The MyST left in ``markdown`` (roles, directive fences, label lines), outside literal code."""
    found = []
    for kind, content in split_blocks_literal(markdown):
        if kind == "text":
            found += [m.group(0) for m in RAW_LINE.finditer(content)]
            found += [m.group(0) for m in RAW_ROLE.finditer(_strip_code_spans(content))]
    return found


def split_blocks_literal(markdown):
    """``markdown`` as ``("text" | "code", content)``: plain code fences apart, nothing interpreted."""
    blocks, text, lines, i = [], [], markdown.split("\n"), 0
    while i < len(lines):
        fence = _FENCE_OPEN.match(lines[i])
        if fence and fence.group(2)[0] != ":" and not _DIRECTIVE_INFO.match(fence.group(3).strip()):
            char, width = fence.group(2)[0], len(fence.group(2))
            closing = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{width},}}\s*$")
            end = next((k for k in range(i + 1, len(lines)) if closing.match(lines[k])), len(lines))
            blocks.append(("text", "\n".join(text)))
            blocks.append(("code", "\n".join(lines[i:end + 1])))
            text, i = [], end + 1
            continue
        text.append(lines[i])
        i += 1
    blocks.append(("text", "\n".join(text)))
    return blocks


def _strip_code_spans(markdown):
    """Literal code spans blanked (a role's backticks, ``{term}`x```, are not a literal code span)."""
    return _INLINE.sub(lambda m: m.group(0) if m.group("role") else " ", markdown)

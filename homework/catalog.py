"""What each homework contains, read from its master (no notebook is executed).

A master is a MyST Markdown notebook ``homework/hwNN_topic.md`` in otter-grader's
format: a raw ``# ASSIGNMENT CONFIG`` cell, then questions between raw
``# BEGIN QUESTION`` / ``# END QUESTION`` cells whose YAML gives ``name``,
``points`` and ``manual``. The config cell also carries three keys of our own,
``chapter``, ``title`` and ``covers``, that the build removes before otter sees
them. The book's "For instructors" page and the build both read this module.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import yaml

HOMEWORK = Path(__file__).resolve().parent
OUR_KEYS = ("chapter", "title", "covers")

_CONFIG = re.compile(r"^\s*#\s*ASSIGNMENT\s+CONFIG\s*$", re.I)
_BEGIN = {kind: re.compile(rf"^\s*#\s*BEGIN\s+{kind}\b", re.I) for kind in ("QUESTION", "TESTS")}
_END = {kind: re.compile(rf"^\s*#\s*END\s+{kind}\b", re.I) for kind in ("QUESTION", "TESTS")}
_TEST_CONFIG = re.compile(r'^(?:.\s*=\s*)?""?"?\s*#\s*BEGIN\s*TEST\s*CONFIG', re.I)


@dataclass
class Question:
    name: str
    points: float
    manual: bool = False
    title: str = ""
    public_tests: int = 0
    hidden_tests: int = 0


@dataclass
class Assignment:
    name: str
    path: Path
    chapter: str
    title: str
    covers: str
    config: dict
    questions: list = field(default_factory=list)

    @property
    def auto_points(self):
        return sum(q.points for q in self.questions if not q.manual)

    @property
    def manual_points(self):
        return sum(q.points for q in self.questions if q.manual)

    @property
    def total_points(self):
        return self.auto_points + self.manual_points

    def manifest(self):
        """A JSON-ready summary, written next to the built assignment for the grader."""
        return {
            "name": self.name,
            "chapter": self.chapter,
            "title": self.title,
            "notebook": f"{self.name}.ipynb",
            "questions": [
                {"name": q.name, "points": q.points, "manual": q.manual, "title": q.title}
                for q in self.questions
            ],
            "auto_points": self.auto_points,
            "manual_points": self.manual_points,
        }


def _first_line(source):
    lines = source.strip().splitlines()
    return lines[0] if lines else ""


def config_of(cell):
    """The YAML of a raw ``# ASSIGNMENT CONFIG`` cell, or ``None`` for any other cell."""
    if cell.cell_type != "raw" or not _CONFIG.match(_first_line(cell.source)):
        return None
    return yaml.safe_load(cell.source.split("\n", 1)[1]) or {}


def _is_hidden(source):
    first = _first_line(source)
    if _TEST_CONFIG.match(first):
        header = source.split("END TEST CONFIG", 1)[0].split("\n", 1)[1]
        return bool((yaml.safe_load(header.rsplit("\n", 1)[0]) or {}).get("hidden", False))
    return first.lstrip().startswith("#") and bool(re.search(r"\bhidden\b", first, re.I))


def read(path):
    """The :class:`Assignment` described by the master at ``path``."""
    path = Path(path)
    notebook = jupytext.read(path)
    config, questions, current, in_tests = None, [], None, False
    for cell in notebook.cells:
        first = _first_line(cell.source)
        if config is None and config_of(cell) is not None:
            config = config_of(cell)
        elif cell.cell_type == "raw" and _BEGIN["QUESTION"].match(first):
            spec = yaml.safe_load(cell.source.split("\n", 1)[1])
            if "points" not in spec:
                raise ValueError(f"{path.name}: question {spec.get('name')} does not say its points")
            current = Question(spec["name"], spec["points"], bool(spec.get("manual", False)))
            questions.append(current)
        elif cell.cell_type == "raw" and _END["QUESTION"].match(first):
            current = None
        elif cell.cell_type == "raw" and _BEGIN["TESTS"].match(first):
            in_tests = True
        elif cell.cell_type == "raw" and _END["TESTS"].match(first):
            in_tests = False
        elif in_tests and cell.cell_type == "code":
            if _is_hidden(cell.source):
                current.hidden_tests += 1
            else:
                current.public_tests += 1
        elif current is not None and cell.cell_type == "markdown" and not current.title:
            heading = re.match(r"#+\s*(.+)", first)
            if heading:
                current.title = re.sub(r"^Question\s+\d+\s*(\(written\))?\s*:?\s*", "", heading.group(1)).strip()
    if config is None:
        raise ValueError(f"{path.name} has no '# ASSIGNMENT CONFIG' raw cell")
    missing = [key for key in ("name", *OUR_KEYS) if key not in config]
    if missing:
        raise ValueError(f"{path.name}: the assignment config lacks {', '.join(missing)}")
    return Assignment(
        name=config["name"],
        path=path,
        chapter=config["chapter"],
        title=config["title"],
        covers=config["covers"],
        config=config,
        questions=questions,
    )


def masters(directory=HOMEWORK):
    """Paths of every master, in order."""
    return sorted(Path(directory).glob("hw[0-9]*.md"))


def load(directory=HOMEWORK):
    """Every assignment, in order."""
    return [read(path) for path in masters(directory)]

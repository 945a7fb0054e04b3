"""Find every file of a submissions folder and say what each one is.

Every file under the folder becomes one :class:`Submission`, so that every file
appears in the results: a notebook to grade, or a file flagged with a reason
(``not a notebook``, ``corrupt: ...``, ``unknown assignment``, ``duplicate: ...``,
``ignored: a Jupyter checkpoint``). Nothing here raises on a bad file.

* The **assignment** is the one the notebook's otter metadata names, else one
  whose name appears in the file's path, else the one whose title heading the
  notebook contains (a notebook renamed to ``Untitled.ipynb`` keeps it).
* The **student** is the folder the file is in (``alice/hw02_sharing.ipynb``),
  unless that folder is named after the assignment (``hw02/alice.ipynb``); else
  the file's name with the usual noise removed: ``Copy of``, `` (1)``,
  ``_final``, the assignment's name, otter's export timestamp, the ids a Canvas
  bulk download adds. Names are compared case-insensitively (lower case).
* The **submission time** is the file's modification time, unless a
  timestamps CSV (columns ``file`` and ``submitted``, ISO 8601) gives it.
* Two files of the same student and assignment are **duplicates**: the newest
  is graded, the others are listed as ``duplicate`` and not graded.
"""

import csv
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

MAX_NOTEBOOK_BYTES = 32 << 20
_NOISE = [
    re.compile(r"^(copy of\s+)+", re.I),
    re.compile(r"\s*\(\d+\)$"),
    re.compile(r"[\s_-]*\d{4}_\d{2}_\d{2}t[\d_]+$", re.I),     # otter export: name_2026_12_04T16_30_00_000000
    re.compile(r"[\s_-]*(final|submission|submit|done|v\d+)$", re.I),
    re.compile(r"_(late_)?\d{3,}_\d{3,}(?=_|$)", re.I),       # Canvas: name_[late_]userid_submissionid_file
]


@dataclass
class Submission:
    """One file of the submissions folder."""

    path: Path                      # relative to the submissions folder
    full_path: Path
    student: str = ""
    assignment: str = ""
    submitted: datetime | None = None
    sha256: str = ""
    problem: str = ""               # why it is not graded ("" for a notebook to grade)
    notebook: dict | None = field(default=None, repr=False)

    @property
    def key(self):
        """A stable id of this file (its path) for the results store."""
        return self.path.as_posix()


def read_notebook(path):
    """The JSON of a notebook, or of the one notebook inside an otter export zip; raises ValueError."""
    path = Path(path)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith(".ipynb") and "/." not in "/" + n]
                if len(names) != 1:
                    raise ValueError(f"expected one notebook in the zip, found {len(names)}")
                if archive.getinfo(names[0]).file_size > MAX_NOTEBOOK_BYTES:
                    raise ValueError("the notebook in the zip is too large")
                text = archive.read(names[0])
        else:
            text = path.read_bytes()
        notebook = json.loads(text)
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{type(error).__name__}: {str(error)[:120]}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    return notebook


def cell_source(cell):
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def _assignment_of(rel, notebook, assignments):
    """The assignment of a notebook: otter metadata, else its path, else a title heading it contains."""
    metadata = notebook.get("metadata", {})
    name = metadata.get("otter", {}).get("assignment_name") if isinstance(metadata, dict) else None
    if isinstance(metadata.get("otter", {}), dict) and name in assignments:
        return name
    for name in assignments:
        if name in rel.as_posix():
            return name
    markdown = "\n".join(cell_source(c) for c in notebook["cells"] if isinstance(c, dict)
                         and c.get("cell_type") == "markdown")
    for name, info in assignments.items():
        if info.get("heading") and info["heading"] in markdown:
            return name
    return ""


def _is_assignment_folder(name, assignment):
    """Whether a folder is named after the assignment (``hw01_locality/``, ``hw01/``): not a student."""
    return bool(assignment) and _clean(name, assignment) == ""


def student_name(rel, assignment):
    """The student a file belongs to: its folder, or its file name without the usual noise.

    A folder named after the assignment (``hw01/alice.ipynb``) is not a student:
    the file's name is used then.
    """
    if len(rel.parts) > 1 and not _is_assignment_folder(rel.parts[-2], assignment):
        return rel.parts[-2].strip().lower()
    return (_clean(rel.stem, assignment) or rel.stem).lower()


def _clean(stem, assignment):
    """``stem`` without what file sharing and learning platforms add, nor the assignment's name."""
    for _ in range(3):
        for pattern in _NOISE:
            stem = pattern.sub("", stem).strip()
        if assignment:
            stem = re.sub(rf"[\s_-]*{re.escape(assignment)}[\s_-]*", "", stem, flags=re.I).strip()
            number = re.match(r"hw\d+", assignment)
            if number:
                stem = re.sub(rf"(^|[\s_-]){number.group(0)}([\s_-]|$)", " ", stem, flags=re.I).strip()
    return stem.strip(" _-.")


def read_timestamps(path):
    """{file path (as in the folder) or student: datetime} from a CSV with ``file``/``student`` and ``submitted``."""
    stamps = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "submitted" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: a timestamps CSV needs a 'submitted' column (and 'file' or 'student')")
        for row in reader:
            key = (row.get("file") or row.get("student") or "").strip()
            if key:
                stamps[key] = parse_time(row["submitted"], f"{path}: ")
    return stamps


def parse_time(text, where=""):
    """A timezone-aware datetime from ISO 8601 text (UTC when no zone is given)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}not an ISO 8601 time: {text!r} (expected e.g. 2026-12-04T18:00:00+00:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _describe(folder, path, assignments, stamps):
    rel = path.relative_to(folder)
    sub = Submission(rel, path)
    sub.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    stamp = stamps.get(rel.as_posix())
    sub.submitted = stamp or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    if ".ipynb_checkpoints" in rel.parts:
        sub.problem = "ignored: a Jupyter checkpoint (autosave) copy"
    elif path.suffix not in (".ipynb", ".zip"):
        sub.problem = "not a notebook (only .ipynb files and otter's .zip exports are graded)"
    else:
        try:
            sub.notebook = read_notebook(path)
            sub.assignment = _assignment_of(rel, sub.notebook, assignments)
            if not sub.assignment:
                sub.problem = "unknown assignment: no otter metadata, and neither its name nor its title matches one"
        except (ValueError, OSError) as error:
            sub.problem = f"corrupt: {error}"
    sub.student = student_name(rel, sub.assignment)
    if sub.student in stamps and stamp is None:
        sub.submitted = stamps[sub.student]
    return sub


def _flag_duplicates(submissions):
    groups = {}
    for sub in submissions:
        if not sub.problem:
            groups.setdefault((sub.student, sub.assignment), []).append(sub)
    for group in groups.values():
        group.sort(key=lambda s: (s.submitted, s.key), reverse=True)
        for older in group[1:]:
            same = " (identical file)" if older.sha256 == group[0].sha256 else ""
            older.problem = f"duplicate: {group[0].key} is newer and is the one graded{same}"


def discover(folder, assignments, stamps=None):
    """Every file under ``folder`` as a :class:`Submission`, sorted by path.

    ``assignments`` maps each known assignment name to ``{"heading": text}``
    (a title that only its notebook contains); ``stamps`` is what
    :func:`read_timestamps` returns.
    """
    folder = Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    submissions = [_describe(folder, path, assignments, stamps or {}) for path in paths]
    _flag_duplicates(submissions)
    return submissions


def read_roster(path):
    """[{student, name, email, sid, canvas_id, section}] from a roster CSV (column ``student`` required)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "student" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: a roster needs a 'student' column (the name used in the submissions)")
        roster = []
        for row in reader:
            student = (row.get("student") or "").strip().lower()
            if student:
                roster.append({"student": student, **{k: (row.get(k) or "").strip() for k in
                                                      ("name", "email", "sid", "canvas_id", "sis_login_id", "section")}})
    return roster

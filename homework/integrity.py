"""Visible tampering: what a submission changed in the notebook it was handed.

The scores never depend on these checks (the tests run where no student code
ran, see :mod:`homework.check`); they flag submissions for the instructor to
look at:

* ``tampered``: an otter cell of the handed-out notebook (the set-up cell, a
  ``grader.check`` cell, the export cell) is missing or changed, or a student
  cell refers to the grading machinery (``otter``, ``grader``, ``test_case``,
  ``hwcheck`` internals);
* ``suspicious``: a student cell touches processes, signals, resource limits
  or the file system outside its folder (``os.kill``, ``fork``, ``signal``,
  ``ctypes``, absolute paths, ...).
"""

import re

from homework.collect import cell_source

OTTER_MARKS = ("grader.", "otter.", "import otter")
_TAMPER = re.compile(r"\b(otter|grader|test_case|call_func|exception_test|hwcheck\s*\.\s*\w+\s*=|hw\s*\.\s*\w+\s*=)")
_SUSPICIOUS = re.compile(
    r"\b(os\s*\.\s*(kill|killpg|fork|system|popen|exec\w*|_exit|setsid|getppid)|subprocess|signal\s*\.\s*signal"
    r"|resource\s*\.|ctypes|multiprocessing|builtins|sys\s*\.\s*modules|shutil\s*\.\s*rmtree)"
    r"|['\"](/etc|/root|/home|/proc|/sys|/work|\.\./)"
)


def otter_cells(student_notebook):
    """The sources of the otter cells of the handed-out notebook, in order."""
    return [cell_source(c).strip() for c in student_notebook["cells"]
            if c.get("cell_type") == "code" and any(mark in cell_source(c) for mark in OTTER_MARKS)]


def code_cells(notebook):
    """The sources of a submission's code cells."""
    return [cell_source(c) for c in notebook["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]


def _missing_in_order(expected, sources):
    stripped = [s.strip() for s in sources]
    missing, position = [], 0
    for cell in expected:
        try:
            position = stripped.index(cell, position) + 1
        except ValueError:
            missing.append(cell)
    return missing


def flags(notebook, handed_out_otter_cells):
    """(tampered, suspicious): short texts, empty when nothing was seen."""
    sources = code_cells(notebook)
    otter = set(handed_out_otter_cells)
    tampered = []
    missing = _missing_in_order(handed_out_otter_cells, sources)
    if missing:
        first = missing[0].splitlines()[0][:60]
        tampered.append(f"{len(missing)} otter cell(s) changed or removed (first: {first!r})")
    student = [s for s in sources if s.strip() not in otter]
    refs = sorted({m.group(0).strip() for s in student for m in _TAMPER.finditer(s)})
    if refs:
        tampered.append("student code refers to the grading machinery: " + ", ".join(refs[:5]))
    suspicious = sorted({" ".join(m.group(0).split()) for s in student for m in _SUSPICIOUS.finditer(s)})
    return "; ".join(tampered), ("code touching the system: " + ", ".join(suspicious[:6])) if suspicious else ""


def cells_to_run(notebook, handed_out_otter_cells):
    """[(number, source)] of the code cells to execute (numbered from 1 among the notebook's code
    cells): all of the submission's, except the handed-out otter cells (not needed)."""
    otter = set(handed_out_otter_cells)
    return [(number, s) for number, s in enumerate(code_cells(notebook), start=1) if s.strip() not in otter]

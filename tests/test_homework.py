"""The graded homework: built with otter-grader, graded from the command line.

The expensive part runs once per session: every assignment is built into a
temporary folder (``homework.build``, without otter's own solution check; the
hostile-submission suite, ``test_grading_hostile.py``, reuses it), test
submissions are made from the built student notebooks as
``fixtures/homework/submissions.yml`` describes, and all of them are graded by
one call of ``homework.grade`` (each submission in its sandboxes, a few at
once). The tests read the CSVs and the feedback it wrote.
"""

import atexit
import copy
import csv
import functools
import json
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from homework import build, catalog, collect, grade, hwcheck  # noqa: E402

ASSIGNMENTS = catalog.load()
NAMES = [a.name for a in ASSIGNMENTS]
SPEC = yaml.safe_load((Path(__file__).parent / "fixtures" / "homework" / "submissions.yml").read_text())
EXTRAS = SPEC["extras"]
CHECK = re.compile(r'grader\.check\("(\w+)"\)')

# Time limits for the test run: short, so the looping submissions cost seconds,
# yet far above what a correct answer needs even on a loaded 2-core machine.
LIMITS = ["--time-limit", "2", "--cell-timeout", "15", "--hang-timeout", "30", "--jobs", "2"]

# otter's imports use a deprecated traitlets idiom; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")


def by_name(name):
    return next(a for a in ASSIGNMENTS if a.name == name)


def auto_questions(name):
    return [q.name for q in by_name(name).questions if not q.manual]


def tagged(cell, tag):
    return tag in cell.get("metadata", {}).get("tags", [])


# ----------------------------------------------------------------------------
# Making submissions from a student notebook
# ----------------------------------------------------------------------------

def answer_cells(notebook):
    """{question: [index, ...]} of the code answer cells, by the check cell that follows them."""
    found, pending = {}, []
    for index, cell in enumerate(notebook.cells):
        if tagged(cell, "otter_answer_cell") and cell.cell_type == "code":
            pending.append(index)
        match = CHECK.search(cell.source) if cell.cell_type == "code" else None
        if match:
            found[match.group(1)] = pending
            pending = []
    return found


def filled(student, autograder):
    """The student notebook with every answer cell replaced by the reference solution."""
    notebook = copy.deepcopy(student)
    for kind, solution_tag in (("code", "otter_assign_solution_cell"), ("markdown", "otter_assign_solution_cell")):
        answers = [i for i, c in enumerate(notebook.cells) if c.cell_type == kind and tagged(c, "otter_answer_cell")]
        solutions = [c for c in autograder.cells if c.cell_type == kind and tagged(c, solution_tag)]
        assert len(answers) == len(solutions), f"{kind} answer cells do not match the solutions"
        for index, solution in zip(answers, solutions):
            notebook.cells[index].source = solution.source
    return notebook


def replace_in_answer(notebook, question, pairs):
    (index,) = answer_cells(notebook)[question]
    source = notebook.cells[index].source
    for old, new in pairs:
        assert old in source, f"{question}: {old!r} is not in the solution any more"
        source = source.replace(old, new)
    notebook.cells[index].source = source


def make_loop(notebook, question):
    """The first function of the answer never returns (a sleeping loop: cheap on a shared CPU)."""
    (index,) = answer_cells(notebook)[question]
    lines = notebook.cells[index].source.split("\n")
    body = next(i for i, line in enumerate(lines) if line.startswith("def ")) + 2   # after the docstring
    assert lines[body - 1].strip().startswith('"""'), "expected a one-line docstring after the def"
    lines[body:body] = ["    while True:  # the loop that never ends", "        time.sleep(0.05)"]
    notebook.cells[index].source = "import time\n" + "\n".join(lines)


def make_raise(notebook, question):
    (index,) = answer_cells(notebook)[question]
    notebook.cells[index].source = 'raise RuntimeError("a bug in my answer")\n' + notebook.cells[index].source


def replace_answer(notebook, question, source):
    (index,) = answer_cells(notebook)[question]
    notebook.cells[index].source = source


# ----------------------------------------------------------------------------
# Session fixtures: one build, one grading run
# ----------------------------------------------------------------------------

TIMINGS = {}


@functools.cache
def built_dist():
    """Every assignment built once per process (this file and test_grading_hostile.py share it)."""
    folder = Path(tempfile.mkdtemp(prefix="homework-dist-"))
    atexit.register(shutil.rmtree, folder, True)
    out = folder / "homework"
    out.mkdir()
    start = time.perf_counter()
    for assignment in ASSIGNMENTS:
        build.build_one(assignment, out, check=False)
    TIMINGS["build"] = time.perf_counter() - start
    return out


@pytest.fixture(scope="session")
def dist():
    return built_dist()


def read_notebook(path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def submissions(dist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name in NAMES:
        student = read_notebook(dist / name / "student" / f"{name}.ipynb")
        solution = filled(student, read_notebook(dist / name / "autograder" / f"{name}.ipynb"))
        mistake, broken = copy.deepcopy(solution), copy.deepcopy(solution)
        replace_in_answer(mistake, SPEC[name]["mistake"]["question"], SPEC[name]["mistake"]["replace"])
        make_loop(broken, SPEC[name]["broken"]["loop"])
        make_raise(broken, SPEC[name]["broken"]["raise"])
        for who, notebook in [("solution", solution), ("untouched", student), ("mistake", mistake), ("broken", broken)]:
            (folder / who).mkdir(exist_ok=True)
            nbformat.write(notebook, folder / who / f"{name}.ipynb")
    for who, extra in EXTRAS.items():
        name = extra["assignment"]
        student = read_notebook(dist / name / "student" / f"{name}.ipynb")
        notebook = filled(student, read_notebook(dist / name / "autograder" / f"{name}.ipynb"))
        replace_answer(notebook, extra["question"], extra["answer"])
        nbformat.write(notebook, folder / f"{who}.ipynb")   # the other layout: one file per student
    (folder / "notes.txt").write_text("not a submission")
    return folder


@pytest.fixture(scope="session")
def graded(dist, submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    start = time.perf_counter()
    status = grade.main([str(submissions), "--dist", str(dist), "--out", str(out), *LIMITS])
    TIMINGS["grade"] = time.perf_counter() - start
    assert status == 1, "notes.txt is flagged (not a notebook): the exit status says a file needs a look"
    with open(out / "questions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = {(r["student"], r["assignment"], r["question"]): r for r in rows}
    return out, rows, scores


def points(scores, student, name, question):
    row = scores[(student, name, question)]
    return float(row["points"]), float(row["max"])


# ----------------------------------------------------------------------------
# The masters: what each assignment asks
# ----------------------------------------------------------------------------

def test_one_assignment_per_chapter():
    chapters = {a.chapter for a in ASSIGNMENTS}
    assert chapters == {"01_locality", "02_sharing", "03_equivariance", "04_edge_detection",
                        "05_one_by_one", "06_experiments"}


@pytest.mark.parametrize("name", NAMES)
def test_each_assignment_has_code_number_and_written_questions(name):
    assignment = by_name(name)
    auto = [q for q in assignment.questions if not q.manual]
    assert len(assignment.questions) >= 4
    assert sum(q.manual for q in assignment.questions) >= 1, "a written question"
    assert len(auto) >= 3, "two code questions and a computed number"
    for question in auto:
        assert question.public_tests >= 1 and question.hidden_tests >= 1, question.name
    code = [q for q in auto if q.public_tests >= 2 and q.hidden_tests >= 2]
    assert len(code) >= 2, "two questions implemented from scratch, each with shape and worked-case tests"


def question_cells(assignment):
    """{question: (solution code, [test cell sources])} from the master."""
    import jupytext

    found, question, block = {}, None, None
    for cell in jupytext.read(assignment.path).cells:
        first = cell.source.strip().split("\n")[0].strip() if cell.source.strip() else ""
        if cell.cell_type == "raw":
            if first == "# BEGIN QUESTION":
                question = yaml.safe_load(cell.source.split("\n", 1)[1])["name"]
                found[question] = ("", [])
            elif first in ("# BEGIN SOLUTION", "# BEGIN TESTS"):
                block = first.split()[-1]
            elif first in ("# END SOLUTION", "# END TESTS"):
                block = None
        elif cell.cell_type == "code" and block == "SOLUTION":
            found[question] = (found[question][0] + cell.source, found[question][1])
        elif cell.cell_type == "code" and block == "TESTS":
            found[question][1].append(cell.source)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_test_of_a_function_rejects_library_calls(name):
    """A function the student writes is checked by hwcheck.own_code in every test, public or hidden,
    so calling the cnnlib (or torch, scipy) function that the question asks for scores nothing;
    and it is called under the time limit (hwcheck.call)."""
    functions = 0
    for question, (solution, tests) in question_cells(by_name(name)).items():
        for function in re.findall(r"^def (\w+)\(", solution, re.M):
            functions += 1
            for test in tests:
                assert f"hw.own_code({function})" in test, f"{name} {question}: a test does not check {function}"
                assert f"hw.call({function}" in test, f"{name} {question}: a test calls {function} without a time limit"
    assert functions >= 2


# ----------------------------------------------------------------------------
# What is handed out, and what is kept
# ----------------------------------------------------------------------------

def solution_texts(assignment):
    """Lines of the reference solutions and names of the hidden tests, from the master."""
    import jupytext

    notebook = jupytext.read(assignment.path)
    texts, given, in_solution, in_tests = [], "", False, False
    for cell in notebook.cells:
        first = cell.source.strip().split("\n")[0] if cell.source.strip() else ""
        if cell.cell_type == "raw":
            in_solution = {"# BEGIN SOLUTION": True, "# END SOLUTION": False}.get(first.strip(), in_solution)
            in_tests = {"# BEGIN TESTS": True, "# END TESTS": False}.get(first.strip(), in_tests)
            continue
        if not (in_solution or in_tests):
            given += cell.source + "\n"   # handed out anyway (prompts, given code)
        if in_tests and first.lstrip().startswith("#") and "HIDDEN" in first:
            texts += re.findall(r"def (test_\w+)", cell.source)
        elif in_solution and cell.cell_type == "markdown":
            texts += [line.strip() for line in cell.source.splitlines() if len(line.strip()) > 20]
        elif in_solution:
            block = False
            for line in cell.source.splitlines():
                if "# BEGIN SOLUTION" in line or "# END SOLUTION" in line:
                    block = "BEGIN" in line
                    continue
                if line.rstrip().endswith("# SOLUTION"):
                    texts.append(line.split("=", 1)[1].replace("# SOLUTION", "").strip())
                elif block and len(line.strip()) > 12:
                    texts.append(line.strip())
    return [text for text in texts if text not in given]


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_has_no_solution_and_no_hidden_test(dist, name):
    folder = dist / name / "student"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{name}.ipynb", "hwcheck.py"])
    text = (folder / f"{name}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "HIDDEN", "BEGIN TESTS", "Model answer"):
        assert marker not in text, marker
    texts = solution_texts(by_name(name))
    assert len(texts) >= 10, "the scan found the solutions in the master"
    leaked = [t for t in texts if t in text]
    assert not leaked, f"the student notebook contains solution or hidden-test text: {leaked}"
    tests = json.loads(text)["metadata"]["otter"]["tests"]
    for question, source in tests.items():
        assert "hidden=True" not in source and "hidden=False" in source, question


@pytest.mark.parametrize("name", NAMES)
def test_autograder_zip_holds_every_test(dist, name):
    with zipfile.ZipFile(dist / name / "autograder" / f"{name}-autograder.zip") as archive:
        tests = {n: archive.read(n).decode() for n in archive.namelist() if n.startswith("tests/")}
        assert "files/hwcheck.py" in archive.namelist()
    for question in by_name(name).questions:
        source = tests.get(f"tests/{question.name}.py", "")
        if question.manual:
            assert not source
        else:
            assert source.count("hidden=True") == question.hidden_tests
            assert source.count("hidden=False") == question.public_tests
    manifest = json.loads((dist / name / "questions.json").read_text())
    assert manifest["auto_points"] == by_name(name).auto_points


# ----------------------------------------------------------------------------
# Grading
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_reference_solutions_score_full_marks(graded, name):
    _, _, scores = graded
    for question in auto_questions(name):
        got, most = points(scores, "solution", name, question)
        assert got == most > 0, f"{name} {question}: {got} / {most}"


@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_notebook_scores_zero(graded, name):
    _, _, scores = graded
    for question in auto_questions(name):
        assert points(scores, "untouched", name, question)[0] == 0, f"{name} {question}"
        assert scores[("untouched", name, question)]["status"] == "ok"


@pytest.mark.parametrize("name", NAMES)
def test_a_typical_mistake_loses_points_only_where_it_is(graded, name):
    _, _, scores = graded
    wrong = SPEC[name]["mistake"]["question"]
    for question in auto_questions(name):
        got, most = points(scores, "mistake", name, question)
        if question == wrong:
            assert got < most, f"{name} {question}: the mistake ({SPEC[name]['mistake']['what']}) was not caught"
        else:
            assert got == most, f"{name} {question}: {got} / {most}, though only {wrong} is wrong"


@pytest.mark.parametrize("name", NAMES)
def test_a_looping_and_raising_submission_is_graded(graded, name):
    """Where the looping function is question 1, its "Try it" cell loops too: without the
    time limit per cell the grading of the submission would hang and be marked "timed out"."""
    out, _, scores = graded
    broken = SPEC[name]["broken"]
    for question in auto_questions(name):
        got, most = points(scores, "broken", name, question)
        assert scores[("broken", name, question)]["status"] == "ok"
        if question in (broken["loop"], broken["raise"]):
            assert got == 0, f"{name} {question}"
        else:
            assert got == most, f"{name} {question}: {got} / {most}"
    feedback = (out / "feedback" / "broken" / f"{name}.md").read_text()
    assert "ran for more than" in feedback, "the feedback says that the loop hit the time limit"


def test_a_hanging_submission_is_stopped_and_the_others_graded(graded):
    """The notebook is killed after the hang timeout and marked "timed out"; since the grader now
    keeps the answers of the cells that finished, the questions before the hanging cell earn
    their points and the hanging question and those after it score zero."""
    _, _, scores = graded
    name = EXTRAS["hang"]["assignment"]
    hanging = EXTRAS["hang"]["question"]
    questions = auto_questions(name)
    for question in questions:
        row = scores[("hang", name, question)]
        assert row["status"].startswith("timed out")
        got, most = points(scores, "hang", name, question)
        if questions.index(question) < questions.index(hanging):
            assert got == most > 0, f"{question} was answered before the hanging cell"
        else:
            assert got == 0, question
        assert points(scores, "solution", name, question)[0] == points(scores, "solution", name, question)[1]


def test_a_submission_that_kills_its_kernel_is_an_error(graded):
    _, _, scores = graded
    name = EXTRAS["crash"]["assignment"]
    for question in auto_questions(name):
        row = scores[("crash", name, question)]
        assert row["status"].startswith("error") and float(row["points"]) == 0


def test_scores_csv_has_one_row_per_file_and_questions_csv_one_per_question(graded, submissions):
    out, rows, _ = graded
    with open(out / "scores.csv", newline="") as handle:
        files = list(csv.DictReader(handle))
    on_disk = sorted(p.relative_to(submissions).as_posix() for p in submissions.rglob("*") if p.is_file())
    assert sorted(r["file"] for r in files) == on_disk
    assert next(r for r in files if r["file"] == "notes.txt")["status"].startswith("not a notebook")
    assert list(rows[0]) == ["student", "assignment", "question", "points", "max", "status"]
    students = {"solution", "untouched", "mistake", "broken"}
    expected = sum(len(a.questions) for a in ASSIGNMENTS) * len(students)
    expected += sum(len(by_name(e["assignment"]).questions) for e in EXTRAS.values())
    assert len(rows) == expected
    manual = [r for r in rows if r["status"] == "manual"]
    assert manual and all(r["points"] == "" for r in manual)


def test_feedback_shows_public_messages_and_hides_hidden_tests(graded):
    out, _, _ = graded
    name = "hw02_sharing"
    """Failed hidden tests are named (the issue asks for it) but none of their code is shown."""
    feedback = (out / "feedback" / "untouched" / f"{name}.md").read_text()
    assert re.search(r"public test `\w+`: failed", feedback) and re.search(r"hidden test `\w+`: failed", feedback)
    assert "should be a NumPy array, got NoneType" in feedback
    hidden_names = set(re.findall(r"def (test_\w+)", "".join(cell.source for cell in _hidden_cells(by_name(name)))))
    for hidden in solution_texts(by_name(name)):
        if hidden not in hidden_names:
            assert hidden not in feedback
    assert "torch.nn.functional" not in feedback
    solved = (out / "feedback" / "solution" / f"{name}.md").read_text()
    assert "Model answer" in solved, "the written answer is copied for the grader"
    assert f"Autograded: {by_name(name).auto_points:g} / {by_name(name).auto_points:g}" in solved


def _hidden_cells(assignment):
    import jupytext

    return [c for c in jupytext.read(assignment.path).cells
            if c.cell_type == "code" and c.source.lstrip().startswith("# HIDDEN")]


def test_report_runtime(graded):
    """Not a check: prints how long the session's build and grading took (pytest -s shows it)."""
    print(f"\nhomework: build {TIMINGS.get('build', 0):.0f} s, grading {TIMINGS.get('grade', 0):.0f} s")


# ----------------------------------------------------------------------------
# hwcheck, the helpers the tests run inside the student's kernel
# ----------------------------------------------------------------------------

def test_own_code_catches_library_calls():
    import numpy as np
    import cnnlib
    from cnnlib import conv2d as library_conv
    import functools

    def numpy_only(x):
        return np.pad(x, 1).sum()

    def direct(x, w):
        return cnnlib.conv2d(x, w)

    def renamed(x, w):
        return library_conv(x, w)

    def imports_inside(x):
        import torch
        return torch.tensor(x)

    def via_helper(x, w):
        return direct(x, w)

    assert hwcheck.library_uses(numpy_only) == []
    assert hwcheck.library_uses(direct) == ["cnnlib"]
    assert hwcheck.library_uses(renamed) == ["cnnlib"]
    assert hwcheck.library_uses(imports_inside) == ["torch"]
    assert hwcheck.library_uses(via_helper) == ["cnnlib"]
    assert hwcheck.library_uses(library_conv) == ["cnnlib"]
    assert hwcheck.library_uses(functools.partial(library_conv, padding=1)) == ["cnnlib"]
    with pytest.raises(AssertionError, match="uses cnnlib"):
        hwcheck.own_code(renamed)
    with pytest.raises(AssertionError, match="not a function"):
        hwcheck.own_code(Ellipsis, "conv2d")


def test_time_limit_stops_a_busy_loop():
    start = time.perf_counter()
    with pytest.raises(hwcheck.TimeLimitExceeded):
        with hwcheck.time_limit(0.2):
            while True:
                pass
    assert time.perf_counter() - start < 5


def test_time_limit_stops_a_loop_that_swallows_the_first_alarm():
    swallowed = 0
    with pytest.raises(hwcheck.TimeLimitExceeded):
        with hwcheck.time_limit(0.2):
            try:
                while True:
                    pass
            except hwcheck.TimeLimitExceeded:
                swallowed += 1
            while True:
                pass
    assert swallowed == 1


def test_discover_finds_students_and_assignments(tmp_path):
    names = ["hw01_locality", "hw02_sharing"]
    notebook = nbformat.v4.new_notebook(metadata={"otter": {"assignment_name": "hw02_sharing"}})
    (tmp_path / "alice").mkdir()
    nbformat.write(notebook, tmp_path / "alice" / "hw02_sharing.ipynb")
    nbformat.write(notebook, tmp_path / "bob.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "carol_hw01_locality.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "unrelated.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    nbformat.write(notebook, tmp_path / ".ipynb_checkpoints" / "bob-checkpoint.ipynb")
    found = collect.discover(tmp_path, {name: {"heading": ""} for name in names})
    graded = [s for s in found if not s.problem]
    # names are normalised now: the assignment's name is not part of the student's
    assert sorted((s.student, s.assignment) for s in graded) == [
        ("alice", "hw02_sharing"), ("bob", "hw02_sharing"), ("carol", "hw01_locality")]
    flagged = {s.path.name: s.problem for s in found if s.problem}
    assert flagged["unrelated.ipynb"].startswith("unknown assignment")
    assert flagged["bob-checkpoint.ipynb"].startswith("ignored")

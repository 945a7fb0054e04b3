"""The grader's parts that need no sandbox: names, data, points, the gradebook's arithmetic and formats.

Expected values are worked out by hand in each test (or come from otter-grader
itself, for the way a question's points are shared among its tests).
"""

import csv
import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homework import check, codec, collect, gradebook, integrity  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")

NAMES = {"hw01_locality": {"heading": "# Homework 1: Locality"}, "hw02_sharing": {"heading": "# Homework 2: Sharing"}}


def notebook(assignment=None, markdown=""):
    metadata = {"otter": {"assignment_name": assignment}} if assignment else {}
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown}] if markdown else []
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


# ----------------------------------------------------------------------------
# Names and files
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("rel, assignment, student", [
    ("Copy of alice_hw02_sharing (1).ipynb", "hw02_sharing", "alice"),
    ("alice_final.ipynb", "hw02_sharing", "alice"),
    ("Bob - hw01_locality - final.ipynb", "hw01_locality", "bob"),
    ("carol hw01 (2).ipynb", "hw01_locality", "carol"),
    ("dave_hw02_sharing_2026_12_04T16_30_00_123456.zip", "hw02_sharing", "dave"),
    ("judy/Copy of hw01_locality.ipynb", "hw01_locality", "judy"),
    ("Erin/hw02_sharing (1).ipynb", "hw02_sharing", "erin"),
    ("hw01_locality.ipynb", "hw01_locality", "hw01_locality"),
    ("hw01/alice.ipynb", "hw01_locality", "alice"),                     # a folder per assignment
    ("hw01_locality/Bob (1).ipynb", "hw01_locality", "bob"),
    ("smithjane_late_123456_7890123_hw01_locality.ipynb", "hw01_locality", "smithjane"),   # Canvas download
    ("smithjane_123456_7890123_notebook.ipynb", "hw01_locality", "smithjane_notebook"),
])
def test_student_names_are_normalised(rel, assignment, student):
    assert collect.student_name(Path(rel), assignment) == student


def test_every_file_is_described_with_a_reason(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "hw02_sharing.ipynb").write_text(json.dumps(notebook("hw02_sharing")))
    (tmp_path / "peggy").mkdir()
    (tmp_path / "peggy" / "Untitled.ipynb").write_text(json.dumps(notebook(markdown="# Homework 1: Locality\n")))
    (tmp_path / "oscar.ipynb").write_text(json.dumps(notebook(markdown="# Something else\n")))
    (tmp_path / "ivan.ipynb").write_text("{not json")
    (tmp_path / "zed.zip").write_bytes(b"PK broken")
    (tmp_path / "notes.txt").write_text("hello")
    found = {s.key: s for s in collect.discover(tmp_path, NAMES)}
    assert sorted(found) == ["alice/hw02_sharing.ipynb", "ivan.ipynb", "notes.txt", "oscar.ipynb",
                             "peggy/Untitled.ipynb", "zed.zip"]
    assert (found["peggy/Untitled.ipynb"].assignment, found["peggy/Untitled.ipynb"].problem) == ("hw01_locality", "")
    assert found["oscar.ipynb"].problem.startswith("unknown assignment")
    assert found["ivan.ipynb"].problem.startswith("corrupt")
    assert found["zed.zip"].problem.startswith("corrupt")
    assert found["notes.txt"].problem.startswith("not a notebook")


def test_the_newest_duplicate_is_graded_and_the_other_flagged(tmp_path):
    import os

    for name, age in (("alice.ipynb", 100), ("Copy of alice (1).ipynb", 10)):
        (tmp_path / name).write_text(json.dumps(notebook("hw01_locality")))
        os.utime(tmp_path / name, (1_700_000_000 - age, 1_700_000_000 - age))
    found = {s.key: s for s in collect.discover(tmp_path, NAMES)}
    assert found["Copy of alice (1).ipynb"].problem == ""
    assert found["alice.ipynb"].problem.startswith("duplicate: Copy of alice (1).ipynb is newer")


def test_timestamps_csv_overrides_file_times(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.ipynb").write_text(json.dumps(notebook("hw01_locality")))
    (tmp_path / "times.csv").write_text("file,submitted\nalice.ipynb,2026-12-04T18:30:00\n")
    (sub,) = collect.discover(tmp_path / "subs", NAMES, collect.read_timestamps(tmp_path / "times.csv"))
    assert sub.submitted == datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="ISO 8601"):
        collect.parse_time("yesterday")
    (tmp_path / "bad.csv").write_text("file,time\n")
    with pytest.raises(ValueError, match="'submitted' column"):
        collect.read_timestamps(tmp_path / "bad.csv")


# ----------------------------------------------------------------------------
# Data across the sandbox wall
# ----------------------------------------------------------------------------

def test_codec_round_trips_plain_data():
    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": (1, 2.5, "x", None, True), 3: [Ellipsis, 1 + 2j],
             "s": np.float32(1.5)}
    back = codec.decode(json.loads(codec.dumps(codec.encode(value))))
    assert back["a"].dtype == np.int16 and np.array_equal(back["a"], value["a"])
    assert back["b"] == value["b"] and back[3] == [Ellipsis, 1 + 2j]
    assert isinstance(back["s"], np.float32) and back["s"] == 1.5


def test_codec_never_builds_objects_from_a_message():
    assert isinstance(codec.decode(codec.encode(object())), codec.Unsupported)
    with pytest.raises(codec.ProtocolError):
        codec.decode({"$a": ["|O", [1], "AAAAAAAAAAA="]})        # an object array: would unpickle
    with pytest.raises(codec.ProtocolError):
        codec.decode({"$pickle": "gASVAAAA"})
    with pytest.raises(codec.ProtocolError):
        codec.decode({"$a": ["<f8", [3], "AAAA"]})               # 3 floats need 24 bytes


def test_points_are_shared_as_otter_shares_them():
    from otter.test_files.abstract_test import TestCase, TestFile

    cases = [check.TestCase(points=None), check.TestCase(points=1), check.TestCase(points=None)]
    mine = check.resolve_points(4, cases)
    theirs = TestFile.resolve_test_file_points(4, [TestCase(f"t{i}", None, False, c.points, None, None)
                                                   for i, c in enumerate(cases)])
    assert mine == [t.points for t in theirs] == [1.5, 1.0, 1.5]


def test_messages_that_quote_test_code_are_recognised():
    source = ("from otter.test_files import test_case\n\n"
              "@test_case(points=None, hidden=False)\ndef test_shape(f):\n    import hwcheck as hw\n"
              "    assert f(1).shape == (2,), 'bad shape'\n\n"
              "@test_case(points=None, hidden=True)\ndef test_secret(f):\n    import hwcheck as hw\n"
              "    assert f(2) == 4, 'wrong'\n")
    secret = check.test_lines([source], hidden_only=True)
    assert secret == {"assert f(2) == 4, 'wrong'", "def test_secret(f):"}   # 'import hwcheck' is public too
    assert check.quotes("AssertionError: x\n  assert   f(2) == 4, 'wrong' (from the file)", secret)
    assert not check.quotes("AssertionError: wrong", secret)
    assert check.quotes("see: assert f(1).shape == (2,), 'bad shape'", check.test_lines([source]))


# ----------------------------------------------------------------------------
# Tampering
# ----------------------------------------------------------------------------

def _cells(*sources):
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": s} for s in sources]}


def test_tampering_is_flagged():
    handed_out = ["import otter\ngrader = otter.Notebook('a.ipynb')", 'grader.check("q1")']
    honest = _cells(handed_out[0], "x = 1", handed_out[1])
    assert integrity.flags(honest, handed_out) == ("", "")
    removed = _cells(handed_out[0], "x = 1")
    assert "1 otter cell(s) changed or removed" in integrity.flags(removed, handed_out)[0]
    patched = _cells(handed_out[0], "from otter.test_files.exception_test import test_case", handed_out[1])
    assert "grading machinery" in integrity.flags(patched, handed_out)[0]
    forking = _cells(handed_out[0], "import os\nos.fork()", handed_out[1])
    assert integrity.flags(forking, handed_out) == ("", "code touching the system: os.fork")
    assert integrity.cells_to_run(honest, handed_out) == [(2, "x = 1")]


# ----------------------------------------------------------------------------
# The gradebook
# ----------------------------------------------------------------------------

MANIFEST = {"name": "hw01_locality", "auto_points": 10, "manual_points": 2, "questions": [
    {"name": "q1", "points": 4, "manual": False, "title": ""}, {"name": "q2", "points": 6, "manual": False, "title": ""},
    {"name": "q3", "points": 2, "manual": True, "title": ""}]}
ASSIGNMENTS = {"hw01_locality": {"manifest": MANIFEST}}
DEADLINE = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)


def graded_submission(tmp_path, student, late_hours, q1, q2):
    path = tmp_path / "subs" / f"{student}.ipynb"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(notebook("hw01_locality")))
    sub = collect.Submission(Path(f"{student}.ipynb"), path, student, "hw01_locality",
                             DEADLINE + timedelta(hours=late_hours), "hash-" + student, "", notebook("hw01_locality"))
    result = {"status": "ok", "questions": {
        "q1": {"points": q1, "max": 4, "tests": [{"name": "t", "hidden": True, "points": 4, "passed": q1 == 4,
                                                  "message": "AssertionError: wrong\nsecond line"}]},
        "q2": {"points": q2, "max": 6, "tests": []}}}
    return sub, result


def test_totals_late_penalty_manual_scores_roster_and_exports(tmp_path):
    out = tmp_path / "grades"
    store = gradebook.ResultStore(out)
    ann, ann_result = graded_submission(tmp_path, "ann", -1, 4, 6)      # on time, 10 auto
    ben, ben_result = graded_submission(tmp_path, "ben", 30, 0, 6)      # 30 h late: 2 started days
    store.add(ann, ann_result)
    store.add(ben, ben_result)
    (tmp_path / "manual.csv").write_text("student,assignment,question,points,comment\nann,hw01_locality,q3,1.5,clear\n")
    manual = gradebook.read_manual(tmp_path / "manual.csv", ASSIGNMENTS)
    roster = [{"student": s, "name": s.title(), "email": f"{s}@uni.edu", "sid": str(i), "canvas_id": "",
               "sis_login_id": "", "section": ""} for i, s in enumerate(["ann", "ben", "cy"])]
    options = {"deadline": DEADLINE, "late_penalty": 0.1}
    gradebook.write_reports(out, [ann, ben], ASSIGNMENTS, store, manual, roster, options)

    scores = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert (scores["ann"]["total"], scores["ann"]["max"], scores["ann"]["percent"]) == ("11.5", "12", "95.8")
    assert (scores["ben"]["days_late"], scores["ben"]["late_factor"], scores["ben"]["total"]) == ("2", "0.8", "4.8")
    assert "late: 2 day(s)" in scores["ben"]["flags"] and "written answers not graded yet" in scores["ben"]["flags"]
    assert scores["cy"]["status"] == "missing: no submission"
    students = {r["student"]: r for r in csv.DictReader(open(out / "students.csv"))}
    assert (students["ann"]["total"], students["cy"]["total"], students["ben"]["percent"]) == ("11.5", "0", "40")
    canvas = list(csv.reader(open(out / "canvas.csv")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw01_locality"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "12"] and canvas[2][0] == "Ann" and canvas[2][-1] == "11.5"
    gradescope = list(csv.reader(open(out / "gradescope.csv")))
    assert gradescope[0] == ["Name", "SID", "Email", "hw01_locality"]
    assert gradescope[2] == ["Ben", "1", "ben@uni.edu", "4.8"]
    feedback = (out / "feedback" / "ann" / "hw01_locality.md").read_text()
    assert "1.5 / 2" in feedback and "Comment: clear" in feedback
    ben_feedback = (out / "feedback" / "ben" / "hw01_locality.md").read_text()
    assert "hidden test `t`: failed: `AssertionError: wrong`" in ben_feedback and "second line" not in ben_feedback


def test_manual_scores_are_checked(tmp_path):
    (tmp_path / "m.csv").write_text("student,assignment,question,points\nann,hw01_locality,q1,1\n")
    with pytest.raises(ValueError, match="line 2: hw01_locality has no written question 'q1'"):
        gradebook.read_manual(tmp_path / "m.csv", ASSIGNMENTS)
    (tmp_path / "m.csv").write_text("student,assignment,question,points\nann,hw01_locality,q3,5\n")
    with pytest.raises(ValueError, match="outside 0..2"):
        gradebook.read_manual(tmp_path / "m.csv", ASSIGNMENTS)


def test_the_store_resumes_and_survives_a_torn_line(tmp_path):
    store = gradebook.ResultStore(tmp_path)
    sub, result = graded_submission(tmp_path, "ann", 0, 4, 6)
    store.add(sub, result)
    with open(tmp_path / "results.jsonl", "a") as handle:
        handle.write('{"key": "ben.ipynb", "sha')          # the grader died while writing
    again = gradebook.ResultStore(tmp_path)
    assert again.done(sub) and again.result(sub)["questions"]["q1"]["points"] == 4
    assert not again.done(replace(sub, sha256="another content"))
    rebuilt = gradebook.ResultStore(tmp_path, {"hw01_locality": "hash of a fixed autograder"})
    assert not rebuilt.done(sub) and rebuilt.result(sub) is None


# ----------------------------------------------------------------------------
# The runner, in its sandbox
# ----------------------------------------------------------------------------

def test_the_runner_handles_magics_plots_and_odd_answers():
    from homework import pipeline

    cells = ["%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np",
             "plt.plot([1, 2]); plt.show()", "!echo shell escapes work", "x = np.arange(3)\nx",
             "def f(a):\n    return a + x + helper()\n\ndef helper():\n    return 1",
             "import functools\ng = functools.partial(f, a=1)", "from numpy import convolve as h",
             "import torch\nt = torch.ones(2)", "raise ValueError('mine')"]
    run = pipeline.run_notebook(cells, ["f", "g", "h", "t", "nothing"], Path(check.__file__).with_name("hwcheck.py"),
                                pipeline.Settings(cell_timeout=60, hang_timeout=120))
    answers = run["answers"]
    assert run["status"] == "ok" and run["cells_run"] == len(cells)
    assert run["cell_errors"] == ["code cell 9: ValueError: mine"]
    assert answers["f"]["source"].startswith("def f(a):")
    assert answers["helper"]["source"].startswith("def helper():"), "the helpers a function uses come along"
    assert np.array_equal(codec.decode(answers["x"]["data"]), [0, 1, 2]), "and the globals it reads"
    assert "partial" in answers["g"]["unsupported"]
    assert answers["h"] == {"foreign": ["numpy", "convolve"]}
    assert isinstance(codec.decode(answers["t"]["data"]), codec.Unsupported)
    assert answers["nothing"] == {"missing": True}


# ----------------------------------------------------------------------------
# The command line refuses bad input with a message that says what to do
# ----------------------------------------------------------------------------

def test_bad_command_lines_are_refused_clearly(tmp_path, capsys):
    from homework import grade

    def refused(argv, text):
        with pytest.raises(SystemExit) as stop:
            grade.main(argv)
        assert stop.value.code == 2
        assert text in capsys.readouterr().err

    refused([str(tmp_path), "--dist", str(tmp_path / "nowhere")], "run `make homework` first")
    dist = tmp_path / "dist" / "hw01_locality"
    (dist / "autograder").mkdir(parents=True)
    (dist / "student").mkdir()
    (dist / "questions.json").write_text(json.dumps(MANIFEST))
    (dist / "student" / "hw01_locality.ipynb").write_text(json.dumps(notebook(markdown="# Homework 1\n")))
    import zipfile
    with zipfile.ZipFile(dist / "autograder" / "hw01_locality-autograder.zip", "w") as archive:
        archive.writestr("tests/q1.py", "def test_one(f):\n    pass\n")
    ok = ["--dist", str(tmp_path / "dist")]
    refused([str(tmp_path / "missing"), *ok], "is not a folder")
    (tmp_path / "roster.csv").write_text("name\nAnn\n")
    refused([str(tmp_path), *ok, "--roster", str(tmp_path / "roster.csv")], "needs a 'student' column")
    refused([str(tmp_path), *ok, "--deadline", "friday"], "not an ISO 8601 time")
    refused([str(tmp_path), *ok, "--late-penalty", "5"], "between 0 and 1")
    refused([str(tmp_path), *ok, "--manual", str(tmp_path / "none.csv")], "none.csv")


def test_grading_without_root_or_bubblewrap_is_refused(monkeypatch):
    from homework import sandbox

    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    with pytest.raises(sandbox.SandboxUnavailable, match="must run as root"):
        sandbox.check_available()
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install -y bubblewrap"):
        sandbox.check_available()

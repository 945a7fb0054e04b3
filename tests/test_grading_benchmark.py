"""How long grading a class takes: 20 honest submissions of one assignment, 2 at a time.

Prints the figure (``pytest -s`` shows it; the instructors' page quotes the
target, under two minutes on 2 cores). The wall time is not asserted (it
depends on the machine and its load); the scores are: ten reference solutions
score full marks and ten with the master's typical mistake lose points in that
question only.
"""

import copy
import csv
import time

import nbformat

from test_homework import SPEC, auto_questions, built_dist, filled, read_notebook, replace_in_answer

from homework import grade  # noqa: E402

NAME = "hw02_sharing"
STUDENTS = 20


def test_grading_twenty_honest_submissions(tmp_path):
    dist = built_dist()
    student = read_notebook(dist / NAME / "student" / f"{NAME}.ipynb")
    solution = filled(student, read_notebook(dist / NAME / "autograder" / f"{NAME}.ipynb"))
    mistake = copy.deepcopy(solution)
    replace_in_answer(mistake, SPEC[NAME]["mistake"]["question"], SPEC[NAME]["mistake"]["replace"])
    folder = tmp_path / "class"
    folder.mkdir()
    for index in range(STUDENTS):
        nbformat.write(solution if index % 2 == 0 else mistake, folder / f"student{index:02d}.ipynb")
    start = time.perf_counter()
    status = grade.main([str(folder), "--dist", str(dist), "--out", str(tmp_path / "grades"), "--jobs", "2"])
    elapsed = time.perf_counter() - start
    print(f"\nbenchmark: {STUDENTS} honest submissions of {NAME} graded in {elapsed:.0f} s with --jobs 2 "
          f"(target: under 120 s on 2 cores)")
    assert status == 0
    with open(tmp_path / "grades" / "questions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    wrong = SPEC[NAME]["mistake"]["question"]
    for row in rows:
        if row["question"] not in auto_questions(NAME):
            continue
        index = int(row["student"].removeprefix("student"))
        full = float(row["points"]) == float(row["max"])
        assert full == (index % 2 == 0 or row["question"] != wrong), row

"""Results, scores and feedback: what the instructor reads and uploads.

* :class:`ResultStore`: ``OUT/results.jsonl``, one line appended (and flushed
  to disk) per graded file. It is the only state: a crash loses nothing that
  was graded, and a rerun skips the files already graded (same path, same
  content) and grades the rest.
* :func:`write_reports` turns the store, the submissions, the roster and the
  manual scores into

  - ``scores.csv``: one row per file of the submissions folder (and per
    missing roster student), with totals, percentage, late penalty, status
    and flags;
  - ``questions.csv``: one row per graded submission and question;
  - ``students.csv``: one row per student, totals over the assignments;
  - ``canvas.csv`` and ``gradescope.csv``: the same totals in the columns the
    Canvas gradebook import (``Student``, ``ID``, ``SIS User ID``,
    ``SIS Login ID``, ``Section``, one column per assignment, and a
    ``Points Possible`` row) and Gradescope's score upload (``Name``, ``SID``,
    ``Email``, one column per assignment) read;
  - ``feedback/<student>/<assignment>.md``.

Feedback never quotes a test file: a failed public test shows its message and
the line that failed (students have the public tests); a failed hidden test
shows its name and one truncated line of its message, which the checker has
already withheld if it quoted any line of a test.
"""

import csv
import json
import math
import os
from pathlib import Path

from homework.collect import cell_source

HIDDEN_MESSAGE_CHARS = 160


# ----------------------------------------------------------------------------
# The store of results
# ----------------------------------------------------------------------------

class ResultStore:
    """``results.jsonl``: append-only, one JSON line per graded file.

    A result counts for a file while the file's content and its assignment's
    autograder are those it was graded with (``versions``: {assignment: hash of
    the autograder zip}); rebuild an assignment with a fixed test and the next
    run grades its submissions again.
    """

    def __init__(self, out, versions=None):
        self.path = Path(out) / "results.jsonl"
        self.versions = versions or {}
        self.records = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self.records[record["key"]] = record
                except (ValueError, KeyError, TypeError):
                    continue   # a line cut short by a crash
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _current(self, submission):
        record = self.records.get(submission.key)
        if record and record.get("sha256") == submission.sha256 \
                and record.get("autograder", "") == self.versions.get(submission.assignment, ""):
            return record
        return None

    def done(self, submission):
        """Whether this file, with this content, was graded with the current autograder."""
        return self._current(submission) is not None

    def add(self, submission, result):
        record = {"key": submission.key, "sha256": submission.sha256,
                  "autograder": self.versions.get(submission.assignment, ""), "result": result}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.records[submission.key] = record

    def result(self, submission):
        record = self._current(submission)
        return record["result"] if record else None


# ----------------------------------------------------------------------------
# Manual scores, lateness
# ----------------------------------------------------------------------------

def read_manual(path, assignments):
    """{(student, assignment, question): (points, comment)} from a CSV; raises ValueError on bad rows."""
    scores = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        need = {"student", "assignment", "question", "points"}
        if not need <= set(reader.fieldnames or []):
            raise ValueError(f"{path}: a manual-scores CSV needs the columns {', '.join(sorted(need))} (and comment)")
        for line, row in enumerate(reader, start=2):
            assignment, question = row["assignment"].strip(), row["question"].strip()
            manual = {q["name"]: q for q in assignments.get(assignment, {}).get("manifest", {}).get("questions", [])
                      if q["manual"]}
            if question not in manual:
                raise ValueError(f"{path}, line {line}: {assignment} has no written question {question!r}")
            try:
                points = float(row["points"])
            except ValueError:
                raise ValueError(f"{path}, line {line}: points {row['points']!r} is not a number") from None
            if not 0 <= points <= float(manual[question]["points"]):
                raise ValueError(f"{path}, line {line}: {points:g} is outside 0..{manual[question]['points']:g}")
            scores[(row["student"].strip().lower(), assignment, question)] = (points, (row.get("comment") or "").strip())
    return scores


def days_late(submitted, deadline):
    """Started days after the deadline (0 when on time or when there is no deadline)."""
    if deadline is None or submitted is None or submitted <= deadline:
        return 0
    return math.ceil((submitted - deadline).total_seconds() / 86400)


def _points(value):
    return f"{value:g}"


# ----------------------------------------------------------------------------
# One submission: its score and its feedback
# ----------------------------------------------------------------------------

def score(submission, assignment, result, manual, options):
    """The numbers of one graded submission (a dict, the row of ``scores.csv`` without its identity)."""
    manifest = assignment["manifest"]
    questions = result.get("questions", {})
    auto = sum(float(questions.get(q["name"], {}).get("points", 0)) for q in manifest["questions"] if not q["manual"])
    auto_max = float(manifest["auto_points"])
    written = [manual.get((submission.student, manifest["name"], q["name"])) for q in manifest["questions"] if q["manual"]]
    manual_points = sum(w[0] for w in written if w) if any(written) else None
    raw = auto + (manual_points or 0)
    most = auto_max + float(manifest["manual_points"])
    late = days_late(submission.submitted, options.get("deadline"))
    factor = max(0.0, 1 - options.get("late_penalty", 0) * late)
    total = raw * factor
    return {
        "auto_points": _points(auto), "auto_max": _points(auto_max),
        "manual_points": "" if manual_points is None else _points(manual_points),
        "manual_max": _points(float(manifest["manual_points"])),
        "days_late": late, "late_factor": _points(round(factor, 4)),
        "total": _points(round(total, 4)), "max": _points(most),
        "percent": _points(round(100 * total / most, 1)) if most else "",
        "_total": total, "_max": most, "_written_graded": all(written),
    }


def flags_of(submission, result, numbers, roster):
    """The flags column: things the instructor should look at."""
    flags = []
    if result.get("tampered"):
        flags.append("tampered: " + result["tampered"])
    if result.get("suspicious"):
        flags.append("suspicious: " + result["suspicious"])
    if numbers["days_late"]:
        flags.append(f"late: {numbers['days_late']} day(s)")
    if not numbers["_written_graded"]:
        flags.append("written answers not graded yet")
    if roster is not None and submission.student not in roster:
        flags.append("not on the roster")
    return "; ".join(flags)


def written_answers(notebook):
    """The Markdown answers of the written questions, in order (otter tags their cells)."""
    return [cell_source(c) for c in notebook.get("cells", []) if isinstance(c, dict)
            and c.get("cell_type") == "markdown" and "otter_answer_cell" in c.get("metadata", {}).get("tags", [])]


def _hidden_line(message):
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    text = lines[0] if lines else "failed"
    return text if len(text) <= HIDDEN_MESSAGE_CHARS else text[:HIDDEN_MESSAGE_CHARS] + " …"


def _test_lines(tests):
    lines = []
    for test in tests:
        kind = "hidden" if test["hidden"] else "public"
        if test["passed"]:
            lines.append(f"- {kind} test `{test['name']}`: passed")
        elif test["hidden"]:
            lines.append(f"- {kind} test `{test['name']}`: failed: `{_hidden_line(test['message'])}`")
        else:
            detail = "\n".join("      " + line for line in test["message"].strip().splitlines())
            lines.append(f"- {kind} test `{test['name']}`: failed\n\n{detail}\n")
    return lines


def feedback(submission, assignment, result, numbers, manual):
    """The Markdown feedback of one graded submission."""
    manifest = assignment["manifest"]
    out = [f"# {manifest['name']}: feedback for {submission.student}\n"]
    if result.get("status", "ok") != "ok":
        out.append(f"**Grading problem:** {result['status']}. The answers of the cells that ran were graded.\n")
    for error in result.get("cell_errors", [])[:5]:
        out.append(f"- {error}")
    late = f", late {numbers['days_late']} day(s): x{numbers['late_factor']}" if numbers["days_late"] else ""
    out.append(f"\nTotal: **{numbers['total']} / {numbers['max']}** ({numbers['percent']} %{late}). "
               f"Autograded: {numbers['auto_points']} / {numbers['auto_max']}; written: "
               f"{numbers['manual_points'] or 'not graded yet'} / {numbers['manual_max']}.\n")
    answers = written_answers(submission.notebook or {})
    written_index = 0
    for question in manifest["questions"]:
        name, most = question["name"], float(question["points"])
        title = f"{name}: {question['title']}" if question.get("title") else name
        if question["manual"]:
            answer = answers[written_index] if written_index < len(answers) else ""
            written_index += 1
            graded = manual.get((submission.student, manifest["name"], name))
            points = f"{_points(graded[0])} / {_points(most)}" if graded else f"graded by hand, {_points(most)} points"
            out.append(f"## {title} (written): {points}\n")
            out.append("\n".join("> " + line for line in answer.strip().splitlines()) or "> (no answer)")
            if graded and graded[1]:
                out.append(f"\nComment: {graded[1]}")
            out.append("")
            continue
        got = result.get("questions", {}).get(name)
        out.append(f"## {title}: {_points(float(got['points'])) if got else 0} / {_points(most)}\n")
        out += _test_lines(got["tests"]) if got else ["Not graded (see the grading problem above)."]
        out.append("")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------
# Every report
# ----------------------------------------------------------------------------

SCORE_COLUMNS = ["file", "student", "assignment", "status", "flags", "submitted", "days_late", "late_factor",
                 "auto_points", "auto_max", "manual_points", "manual_max", "total", "max", "percent"]


def _write_csv(path, columns, rows):
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    tmp.replace(path)


def _graded_rows(submissions, assignments, store, manual, options, roster_ids, out):
    """Rows of scores.csv and questions.csv; writes each graded submission's feedback."""
    scores, questions, totals = [], [], {}
    for sub in submissions:
        base = [sub.key, sub.student, sub.assignment, "", "", sub.submitted.isoformat(timespec="seconds")]
        result = None if sub.problem else store.result(sub)
        if result is None:
            base[3] = sub.problem or "not graded yet (the run was interrupted: run it again to resume)"
            scores.append(base + [""] * (len(SCORE_COLUMNS) - len(base)))
            continue
        assignment = assignments[sub.assignment]
        numbers = score(sub, assignment, result, manual, options)
        base[3], base[4] = result.get("status", "ok"), flags_of(sub, result, numbers, roster_ids)
        scores.append(base + [numbers[c] for c in SCORE_COLUMNS[len(base):]])
        totals[(sub.student, sub.assignment)] = numbers
        for q in assignment["manifest"]["questions"]:
            got = result.get("questions", {}).get(q["name"])
            graded = manual.get((sub.student, sub.assignment, q["name"]))
            points = (_points(graded[0]) if graded else "") if q["manual"] else _points(float(got["points"]) if got else 0)
            questions.append([sub.student, sub.assignment, q["name"], points, _points(float(q["points"])),
                              "manual" if q["manual"] else base[3]])
        target = out / "feedback" / sub.student / f"{sub.assignment}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback(sub, assignment, result, numbers, manual), encoding="utf-8")
    return scores, questions, totals


def write_reports(out, submissions, assignments, store, manual=None, roster=None, options=None):
    """Write every CSV and feedback file from what the store holds (atomic replace: safe to call often)."""
    out, manual, options = Path(out), manual or {}, options or {}
    roster_ids = {r["student"] for r in roster} if roster is not None else None
    scores, questions, totals = _graded_rows(submissions, assignments, store, manual, options, roster_ids, out)
    graded_names = sorted({s.assignment for s in submissions if s.assignment in assignments})
    for person in roster or []:
        for name in graded_names:
            if (person["student"], name) not in totals:
                scores.append(["", person["student"], name, "missing: no submission", "on the roster"]
                              + [""] * (len(SCORE_COLUMNS) - 5))
    _write_csv(out / "scores.csv", SCORE_COLUMNS, scores)
    _write_csv(out / "questions.csv", ["student", "assignment", "question", "points", "max", "status"], questions)
    _write_gradebooks(out, graded_names, assignments, totals, roster)


def _write_gradebooks(out, names, assignments, totals, roster):
    people = roster if roster is not None else [{"student": s} for s in sorted({s for s, _ in totals})]
    maxima = {n: float(assignments[n]["manifest"]["auto_points"]) + float(assignments[n]["manifest"]["manual_points"])
              for n in names}
    students, canvas, gradescope = [], [], []
    for person in people:
        got = [totals.get((person["student"], n), {}).get("_total", 0.0) for n in names]
        total, most = sum(got), sum(maxima.values())
        cells = [_points(round(g, 4)) for g in got]
        students.append([person["student"], person.get("name", ""), *cells, _points(round(total, 4)),
                         _points(most), _points(round(100 * total / most, 1)) if most else ""])
        canvas.append([person.get("name") or person["student"], person.get("canvas_id", ""), person.get("sid", ""),
                       person.get("sis_login_id") or person["student"], person.get("section", ""), *cells])
        gradescope.append([person.get("name") or person["student"], person.get("sid", ""), person.get("email", ""),
                           *cells])
    _write_csv(out / "students.csv", ["student", "name", *names, "total", "max", "percent"], students)
    points_possible = ["Points Possible", "", "", "", "", *[_points(maxima[n]) for n in names]]
    _write_csv(out / "canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names],
               [points_possible, *canvas])
    _write_csv(out / "gradescope.csv", ["Name", "SID", "Email", *names], gradescope)

"""Grade a folder of submitted homework notebooks, each in a sandbox (no Docker, no JupyterHub).

    python -m homework.grade SUBMISSIONS [--out grades] [--roster roster.csv]
        [--manual manual.csv] [--deadline 2026-12-04T18:00:00+00:00 --late-penalty 0.1]
        [--timestamps times.csv] [--jobs 2]

Every file under SUBMISSIONS gets a row of ``OUT/scores.csv`` (see
:mod:`homework.collect` for how files are named, matched to assignments and to
students, and flagged). Each notebook is graded in two steps
(:mod:`homework.pipeline`): its cells run in a bubblewrap sandbox
(:mod:`homework.sandbox`) that reports the answers as data; then a fresh
interpreter that never ran student code runs the public and hidden tests
(:mod:`homework.check`), calling the student's functions, rebuilt from their
source, in a second sandbox. A student cell that patches otter or the tests
changes nothing but its own, discarded, process.

Results are appended to ``OUT/results.jsonl`` as each submission finishes, and
the reports (``scores.csv``, ``questions.csv``, ``students.csv``, ``canvas.csv``,
``gradescope.csv``, ``feedback/``; see :mod:`homework.gradebook`) are rewritten
after each one: a crash loses nothing, and running the same command again
grades only what is left: new or changed files, and the submissions of an
assignment whose autograder was rebuilt (``--regrade`` grades everything again).

Exit status: 0 when every file was graded, 1 when some file needs the
instructor (corrupt, unknown assignment, not a notebook, grading error).
"""

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homework import collect, gradebook, integrity, pipeline, sandbox  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Defaults of the command-line options (the instructors' page quotes them).
DEFAULTS = {"jobs": 2, "time_limit": 10, "cell_timeout": 120, "hang_timeout": 300, "memory_mb": 4096}
NEEDS_INSTRUCTOR = ("corrupt", "unknown assignment", "not a notebook", "error: the grader")


def load_assignments(dist):
    """{name: {manifest, zip, hwcheck, otter_cells, answers, heading}} of the built assignments in ``dist``."""
    assignments = {}
    for manifest_path in sorted(Path(dist).glob("*/questions.json")):
        manifest = json.loads(manifest_path.read_text())
        folder = manifest_path.parent
        zip_path = folder / "autograder" / f"{manifest['name']}-autograder.zip"
        student = folder / "student" / f"{manifest['name']}.ipynb"
        if not (zip_path.exists() and student.exists()):
            continue
        handed_out = collect.read_notebook(student)
        headings = [line for c in handed_out["cells"] if c.get("cell_type") == "markdown"
                    for line in collect.cell_source(c).splitlines() if re.match(r"#\s+\S", line)]
        assignments[manifest["name"]] = {
            "manifest": manifest, "zip": zip_path, "hwcheck": folder / "student" / "hwcheck.py",
            "otter_cells": integrity.otter_cells(handed_out), "answers": pipeline.test_arguments(zip_path),
            "heading": headings[0] if headings else "",
        }
    return assignments


def _parser():
    parser = argparse.ArgumentParser(
        description="Grade a folder of homework notebooks, each submission in a bubblewrap sandbox.",
        epilog="See the book's page 'For instructors' for the whole workflow and what the sandbox protects against.",
    )
    parser.add_argument("submissions", help="folder of submitted notebooks (.ipynb or otter's .zip), any layout")
    parser.add_argument("--dist", default=str(ROOT / "dist" / "homework"), help="what `make homework` built")
    parser.add_argument("--out", default="grades", help="folder for the results (default: %(default)s)")
    parser.add_argument("--roster", help="CSV of the students expected (column student; optional name, email, "
                                         "sid, canvas_id, sis_login_id, section)")
    parser.add_argument("--manual", help="CSV of scores of the written questions (student, assignment, question, "
                                         "points, comment)")
    parser.add_argument("--timestamps", help="CSV of submission times (file or student, submitted) instead of "
                                             "the files' modification times")
    parser.add_argument("--deadline", help="ISO 8601 time, e.g. 2026-12-04T18:00:00+00:00 (UTC if no zone)")
    parser.add_argument("--late-penalty", type=float, default=0.0,
                        help="fraction of the score lost per started day late (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=DEFAULTS["jobs"], help="submissions graded at once")
    parser.add_argument("--time-limit", type=float, default=DEFAULTS["time_limit"],
                        help="seconds per call of a student's function in a test (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULTS["cell_timeout"],
                        help="seconds per notebook cell before it is interrupted (default: %(default)s)")
    parser.add_argument("--hang-timeout", type=float, default=DEFAULTS["hang_timeout"],
                        help="seconds without a finished cell before the notebook is killed (default: %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=DEFAULTS["memory_mb"],
                        help="address space per sandboxed process, MiB (default: %(default)s)")
    parser.add_argument("--regrade", action="store_true", help="grade again what results.jsonl already holds")
    return parser


def _file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_inputs(parser, args, assignments):
    """Roster, manual scores, timestamps and deadline, with clear errors."""
    try:
        roster = collect.read_roster(args.roster) if args.roster else None
        manual = gradebook.read_manual(args.manual, assignments) if args.manual else {}
        stamps = collect.read_timestamps(args.timestamps) if args.timestamps else {}
        deadline = collect.parse_time(args.deadline, "--deadline: ") if args.deadline else None
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if not 0 <= args.late_penalty <= 1:
        parser.error("--late-penalty is a fraction per day, between 0 and 1")
    return roster, manual, stamps, deadline


def _grade_one(submission, assignment, settings):
    try:
        return pipeline.grade(submission, assignment, settings)
    except Exception as error:  # noqa: BLE001 - one submission never stops the run
        return {"status": f"error: the grader failed on this file ({type(error).__name__}: {error})",
                "questions": {}}


def _progress(index, count, submission, result, numbers):
    flags = "  [" + result["status"] + "]" if result.get("status") != "ok" else ""
    if result.get("tampered"):
        flags += "  [tampered]"
    print(f"[{index}/{count}] {submission.student:<20} {submission.assignment:<20} "
          f"{numbers['auto_points']:>5} / {numbers['auto_max']} auto  {result.get('seconds', 0):5.1f} s{flags}",
          flush=True)


def _stop_on_signals():
    """Ctrl-C or `kill`: stop at once. What is graded is already on disk; the sandboxes and
    checkers die with this process (``--die-with-parent``, ``PR_SET_PDEATHSIG``).
    Returns the previous handlers."""
    def stop(signum, frame):
        print(f"\ninterrupted ({signal.Signals(signum).name}): what was graded is kept; "
              "run the same command again to grade the rest", file=sys.stderr, flush=True)
        os._exit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        parser.error(str(error))
    assignments = load_assignments(args.dist)
    if not assignments:
        parser.error(f"no built assignments in {args.dist}: run `make homework` first")
    if not Path(args.submissions).is_dir():
        parser.error(f"{args.submissions} is not a folder")
    roster, manual, stamps, deadline = _read_inputs(parser, args, assignments)
    options = {"deadline": deadline, "late_penalty": args.late_penalty}
    settings = pipeline.Settings(time_limit=args.time_limit, cell_timeout=args.cell_timeout,
                                 hang_timeout=max(args.hang_timeout, args.cell_timeout + 10),
                                 memory_mb=args.memory_mb)
    sandbox.cleanup_stale_cgroups()
    submissions = collect.discover(args.submissions, assignments, stamps)
    out = Path(args.out)
    store = gradebook.ResultStore(out, {name: _file_hash(a["zip"]) for name, a in assignments.items()})
    todo = [s for s in submissions if not s.problem and (args.regrade or not store.done(s))]
    print(f"{len(submissions)} file(s) in {args.submissions}: {len(todo)} to grade, "
          f"{sum(1 for s in submissions if not s.problem) - len(todo)} already graded, "
          f"{sum(1 for s in submissions if s.problem)} flagged; {args.jobs} at a time", flush=True)
    previous = _stop_on_signals()
    try:
        run = _Run(submissions, assignments, store, out, manual, roster, options)
        return _grade_all(run, todo, settings, args.jobs)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class _Run:
    """What one grading run reports on."""

    submissions: list
    assignments: dict
    store: gradebook.ResultStore
    out: Path
    manual: dict
    roster: list | None
    options: dict

    def write(self):
        gradebook.write_reports(self.out, self.submissions, self.assignments, self.store, self.manual,
                                self.roster, self.options)


def _grade_all(run, todo, settings, jobs):
    """Grade ``todo``, ``jobs`` at a time, rewriting the reports after each; returns the exit status."""
    start, lock = time.perf_counter(), threading.Lock()
    run.write()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_one, s, run.assignments[s.assignment], settings): s for s in todo}
        for index, future in enumerate(as_completed(futures), start=1):
            sub, result = futures[future], future.result()
            with lock:
                run.store.add(sub, result)
                run.write()
                numbers = gradebook.score(sub, run.assignments[sub.assignment], result, run.manual, run.options)
                _progress(index, len(todo), sub, result, numbers)
    pipeline.stop_checkers()
    for sub in run.submissions:
        if sub.problem:
            print(f"  flagged: {sub.key}: {sub.problem}")
    print(f"graded {len(todo)} submission(s) in {time.perf_counter() - start:.0f} s; "
          f"wrote {run.out / 'scores.csv'} and {run.out / 'feedback'}/")
    problems = [s for s in run.submissions if s.problem.startswith(NEEDS_INSTRUCTOR)]
    problems += [s for s in todo if str(run.store.result(s).get("status", "")).startswith("error: the grader")]
    if problems:
        print(f"{len(problems)} file(s) need you: see their status in {run.out / 'scores.csv'} (exit status 1)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade a folder of submitted homework notebooks from the command line (no Docker, no JupyterHub).

    python -m homework.grade SUBMISSIONS [--dist dist/homework] [--out grades] [--jobs 2]

SUBMISSIONS holds the notebooks students handed in (``.ipynb``, or the ``.zip``
that the notebook's export cell makes), in any layout, for example
``alice.ipynb`` or ``alice/hw02_sharing.ipynb``. Each notebook names its
assignment in its metadata (otter writes it there); the student is the file's
name, or its folder's when the file keeps the assignment's name.

Every submission is executed from top to bottom by otter-grader (``otter run``,
the autograder zip of ``make homework``), with public and hidden tests and
partial credit, in a fresh Jupyter kernel. Three time limits keep one
submission from holding up the others:

* ``--time-limit``: seconds per call of a student's function inside a test
  (``hwcheck.time_limit``); an infinite loop fails that test only;
* ``--cell-timeout``: seconds per notebook cell of the student's own code; the
  kernel is interrupted and grading goes on with the next cell;
* ``--hang-timeout``: seconds a submission may go without finishing a cell
  (a loop that ignores interrupts); its grading process is then killed with
  its kernel, it scores zero, marked ``timed out``, and the others are graded.

Results:

* ``OUT/scores.csv``: one row per student, assignment and question, with the
  columns student, assignment, question, points, max, status. Written
  questions have an empty ``points``: grade them by hand (their answers are
  copied into the feedback).
* ``OUT/feedback/<student>/<assignment>.md``: what each student gets back:
  points per question, the message of every failed public test, the last line
  of every failed hidden test (not its code), and the written answers.

Grading runs the submitted code with your permissions. For submissions you do
not trust, grade in a container (``otter grade``, Docker) or on Gradescope.
"""

import argparse
import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Defaults of the command-line options (the instructors' page quotes them).
DEFAULTS = {"jobs": 2, "batch": 8, "time_limit": 10, "cell_timeout": 120, "hang_timeout": 600}
OTTER_CELLS = ("grader.check(", "Checker.check_if_not_already_checked", "init_grading_mode", "grader.export(")


@dataclass
class Submission:
    key: str          # unique id of this (student, assignment) pair, a file name
    student: str
    assignment: str
    path: Path


# ----------------------------------------------------------------------------
# Finding the submissions
# ----------------------------------------------------------------------------

def _notebook_json(path):
    """The JSON of a submitted notebook, or of the one notebook inside a submitted zip."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".ipynb") and "/." not in "/" + n]
            if len(names) != 1:
                raise ValueError(f"{path}: expected one notebook in the zip, found {len(names)}")
            return json.loads(archive.read(names[0]))
    return json.loads(path.read_text(encoding="utf-8"))


def assignment_of(path, names):
    """The assignment a submission is for: otter's notebook metadata, else a name in its path."""
    try:
        metadata = _notebook_json(path).get("metadata", {})
        name = metadata.get("otter", {}).get("assignment_name")
        if name in names:
            return name
    except (ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError):
        pass
    for name in names:
        if name in path.as_posix():
            return name
    return None


def discover(folder, names):
    """Every submission under ``folder``; the second list holds files of no known assignment."""
    folder = Path(folder)
    found, unknown = [], []
    paths = sorted(p for p in folder.rglob("*") if p.suffix in (".ipynb", ".zip") and p.is_file())
    for path in paths:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .ipynb_checkpoints and the like
        assignment = assignment_of(path, names)
        if assignment is None:
            unknown.append(path)
            continue
        stem = rel.with_suffix("")
        if stem.name == assignment or stem.name.startswith(assignment + "_20"):  # an otter export zip
            stem = stem.parent
        student = stem.as_posix() if stem.as_posix() not in ("", ".") else path.stem
        key = f"{student.replace('/', '__')}--{assignment}"
        found.append(Submission(key, student, assignment, path))
    keys = [s.key for s in found]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise SystemExit(f"two submissions for the same student and assignment: {sorted(duplicates)}")
    return found, unknown


# ----------------------------------------------------------------------------
# The worker: grades a list of submissions of one assignment, in this process
# ----------------------------------------------------------------------------

def execute_config(folder, cell_timeout=None, heartbeat=None):
    """traitlets Config for otter's notebook execution.

    Kernels talk over Unix sockets in ``folder`` (no TCP ports to collide when several
    submissions start at once). With ``cell_timeout``, a cell of student code (not
    otter's check cells) is interrupted after that many seconds and execution goes
    on with the next cell; with ``heartbeat``, that file is touched after every cell
    (the scheduler watches it).
    """
    from traitlets.config import Config

    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(Path(folder) / "kernel")
    if heartbeat is not None:
        config.ExecutePreprocessor.on_cell_executed = lambda **_: Path(heartbeat).touch()
    if cell_timeout is not None:
        def timeout_of(cell):
            source = cell.get("source", "")
            return None if any(mark in source for mark in OTTER_CELLS) else cell_timeout

        message = f"this cell ran for more than {cell_timeout} s and was interrupted"
        config.ExecutePreprocessor.timeout_func = timeout_of
        config.ExecutePreprocessor.interrupt_on_timeout = True
        config.ExecutePreprocessor.error_on_timeout = {
            "ename": "CellTimeoutError", "evalue": message, "traceback": [f"CellTimeoutError: {message}"],
        }
    return config


def summarize(results):
    """A JSON-ready dict of otter's GradingResults."""
    error = getattr(results, "_catastrophic_error", None)
    out = {"status": "ok" if error is None else f"error: {type(error).__name__}: {error}", "questions": {}}
    for name, test_file in results.results.items():
        out["questions"][name] = {
            "points": float(test_file.score),
            "max": float(test_file.possible),
            "tests": [
                {"hidden": bool(r.test_case.hidden), "passed": bool(r.passed), "message": r.message}
                for r in test_file.test_case_results
            ],
        }
    return out


def skip_slow_imports(folder):
    """Make ``import rfc3987_syntax`` fail fast here and in the kernels this process starts.

    jsonschema (imported by otter, through nbformat) loads that optional package when
    it is installed, only to validate IRIs; building its grammar costs seconds of CPU
    per import, that is per graded submission. A stub that raises ImportError, first
    on the kernels' PYTHONPATH, makes jsonschema skip it as if it were not installed.
    """
    stubs = Path(folder) / "import-stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "rfc3987_syntax.py").write_text('raise ImportError("not needed for grading")\n')
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stubs), os.environ.get("PYTHONPATH")]))
    sys.modules.setdefault("rfc3987_syntax", None)


def worker(job_file):
    """Grade the submissions listed in ``job_file``, writing ``<key>.json`` beside it for each."""
    job = json.loads(Path(job_file).read_text())
    os.environ["HOMEWORK_TIME_LIMIT"] = str(job["time_limit"])
    skip_slow_imports(Path(job_file).parent)
    import otter.execute
    from otter.run import main as otter_run

    results_dir = Path(job_file).parent
    heartbeat = results_dir / "heartbeat"
    otter.execute.Config = lambda: execute_config(results_dir, job["cell_timeout"], heartbeat)
    for task in job["tasks"]:
        heartbeat.touch()
        log = io.StringIO()
        start = time.perf_counter()
        for attempt in range(3):
            try:
                with contextlib.redirect_stdout(log):
                    results = otter_run(task["path"], autograder=job["autograder"], output_dir=None, no_logo=True)
                summary = summarize(results)
            except BaseException as error:  # noqa: BLE001 - one broken submission must not stop the rest
                if isinstance(error, KeyboardInterrupt):
                    raise
                summary = {"status": f"error: {type(error).__name__}: {error}", "questions": {}}
                if "before replying to kernel_info" in str(error) and attempt < 2:
                    continue  # the kernel failed to start: not the submission's fault, try again
            break
        summary["seconds"] = round(time.perf_counter() - start, 1)
        summary["log"] = log.getvalue()[-4000:]
        tmp = results_dir / f"{task['key']}.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.rename(results_dir / f"{task['key']}.json")


# ----------------------------------------------------------------------------
# The scheduler: runs workers, enforces the submission timeout
# ----------------------------------------------------------------------------

class Batch:
    def __init__(self, assignment, tasks, folder, settings, number):
        self.assignment, self.tasks, self.settings = assignment, tasks, settings
        self.folder = Path(folder) / f"batch{number:03d}"
        self.folder.mkdir(parents=True)
        job = {"autograder": str(assignment["zip"]), "tasks": tasks, **settings}
        (self.folder / "job.json").write_text(json.dumps(job, indent=1))
        self.stderr = open(self.folder / "stderr.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(self.folder / "job.json")],
            stdout=subprocess.DEVNULL, stderr=self.stderr, start_new_session=True,
        )
        self.done = 0
        self.started = time.time()

    def idle_for(self):
        """Seconds since the worker last finished a cell or a submission."""
        heartbeat = self.folder / "heartbeat"
        last = heartbeat.stat().st_mtime if heartbeat.exists() else self.started
        return time.time() - max(last, self.started)

    def poll(self, results):
        """Collect finished results; returns (finished, leftover tasks to run again)."""
        while self.done < len(self.tasks):
            path = self.folder / f"{self.tasks[self.done]['key']}.json"
            if not path.exists():
                break
            results[self.tasks[self.done]["key"]] = json.loads(path.read_text())
            self.done += 1
        if self.done == len(self.tasks):
            self.stop(wait=True)
            return True, []
        stalled = self.idle_for() > self.settings["hang_timeout"]
        exited = self.process.poll() is not None
        if not (stalled or exited):
            return False, []
        self.stop()
        if not exited:
            status = f"timed out: no cell finished in {self.settings['hang_timeout']} s"
        else:
            status = f"error: the grading process exited ({self.process.returncode})"
            tail = (self.folder / "stderr.log").read_text()[-1500:]
            if tail.strip():
                status += ": " + tail.strip().splitlines()[-1]
        results[self.tasks[self.done]["key"]] = {"status": status, "questions": {}}
        return True, self.tasks[self.done + 1:]

    def stop(self, wait=False):
        """End the worker; kill it with its kernels unless it ends cleanly (``wait``: give it time to)."""
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        if self.process.poll() is None or self.process.returncode != 0:
            # the worker leads its own process group; its kernels (in sessions of their own)
            # exit by themselves when their parent dies (ipykernel watches it)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.stderr.close()


def run_all(submissions, assignments, settings, jobs, batch_size, workdir):
    """Grade every submission; returns {key: summary}."""
    queue = []
    for name, assignment in assignments.items():
        tasks = [{"key": s.key, "path": str(s.path.resolve())} for s in submissions if s.assignment == name]
        for start in range(0, len(tasks), batch_size):
            queue.append((assignment, tasks[start:start + batch_size]))
    queue.sort(key=lambda item: -len(item[1]))   # the longest batches first
    results, running, number = {}, [], 0
    try:
        while queue or running:
            while queue and len(running) < jobs:
                assignment, tasks = queue.pop(0)
                number += 1
                running.append(Batch(assignment, tasks, workdir, settings, number))
            time.sleep(0.2)
            for batch in list(running):
                finished, leftover = batch.poll(results)
                if finished:
                    running.remove(batch)
                    if leftover:
                        queue.insert(0, (batch.assignment, leftover))
    finally:  # interrupted (Ctrl-C): leave no grading process behind
        for batch in running:
            batch.stop()
    return results


# ----------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------

def _points(value):
    return f"{value:g}"


def _last_line(message):
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def written_answers(path, notebook_json=None):
    """The Markdown answers of the written questions, in order (otter marks their cells)."""
    try:
        notebook = notebook_json or _notebook_json(Path(path))
    except (ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError):
        return []
    answers = []
    for cell in notebook.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "markdown" and "otter_answer_cell" in tags:
            source = cell.get("source", "")
            answers.append("".join(source) if isinstance(source, list) else source)
    return answers


def rows_and_feedback(submission, manifest, summary):
    """CSV rows and the Markdown feedback of one submission."""
    rows, lines = [], []
    status = summary.get("status", "error: no result")
    graded = summary.get("questions", {})
    answers = written_answers(submission.path)
    auto = got = 0.0
    lines.append(f"# {manifest['name']}: feedback for {submission.student}\n")
    if status != "ok":
        lines.append(f"**Grading problem:** {status}. Questions without a result score zero.\n")
    body = []
    manual_index = 0
    for question in manifest["questions"]:
        name, max_points = question["name"], float(question["points"])
        title = f"{name}: {question['title']}" if question.get("title") else name
        if question["manual"]:
            answer = answers[manual_index] if manual_index < len(answers) else ""
            manual_index += 1
            rows.append([submission.student, manifest["name"], name, "", _points(max_points), "manual"])
            body.append(f"## {title} (written, {_points(max_points)} points, graded by hand)\n")
            quoted = "\n".join("> " + line for line in answer.strip().splitlines()) or "> (no answer)"
            body.append(quoted + "\n")
            continue
        result = graded.get(name)
        points = float(result["points"]) if result else 0.0
        auto += max_points
        got += points
        row_status = status if result is None else "ok"
        rows.append([submission.student, manifest["name"], name, _points(points), _points(max_points), row_status])
        body.append(f"## {title}: {_points(points)} / {_points(max_points)}\n")
        if result is None:
            body.append("Not graded (see the grading problem above).\n")
            continue
        public = hidden = 0
        for test in result["tests"]:
            if test["hidden"]:
                hidden += 1
                label = f"hidden test {hidden}"
            else:
                public += 1
                label = f"public test {public}"
            if test["passed"]:
                body.append(f"- {label}: passed")
            elif test["hidden"]:
                body.append(f"- {label}: failed: `{_last_line(test['message'])}`")
            else:
                detail = "\n".join("      " + line for line in test["message"].strip().splitlines()[1:])
                body.append(f"- {label}: failed\n\n{detail}\n")
        body.append("")
    lines.append(f"Autograded: **{_points(got)} / {_points(auto)}**. Written questions are graded by hand.\n")
    return rows, "\n".join(lines + body) + "\n"


def load_assignments(dist):
    assignments = {}
    for manifest_path in sorted(Path(dist).glob("*/questions.json")):
        manifest = json.loads(manifest_path.read_text())
        zip_path = manifest_path.parent / "autograder" / f"{manifest['name']}-autograder.zip"
        if zip_path.exists():
            assignments[manifest["name"]] = {"manifest": manifest, "zip": zip_path}
    return assignments


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Grade a folder of homework notebooks with otter-grader, without Docker.",
        epilog="Grading runs the submitted code: isolate it (otter grade with Docker, or Gradescope) "
               "when you do not trust the submissions.",
    )
    parser.add_argument("submissions", help="folder of submitted notebooks (.ipynb or otter's .zip)")
    parser.add_argument("--dist", default=str(ROOT / "dist" / "homework"), help="what `make homework` built")
    parser.add_argument("--out", default="grades", help="folder for scores.csv and feedback/ (default: grades)")
    parser.add_argument("--jobs", type=int, default=DEFAULTS["jobs"],
                        help="submissions graded at once (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"],
                        help="submissions graded one after another by one grading process (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=DEFAULTS["time_limit"],
                        help="seconds per call of a student's function in a test (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=int, default=DEFAULTS["cell_timeout"],
                        help="seconds per cell of student code before it is interrupted (default: %(default)s)")
    parser.add_argument("--hang-timeout", type=int, default=DEFAULTS["hang_timeout"],
                        help="seconds a submission may go without finishing a cell before its grading "
                             "is killed (default: %(default)s)")
    args = parser.parse_args(argv)

    assignments = load_assignments(args.dist)
    if not assignments:
        parser.error(f"no built assignments in {args.dist}: run `make homework` first")
    if not Path(args.submissions).is_dir():
        parser.error(f"{args.submissions} is not a folder")
    submissions, unknown = discover(args.submissions, list(assignments))
    for path in unknown:
        print(f"skipped (not a submission of a known assignment): {path}", file=sys.stderr)
    if not submissions:
        parser.error(f"no submissions found in {args.submissions}")

    # `kill` (SIGTERM) ends the grading like Ctrl-C: run_all then stops its workers
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    settings = {
        "time_limit": args.time_limit,
        "cell_timeout": args.cell_timeout,
        "hang_timeout": max(args.hang_timeout, args.cell_timeout + 10),
    }
    start = time.perf_counter()
    print(f"grading {len(submissions)} submission(s) of {len({s.assignment for s in submissions})} "
          f"assignment(s), {args.jobs} at a time ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="homework-grade-") as workdir:
        results = run_all(submissions, assignments, settings, max(1, args.jobs), max(1, args.batch), workdir)

    out = Path(args.out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    (out / "raw").mkdir(exist_ok=True)
    all_rows = []
    for submission in submissions:
        summary = results.get(submission.key, {"status": "error: not graded", "questions": {}})
        manifest = assignments[submission.assignment]["manifest"]
        rows, feedback = rows_and_feedback(submission, manifest, summary)
        all_rows += rows
        target = out / "feedback" / submission.student / f"{submission.assignment}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback)
        (out / "raw" / f"{submission.key}.json").write_text(json.dumps(summary, indent=1))
        total = sum(float(r[3]) for r in rows if r[3] != "")
        possible = sum(float(r[4]) for r in rows if r[3] != "" or r[5] != "manual")
        flag = "" if summary.get("status") == "ok" else f"  [{summary.get('status')}]"
        print(f"  {submission.student:<24} {submission.assignment:<22} {_points(total):>5} / {_points(possible)}{flag}")
    with open(out / "scores.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "question", "points", "max", "status"])
        writer.writerows(all_rows)
    print(f"wrote {out / 'scores.csv'} and {out / 'feedback'}/ in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()

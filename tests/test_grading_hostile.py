"""Hostile submissions: each gets the score it deserves, the others are graded, the host is untouched.

One grading run (``homework.grade``, every submission in its sandboxes) over a
folder of ``hw01_locality`` submissions made from the built student notebook:
honest ones, and ones that patch the test runner, write outside their folder,
look for the hidden tests and the other notebooks, leak test code through an
exception, kill their parent, fork-bomb, exhaust memory, loop while ignoring
interrupts, print hundreds of megabytes, reach the network; plus a corrupt
file, a renamed file, a duplicate and a name to normalise. The expected scores
are worked out from what each submission answers honestly (the reference
solution scores 10 autograded points, and each question's points are in the
master), never read from the grader.

The grading tree (the built assignments, the submissions, ``homework/``) is
hashed before and after, a sentinel file outside it must keep its content, a
listener on the host's loopback must get no connection, and no process of a
sandbox uid may survive the run.
"""

import copy
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from test_homework import ROOT, built_dist, filled, read_notebook

from homework import grade, sandbox  # noqa: E402

NAME = "hw01_locality"
FULL = 10                     # autograded points of hw01 (q1 4, q2 4, q3 2)
Q1, Q2 = 4, 4
LIMITS = ["--time-limit", "2", "--cell-timeout", "8", "--hang-timeout", "20", "--jobs", "2", "--memory-mb", "2048"]

pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")


# ----------------------------------------------------------------------------
# Making the submissions
# ----------------------------------------------------------------------------

def _index(notebook, prefix):
    return next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and c.source.startswith(prefix))


def with_cell(notebook, source, before='grader.check_all()'):
    """A copy of ``notebook`` with a code cell inserted before the cell that starts with ``before``."""
    notebook = copy.deepcopy(notebook)
    notebook.cells.insert(_index(notebook, before), nbformat.v4.new_code_cell(source))
    return notebook


def with_answer(notebook, prefix, source):
    """A copy with the answer cell that starts with ``prefix`` replaced by ``source``."""
    notebook = copy.deepcopy(notebook)
    notebook.cells[_index(notebook, prefix)].source = source
    return notebook


def hidden_test_text(dist):
    with zipfile.ZipFile(dist / NAME / "autograder" / f"{NAME}-autograder.zip") as archive:
        return archive.read("tests/q1.py").decode()


def hidden_lines(dist):
    """The lines of the hidden test cases of every test file (public ones are the students' anyway)."""
    hidden, public = [], set()
    with zipfile.ZipFile(dist / NAME / "autograder" / f"{NAME}-autograder.zip") as archive:
        for member in archive.namelist():
            if member.startswith("tests/") and member.endswith(".py"):
                for block in archive.read(member).decode().split("@test_case(")[1:]:
                    lines = [" ".join(line.split()) for line in block.splitlines()[1:]]
                    if "hidden=True" in block.split("\n")[0]:
                        hidden += lines
                    else:
                        public.update(lines)
    return [line for line in hidden if len(line) >= 12 and "def " not in line and line not in public]


PATCH_RUNNER = """
from otter.test_files.exception_test import test_case
test_case.call_func = lambda self, env: None
import otter.test_files.abstract_test as abstract
abstract.TestFile.score = property(lambda self: self.possible)
import hwcheck, builtins
hwcheck.own_code = lambda *args, **kwargs: None
hwcheck.assert_close = hwcheck.assert_array = hwcheck.assert_integer = lambda *args, **kwargs: None
builtins.AssertionError = type("Never", (Exception,), {})
"""

WRITE_OUTSIDE = """
import os, subprocess
targets = {targets!r}
for path in targets:
    for attempt in (lambda: open(path, "w").write("pwned"), lambda: os.remove(path),
                    lambda: os.makedirs(path + ".d"), lambda: os.chmod(path, 0o777)):
        try:
            attempt()
        except Exception:
            pass
try:
    subprocess.run("touch /root/pwned /pwned; echo pwned > {sentinel}", shell=True, timeout=5)
except Exception:
    pass
"""

READ_HIDDEN = '''
import os

def search(top="/"):
    """Files that hold a hidden test (its name is in last year's feedback), look like an autograder,
    or are notebooks (other students' submissions)."""
    hits = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr", "site-packages")]
        for name in files:
            path = os.path.join(folder, name)
            try:
                if "autograder" in name or name.endswith(".ipynb") or (os.path.getsize(path) < 200_000
                                            and "test_against_torch_unfold" in open(path, errors="ignore").read()):
                    hits.append(path)
            except OSError:
                pass
    return hits

found = search()

def receptive_field_mask(height, width, kernel_size, stride=1, padding=0):
    """Looks for the tests again from inside the function, then reports what it found."""
    raise RuntimeError(f"found: {sorted(set(found + search()))}")
'''

LEAK = '''
def receptive_field_mask(height, width, kernel_size, stride=1, padding=0):
    """Raises with the text of the hidden tests: read from disk if it can, else the copy it carries."""
    try:
        text = open("../source/tests/q1.py").read()
    except OSError:
        text = {text!r}
    raise AssertionError(text)
'''

KILL_PARENT = """
import os, signal
for attempt in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.kill(1, signal.SIGKILL),
                lambda: os.killpg(os.getpgid(0), signal.SIGKILL), lambda: os.kill(-1, signal.SIGKILL),
                lambda: os.kill(os.getpid(), signal.SIGKILL)):
    try:
        attempt()
    except Exception:
        pass
"""

KILL_IN_FUNCTION = """\
    import os, signal
    if "get_ipython" not in globals():     # not in the notebook: in the grader's hands, kill everything
        for target in (os.getppid(), 1, -1, os.getpid()):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
"""

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

MEMORY = """
hog = []
try:
    hog.append(bytearray(64 * 2**30))
except MemoryError:
    pass
try:
    while True:
        hog.append(bytearray(2**28))
except MemoryError:
    hog = None
"""

SPIN_IGNORING_SIGINT = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""

SLEEP_IGNORING_EVERY_SIGNAL = """
import signal, time
for sig in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM):
    signal.signal(sig, signal.SIG_IGN)
while True:
    time.sleep(0.2)
"""

NETWORK = """
import socket, urllib.request
for attempt in (lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"pwned"),
                lambda: urllib.request.urlopen("http://127.0.0.1:{port}/pwned", timeout=2),
                lambda: socket.create_connection(("pypi.org", 443), timeout=2)):
    try:
        attempt()
    except Exception:
        pass
"""

HUGE_OUTPUT = """
import os, sys
for _ in range(300):
    print("x" * 10**6)
    os.write(1, b"y" * 10**6)
    os.write(2, b"z" * 10**6)
try:
    with open("big.bin", "wb") as handle:
        for _ in range(2000):
            handle.write(b"0" * 10**6)
except OSError:
    pass
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The submissions, the places they must not touch, and their hashes before grading."""
    dist = built_dist()
    student = read_notebook(dist / NAME / "student" / f"{NAME}.ipynb")
    solution = filled(student, read_notebook(dist / NAME / "autograder" / f"{NAME}.ipynb"))
    folder = tmp_path_factory.mktemp("hostile")
    outside = tmp_path_factory.mktemp("outside")
    sentinel = outside / "sentinel.txt"
    sentinel.write_text("untouched\n")
    out = tmp_path_factory.mktemp("grades")
    listener = _Listener()
    targets = [str(sentinel), str(outside / "new.txt"), str(dist / NAME / "questions.json"),
               str(ROOT / "homework" / "grade.py"), str(ROOT / "pwned.txt"), str(folder / "honest1.ipynb"),
               str(out / "results.jsonl"), "/tmp/pwned.txt", "/etc/pwned", "/root/pwned"]
    cells = {
        "honest1.ipynb": solution,
        "honest2/hw01_locality.ipynb": solution,
        "patcher.ipynb": with_answer(with_cell(student, PATCH_RUNNER, 'grader.check("q1")'),
                                     'grader.check("q1")', 'print("checked")'),
        "writer.ipynb": with_cell(solution, WRITE_OUTSIDE.format(targets=targets, sentinel=sentinel)),
        "reader.ipynb": with_answer(solution, "def receptive_field_mask", READ_HIDDEN),
        "leaker.ipynb": with_answer(solution, "def receptive_field_mask", LEAK.format(text=hidden_test_text(dist))),
        "killer.ipynb": with_cell(with_answer(solution, "def local_weight_matrix",
                                              solution.cells[_index(solution, "def local_weight_matrix")].source
                                              .replace('"""\n', '"""\n' + KILL_IN_FUNCTION, 1)),
                                  KILL_PARENT),
        "forkbomb.ipynb": with_cell(solution, FORK_BOMB),
        "memhog.ipynb": with_cell(solution, MEMORY),
        "spinner.ipynb": with_cell(solution, SPIN_IGNORING_SIGINT),
        "sleeper.ipynb": with_cell(solution, SLEEP_IGNORING_EVERY_SIGNAL),
        "shouter.ipynb": with_cell(solution, HUGE_OUTPUT),
        "caller.ipynb": with_cell(solution, NETWORK.format(port=listener.port)),
        "mallory/Untitled (1).ipynb": solution,
        "judy/Copy of hw01_locality.ipynb": student,
        "judy/hw01_locality.ipynb": solution,
        "Copy of trent_hw01_locality (1).ipynb": solution,
    }
    for rel, notebook in cells.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / rel)
    (folder / "ivan.ipynb").write_text('{"cells": [')
    older = time.time() - 3600
    os.utime(folder / "judy" / "Copy of hw01_locality.ipynb", (older, older))
    # (cnnlib/ is bound read-only too, but other work may edit it while the tests run)
    trees = [dist, folder, ROOT / "homework"]
    return {"dist": dist, "folder": folder, "out": out, "sentinel": sentinel, "outside": outside, "listener": listener,
            "trees": trees, "hashes": {str(t): tree_hash(t) for t in trees}}


class _Listener:
    """A TCP server on the host's loopback that counts the connections it gets (none must come)."""

    def __init__(self):
        import socket
        import threading

        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def tree_hash(folder):
    """{relative path: sha256} of every file under ``folder`` (caches of Python excluded)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def sandbox_processes(grader=None):
    """Pids of live processes whose uid is one of the sandboxes'; where the machine has cgroups,
    only those of the sandboxes that the process ``grader`` (default: this one) started, so
    that another test session running at the same time is not counted."""
    grader = os.getpid() if grader is None else grader
    low, high = sandbox.UID_RANGE
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = int(next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1])
            cgroups = (status.parent / "cgroup").read_text()
        except (OSError, StopIteration, ValueError):
            continue
        ours = f"{sandbox.CGROUP_PARENT}/{grader}-" in cgroups or sandbox.CGROUP_PARENT not in cgroups
        if low <= uid < high and ours:
            found.append(int(status.parent.name))
    return found


def checker_processes():
    """Pids of live checker processes (``python -m homework.check``)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"homework.check" in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def _parent(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def graded(world):
    start = time.perf_counter()
    status = grade.main([str(world["folder"]), "--dist", str(world["dist"]), "--out", str(world["out"]), *LIMITS])
    print(f"\nhostile batch: {len(list(world['folder'].rglob('*.ipynb')))} notebooks graded in "
          f"{time.perf_counter() - start:.0f} s")
    with open(world["out"] / "scores.csv", newline="") as handle:
        rows = {r["file"]: r for r in csv.DictReader(handle)}
    return status, rows


def total(rows, file):
    return float(rows[file]["auto_points"])


# ----------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------

def test_honest_submissions_in_the_batch_score_full_marks(graded):
    _, rows = graded
    for file in ("honest1.ipynb", "honest2/hw01_locality.ipynb", "mallory/Untitled (1).ipynb",
                 "judy/hw01_locality.ipynb", "Copy of trent_hw01_locality (1).ipynb"):
        assert total(rows, file) == FULL, (file, rows[file])
        assert rows[file]["status"] == "ok"


def test_patching_the_runner_earns_nothing_and_is_flagged(graded):
    _, rows = graded
    row = rows["patcher.ipynb"]
    assert total(row and rows, "patcher.ipynb") == 0
    assert "tampered" in row["flags"] and "otter cell" in row["flags"]


@pytest.mark.parametrize("file, expected", [
    ("writer.ipynb", FULL),             # its answers are right; its writes all fail
    ("reader.ipynb", FULL - Q1),        # q1 raises with what it found: nothing
    ("leaker.ipynb", FULL - Q1),        # q1 raises with the hidden test's text
    ("killer.ipynb", FULL - Q2),        # q2 kills its own process when called; a last cell kills the notebook
    ("forkbomb.ipynb", FULL),
    ("memhog.ipynb", FULL),
    ("spinner.ipynb", FULL),            # interrupted by the cell time limit, not by SIGINT
    ("sleeper.ipynb", FULL),            # ignores every signal: killed, the cells before it count
    ("shouter.ipynb", FULL),
    ("caller.ipynb", FULL),             # its connections all fail
])
def test_hostile_submissions_earn_what_their_honest_parts_earn(graded, file, expected):
    _, rows = graded
    assert total(rows, file) == expected, rows[file]


def test_statuses_say_what_happened(graded):
    _, rows = graded
    assert rows["sleeper.ipynb"]["status"].startswith("timed out")
    assert rows["killer.ipynb"]["status"].startswith("error: the notebook's process ended (killed by SIGKILL)")
    assert rows["spinner.ipynb"]["status"] == "ok"
    assert "suspicious" in rows["killer.ipynb"]["flags"] and "suspicious" in rows["forkbomb.ipynb"]["flags"]


def test_every_file_is_in_the_results_with_a_reason(graded, world):
    status, rows = graded
    files = sorted(p.relative_to(world["folder"]).as_posix() for p in world["folder"].rglob("*") if p.is_file())
    assert sorted(rows) == files
    assert rows["ivan.ipynb"]["status"].startswith("corrupt")
    assert rows["judy/Copy of hw01_locality.ipynb"]["status"].startswith("duplicate: judy/hw01_locality.ipynb")
    assert rows["mallory/Untitled (1).ipynb"]["student"] == "mallory"
    assert rows["Copy of trent_hw01_locality (1).ipynb"]["student"] == "trent"
    assert status == 1, "a corrupt file needs the instructor: the exit status says so"


# ----------------------------------------------------------------------------
# Secrets and the host
# ----------------------------------------------------------------------------

def test_no_hidden_test_text_in_any_feedback(graded, world):
    hidden = hidden_lines(world["dist"])
    assert len(hidden) > 10 and "import torch.nn.functional as F" in hidden
    feedback = list((world["out"] / "feedback").rglob("*.md"))
    assert len(feedback) >= 12
    for path in feedback:
        text = " ".join(path.read_text().split())
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{path}: {leaked[:2]}"
    leaker = (world["out"] / "feedback" / "leaker" / f"{NAME}.md").read_text()
    assert "withheld" in leaker


def test_the_sandbox_hid_the_tests_from_the_reader(graded, world):
    feedback = (world["out"] / "feedback" / "reader" / f"{NAME}.md").read_text()
    assert "RuntimeError: found: []" in feedback


def test_nothing_outside_the_scratch_folder_changed(graded, world):
    assert world["sentinel"].read_text() == "untouched\n"
    assert sorted(p.name for p in world["outside"].iterdir()) == ["sentinel.txt"]
    for tree in world["trees"]:
        assert tree_hash(tree) == world["hashes"][str(tree)], f"{tree} changed"
    for path in ("/tmp/pwned.txt", "/etc/pwned", "/root/pwned", "/pwned", str(ROOT / "pwned.txt")):
        assert not os.path.exists(path), path


def test_no_connection_left_the_sandbox(graded, world):
    assert world["listener"].connections == 0


def test_the_listener_would_have_seen_a_connection(world):
    """The network check can fail: a connection from outside a sandbox is counted."""
    import socket

    before = world["listener"].connections
    socket.create_connection(("127.0.0.1", world["listener"].port), timeout=2).close()
    deadline = time.time() + 5
    while world["listener"].connections == before and time.time() < deadline:
        time.sleep(0.05)
    assert world["listener"].connections == before + 1
    world["listener"].connections = before


def test_no_sandbox_process_survives(graded):
    time.sleep(0.5)
    assert sandbox_processes() == []
    assert not list(Path("/tmp").glob("homework-grade-*")), "no temporary folder left behind"
    cgroups = [c for root in sandbox._cgroup_roots().values()
               for c in (root / sandbox.CGROUP_PARENT).glob(f"{os.getpid()}-*")]
    assert cgroups == [], "every sandbox's cgroup is removed"


# ----------------------------------------------------------------------------
# A crash of the grader itself
# ----------------------------------------------------------------------------

def test_killing_the_grader_loses_nothing_and_a_rerun_resumes(tmp_path, world):
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    honest = world["folder"] / "honest1.ipynb"
    for name in ("ann", "ben", "cat", "dan"):
        (folder / f"{name}.ipynb").write_bytes(honest.read_bytes())
    command = [sys.executable, "-m", "homework.grade", str(folder), "--dist", str(world["dist"]),
               "--out", str(out), "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = out / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 1):
        time.sleep(0.2)
    checkers = [pid for pid in checker_processes() if _parent(pid) == process.pid]
    assert checkers, "the grader had started its checker"
    process.send_signal(signal.SIGKILL)
    process.wait()
    graded_before = results.read_text().count("\n")
    assert 1 <= graded_before < 4
    time.sleep(1)
    assert sandbox_processes(process.pid) == [], "the sandboxes died with the grader"
    assert not set(checkers) & set(checker_processes()), "and so did its checker"
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{4 - graded_before} to grade, {graded_before} already graded" in rerun.stdout
    with open(out / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["student"] for r in rows) == ["ann", "ben", "cat", "dan"]
    assert all(float(r["auto_points"]) == FULL for r in rows)
    assert len(json.loads("[" + ",".join(results.read_text().splitlines()) + "]")) == 4

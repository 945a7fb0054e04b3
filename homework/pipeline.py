"""Grade one submission: run its notebook in a sandbox, then check its answers elsewhere.

1. :func:`run_notebook`: the notebook's code cells run in a sandbox
   (:mod:`homework.sandbox`, :mod:`homework.runner`) that holds no test; it
   reports, after every cell, the answers the tests take (values as data,
   functions as source). Its last report counts, so a notebook that hangs or
   kills itself keeps the answers of the cells that finished.
2. :func:`run_checks`: a fresh interpreter (:mod:`homework.check`) runs the
   tests against those answers; the student's functions run in a second
   sandbox that never saw the notebook nor the tests.

Nothing is written to disk: the notebook goes in on stdin, the answers come
out on stdout, the tests stay in the autograder zip.
"""

import ast
import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from homework import check, codec, integrity, sandbox

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    time_limit: float = 10        # seconds per call of a student's function in a test
    cell_timeout: float = 120     # seconds per cell of the notebook
    hang_timeout: float = 600     # seconds without a finished cell before the notebook's sandbox is killed
    check_timeout: float = 900    # seconds for all the tests of one submission
    memory_mb: int = 4096         # address space per process in a sandbox


def test_sources(autograder):
    """The text of every test file of an assignment (read in this process; never written anywhere)."""
    with zipfile.ZipFile(autograder) as archive:
        return [archive.read(m).decode() for m in sorted(archive.namelist())
                if m.startswith("tests/") and m.endswith(".py")]


def test_arguments(autograder):
    """The names the tests of an assignment take from the notebook (their arguments), read without running them."""
    names = []
    with zipfile.ZipFile(autograder) as archive:
        for member in sorted(archive.namelist()):
            if member.startswith("tests/") and member.endswith(".py"):
                for node in ast.walk(ast.parse(archive.read(member).decode())):
                    if isinstance(node, ast.FunctionDef):
                        names += [a.arg for a in node.args.args if a.arg not in names and a.arg != "env"]
    return names


def _reader(stream, messages):
    """Put every message of ``stream`` in ``messages``, then ``None`` (end) or an exception."""
    try:
        while True:
            message = codec.read_message(stream)
            messages.put(message)
            if message is None:
                return
    except (codec.ProtocolError, OSError, ValueError) as error:
        messages.put(error)


def run_notebook(cells, answers, hwcheck, settings, numbers=None):
    """Execute ``cells`` in a sandbox; returns {"answers", "status", "cells_run", "cell_errors"}.

    ``numbers`` are the cells' numbers in the notebook (for the messages; default 1, 2, ...).
    """
    numbers = list(numbers or range(1, len(cells) + 1))
    limits = sandbox.Limits(memory_bytes=settings.memory_mb << 20)
    argv, binds = sandbox.script_argv("runner.py")
    binds.append((hwcheck, f"{sandbox.WORKDIR}/hwcheck.py"))
    job = json.dumps({"cells": cells, "answers": answers, "cell_timeout": settings.cell_timeout})
    box = sandbox.spawn(argv, binds, limits, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
    messages = queue.Queue()
    result = {"answers": {}, "status": "ok", "cells_run": 0, "cell_errors": []}
    try:
        threading.Thread(target=_feed, args=(box.process.stdin, job), daemon=True).start()
        threading.Thread(target=_reader, args=(box.process.stdout, messages), daemon=True).start()
        while True:
            try:
                message = messages.get(timeout=settings.hang_timeout)
            except queue.Empty:
                result["status"] = (f"timed out: no cell finished in {settings.hang_timeout:g} s "
                                    f"(after {result['cells_run']} of {len(cells)} cells)")
                break
            if isinstance(message, Exception):
                result["status"] = f"error: the notebook's process sent unreadable output ({message})"
                break
            if message is None:
                code = box.process.wait()
                result["status"] = (f"error: the notebook's process ended ({_exit_text(code)}) "
                                    f"after {result['cells_run']} of {len(cells)} cells")
                break
            if message.get("done"):
                break
            _take_report(message, result, numbers)
    finally:
        box.kill()
    return result


def _feed(stream, text):
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.write(text.encode())
        stream.close()


def _exit_text(code):
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    if code is not None and code > 128:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(code - 128).name}"
    return f"exit code {code}"


def _take_report(message, result, numbers):
    if isinstance(message.get("answers"), dict):
        result["answers"] = message["answers"]
    cell = message.get("cell")
    if isinstance(cell, int) and 0 <= cell < len(numbers):
        result["cells_run"] = cell + 1
        if message.get("error"):
            result["cell_errors"].append(f"code cell {numbers[cell]}: {str(message['error'])[:200]}")


class Checker:
    """A :mod:`homework.check` process, kept for many submissions (one per grading thread)."""

    def __init__(self):
        self.process = None

    def _start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEWORK_")}
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen([sys.executable, "-m", "homework.check"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
                                        start_new_session=True)

    def check(self, job, timeout):
        """The checker's result for ``job``; a checker that fails or overruns is killed (a new one starts next time)."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            line = self.process.stdout.readline() if ready else b""
        except OSError:
            line = b""
        if not line:
            self.stop()
            if not ready:
                return {"questions": {}, "status": f"timed out: the tests took more than {timeout:g} s"}
            return {"questions": {}, "status": "error: the checker ended unexpectedly"}
        return json.loads(line)

    def stop(self):
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            self.process = None


_checkers = threading.local()
_all_checkers = []


def _checker():
    if not hasattr(_checkers, "value"):
        _checkers.value = Checker()
        _all_checkers.append(_checkers.value)
    return _checkers.value


def stop_checkers():
    """End every checker process (at the end of a run)."""
    while _all_checkers:
        _all_checkers.pop().stop()


def run_checks(autograder, answers, settings):
    """The test results of ``answers`` (see :mod:`homework.check`), from an interpreter that never ran student code."""
    job = {"autograder": str(autograder), "answers": answers, "time_limit": settings.time_limit,
           "memory_mb": settings.memory_mb}
    return _checker().check(job, settings.check_timeout)


def grade(submission, assignment, settings):
    """The result of one submission: answers run, tests checked, tampering flagged."""
    start = time.perf_counter()
    tampered, suspicious = integrity.flags(submission.notebook, assignment["otter_cells"])
    to_run = integrity.cells_to_run(submission.notebook, assignment["otter_cells"])
    run = run_notebook([source for _, source in to_run], assignment["answers"], assignment["hwcheck"], settings,
                       [number for number, _ in to_run])
    secret = check.test_lines(test_sources(assignment["zip"]), hidden_only=True)
    withheld = ": (message withheld: it quotes test code)"
    run["cell_errors"] = [e.split(":", 1)[0] + withheld if check.quotes(e, secret) else e for e in run["cell_errors"]]
    checked = run_checks(assignment["zip"], run["answers"], settings)
    status = run["status"] if run["status"] != "ok" else checked.get("status", "ok")
    return {
        "status": status,
        "questions": checked.get("questions", {}),
        "rebuild_errors": checked.get("errors", {}),
        "cell_errors": run["cell_errors"][:10],
        "cells_run": run["cells_run"],
        "tampered": tampered,
        "suspicious": suspicious,
        "seconds": round(time.perf_counter() - start, 1),
    }

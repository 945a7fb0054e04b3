"""Run an assignment's tests against a student's answers, in an interpreter no student code ran in.

    python -m homework.check < jobs.jsonl > results.jsonl

Each job is ``{"autograder": zip, "answers": {...}, "time_limit": s}``, where
``answers`` is what :mod:`homework.runner` exported from the student's notebook:
values as data, functions as source text. This process (the *checker*) loads
the test files from the autograder zip into memory (they are never written to
disk) and runs them here. It never executes the student's code: a student's
function is a :class:`RemoteFunction` whose calls go, as data, to a
:mod:`homework.funcserver` in a sandbox that rebuilt the function from its
source and that cannot see the tests. Whatever a student's cell patched while
the notebook ran (otter, ``hwcheck``, ``builtins``, NumPy) was in another
process, long gone; whatever the function does when called stays in its
sandbox. ``hwcheck.own_code`` still inspects the function: the checker
compiles (without running) its source to give the proxy a ``__code__``.

Output: ``{"questions": {q: {"points", "max", "tests": [...]}}, "errors": {...}}``;
a failed test's message is truncated, and a hidden test's message is withheld
when it quotes a line of a test file.
"""

import json
import os
import re
import select
import subprocess
import sys
import types
import zipfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homework import codec, sandbox  # noqa: E402

MESSAGE_CHARS = 300
READY_SECONDS = 60


class StudentError(Exception):
    """An exception raised by the student's function (its type and message, as text)."""


class ServerDied(Exception):
    """The student's function ended its own process (or was stopped)."""


# ----------------------------------------------------------------------------
# The tests, from the autograder zip
# ----------------------------------------------------------------------------

class TestCase:
    """Otter's ``test_case`` decorator, as the test files use it (``from otter.test_files import test_case``)."""

    def __init__(self, name=None, points=None, hidden=False, success_message=None, failure_message=None):
        self.name, self.points, self.hidden = name, points, bool(hidden)
        self.func = None

    def __call__(self, func):
        self.func = func
        self.name = self.name or func.__name__
        return self


def _otter_stub():
    otter = types.ModuleType("otter")
    test_files = types.ModuleType("otter.test_files")
    test_files.test_case = TestCase
    otter.test_files = test_files
    return {"otter": otter, "otter.test_files": test_files}


def resolve_points(total, cases):
    """Points of each test case, as otter shares a question's points (unset ones share the rest equally)."""
    if isinstance(total, list):
        return [float(p) for p in total]
    fixed = sum(c.points for c in cases if c.points is not None)
    unset = [c for c in cases if c.points is None]
    share = (float(total) - fixed) / len(unset) if (unset and total is not None) else 0.0
    return [float(c.points) if c.points is not None else share for c in cases]


def load_tests(autograder):
    """{question: {"points": [..], "cases": [TestCase], "source": text}} from the zip, and hwcheck's module."""
    with zipfile.ZipFile(autograder) as archive:
        sources = {Path(n).stem: archive.read(n).decode() for n in archive.namelist()
                   if re.fullmatch(r"tests/[^/]+\.py", n)}
        hwcheck_source = archive.read("files/hwcheck.py").decode()
    hwcheck = types.ModuleType("hwcheck")
    exec(compile(hwcheck_source, "hwcheck.py", "exec"), hwcheck.__dict__)   # noqa: S102 - our own file
    sys.modules.update({"hwcheck": hwcheck, **_otter_stub()})
    questions = {}
    for stem, source in sorted(sources.items()):
        namespace = {"__name__": f"tests.{stem}"}
        exec(compile(source, f"tests/{stem}.py", "exec"), namespace)   # noqa: S102 - the course's tests
        cases = [v for v in namespace.values() if isinstance(v, TestCase)]
        name = namespace.get("name", stem)
        questions[name] = {"cases": cases, "points": resolve_points(namespace.get("points"), cases),
                           "source": source}
    return questions


# ----------------------------------------------------------------------------
# The student's functions, behind a sandbox
# ----------------------------------------------------------------------------

class FunctionServer:
    """The sandboxed :mod:`homework.funcserver` holding the student's functions; restarted when it dies."""

    def __init__(self, answers, limits=sandbox.Limits(tmp_bytes=64 << 20)):
        self.answers, self.limits = answers, limits
        self.box = None
        self.errors = {}
        self.failed = None      # why the functions could not be rebuilt (then no second try)

    def ensure(self):
        """Start the server if it is not running; returns {name: error} of answers it could not rebuild."""
        if self.box is not None and self.box.process.poll() is None:
            return self.errors
        if self.failed:
            raise ServerDied(self.failed)
        self.stop()
        argv, binds = sandbox.script_argv("funcserver.py")
        self.box = sandbox.spawn(argv, binds, self.limits, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        self._send({"answers": self.answers})
        ready, _, _ = select.select([self.box.process.stdout], [], [], READY_SECONDS)
        reply = self._receive() if ready else None
        if reply is None or "ready" not in reply:
            self.stop()
            self.failed = f"the student's functions could not be rebuilt within {READY_SECONDS} s"
            raise ServerDied(self.failed)
        self.errors = {str(k): str(v)[:MESSAGE_CHARS] for k, v in dict(reply["ready"]).items()}
        return self.errors

    def _send(self, message):
        try:
            self.box.process.stdin.write(codec.dumps(message).encode())
            self.box.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ServerDied("the process of the student's functions ended") from None

    def _receive(self):
        try:
            return codec.read_message(self.box.process.stdout)
        except codec.ProtocolError as error:
            self.stop()
            raise ServerDied(f"the student's function sent something unreadable ({error})") from None

    def call(self, name, args, kwargs):
        """``name(*args, **kwargs)`` in the sandbox; callables among the arguments are called back here."""
        if self.box is None or self.box.process.poll() is not None:
            self.ensure()
        callbacks = []
        register = lambda func: callbacks.append(func) or len(callbacks) - 1  # noqa: E731
        ok = False
        try:
            self._send({"call": name, "args": codec.encode(list(args), register),
                        "kwargs": codec.encode(dict(kwargs), register)})
            while True:
                reply = self._receive()
                if reply is None:
                    raise ServerDied("the student's function ended its own process")
                if "callback" in reply:
                    self._send(self._run_callback(callbacks, reply))
                    continue
                ok = True
                if "raise" in reply:
                    raise StudentError(str(reply["raise"])[:MESSAGE_CHARS])
                return codec.decode(reply.get("return"))
        finally:
            if not ok:          # interrupted (time limit), died, or garbled: never reuse this process
                self.stop()

    @staticmethod
    def _run_callback(callbacks, request):
        try:
            func = callbacks[int(request["callback"])]
            args = codec.decode(request.get("args", []))
            kwargs = codec.decode(request.get("kwargs", {"$d": []}))
            return {"return": codec.encode(func(*args, **kwargs))}
        except Exception as error:  # noqa: BLE001 - reported to the student's function
            if type(error).__name__ == "TimeLimitExceeded":
                raise       # the test's time limit, not the callback's failure
            return {"raise": f"{type(error).__name__}: {str(error)[:MESSAGE_CHARS]}"}

    def stop(self):
        if self.box is not None:
            self.box.kill()
            self.box = None


class RemoteFunction:
    """Stands for a student's function: inspectable like one (``__code__``), called in the sandbox."""

    remote_function = True   # hwcheck.library_uses follows it like a function

    def __init__(self, server, name, entry, globals_):
        self._server, self._name = server, name
        self.__name__ = self.__qualname__ = str(entry.get("defines", name))
        self.__module__ = entry["foreign"][0] if "foreign" in entry else "__main__"
        self.__code__ = _code_of(entry.get("source", ""), self.__name__)
        self.__globals__ = globals_
        self.__closure__ = self.__defaults__ = None

    def __call__(self, *args, **kwargs):
        return self._server.call(self._name, args, kwargs)

    def __repr__(self):
        return f"<function {self.__name__} (the student's, run in a sandbox)>"


def _code_of(source, name):
    """The code object of ``def name`` in ``source``, compiled, never run; ``None`` if there is none."""
    try:
        module = compile(source, "<answer>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for const in module.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in (name, "<lambda>"):
            return const
    return None


def environment(answers, server):
    """{name: value} the tests take their arguments from: data decoded, functions as proxies."""
    env = {}
    for name, entry in answers.items():
        if not isinstance(entry, dict):
            env[name] = codec.Unsupported("malformed answer")
        elif "data" in entry:
            try:
                env[name] = codec.decode(entry["data"])
            except codec.ProtocolError as error:
                env[name] = codec.Unsupported(str(error))
        elif "module" in entry:
            env[name] = types.ModuleType(str(entry["module"]))   # a name only: nothing is imported
        elif "source" in entry or "foreign" in entry:
            env[name] = RemoteFunction(server, name, entry, env)
        elif "unsupported" in entry:
            env[name] = codec.Unsupported(entry["unsupported"])
        else:
            env[name] = None
    return env


# ----------------------------------------------------------------------------
# Running the tests
# ----------------------------------------------------------------------------

def _normalised(line):
    return " ".join(line.split())


def test_lines(sources, hidden_only=False):
    """Normalised lines (of 12 characters or more) of test files; with ``hidden_only``, those of
    hidden test cases that no public test case shares (what students must not see)."""
    hidden, public = set(), set()
    for source in sources:
        head, *blocks = source.split("@test_case(")
        public.update(_normalised(line) for line in head.splitlines())
        for block in blocks:
            lines = {_normalised(line) for line in block.splitlines()[1:]}
            (hidden if "hidden=True" in block.split("\n", 1)[0] else public).update(lines)
    lines = hidden - public if hidden_only else hidden | public
    return {line for line in lines if len(line) >= 12}


def quotes(message, lines):
    """Whether ``message`` contains one of ``lines`` (see :func:`test_lines`)."""
    text = _normalised(message)
    return any(line in text for line in lines)


def _failing_line(error, source):
    """The line of the test file where ``error`` was raised (for a public test's message)."""
    tb, line = error.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("tests/"):
            line = tb.tb_lineno
        tb = tb.tb_next
    lines = source.splitlines()
    return lines[line - 1].strip() if line and line <= len(lines) else ""


def run_case(case, env, source, lines):
    """(passed, message) of one test case against ``env``.

    ``lines`` holds ``"any"`` (every line of every test file) and ``"secret"`` (the
    lines of hidden test cases): a hidden test's message may quote neither, a
    public test's message may not quote a hidden test.
    """
    kwargs = {arg: env.get(arg) for arg in case.func.__code__.co_varnames[:case.func.__code__.co_argcount]}
    try:
        case.func(**kwargs)
        return True, ""
    except Exception as error:  # noqa: BLE001 - every failure is a failed test
        message = f"{type(error).__name__}: {error}".strip()
        if len(message) > MESSAGE_CHARS:
            message = message[:MESSAGE_CHARS] + " …"
        if quotes(message, lines["any"] if case.hidden else lines["secret"]):
            return False, f"{type(error).__name__} (message withheld: it quotes test code)"
        line = "" if case.hidden else _failing_line(error, source)
        return False, f"{message}\n  at: {line}" if line else message


def check(job):
    """The results of every test of the assignment against the job's answers."""
    questions = load_tests(job["autograder"])
    os.environ["HOMEWORK_TIME_LIMIT"] = str(job.get("time_limit", 10))
    answers = job.get("answers") or {}
    server = FunctionServer(answers, sandbox.Limits(memory_bytes=int(job.get("memory_mb", 4096)) << 20,
                                                    tmp_bytes=64 << 20))
    env = environment(answers, server)
    sources = [q["source"] for q in questions.values()]
    lines = {"any": test_lines(sources), "secret": test_lines(sources, hidden_only=True)}
    results, rebuild_errors = {}, {}
    needs_server = any(isinstance(v, RemoteFunction) for v in env.values())
    try:
        for name, question in questions.items():
            tests = []
            for case, points in zip(question["cases"], question["points"]):
                try:
                    if needs_server:
                        rebuild_errors = server.ensure()
                    passed, message = run_case(case, env, question["source"], lines)
                except ServerDied as error:
                    passed, message = False, f"ServerDied: {error}"
                tests.append({"name": case.name, "hidden": case.hidden, "points": points,
                              "passed": passed, "message": message})
            results[name] = {"points": sum(t["points"] for t in tests if t["passed"]),
                             "max": sum(question["points"]), "tests": tests}
    finally:
        server.stop()
    return {"questions": results, "errors": rebuild_errors}


def _die_with_parent():
    """Ask the kernel to kill this process when the grader dies (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main():
    """Serve jobs: one JSON job per line on stdin, one JSON result per line on stdout.

    One checker serves many submissions (torch is imported once); it never runs
    student code, so nothing carries over from one submission to the next.
    """
    _die_with_parent()
    out = sys.stdout
    sys.stdout = sys.stderr          # a stray print of a test must not garble the results
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result = check(json.loads(line))
        except Exception as error:  # noqa: BLE001 - reported to the grader, the next job still runs
            result = {"questions": {}, "status": f"error: the checker failed ({type(error).__name__}: {error})"}
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    main()

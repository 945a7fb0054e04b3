"""Execute a student's notebook inside the sandbox and report its answers as data.

Runs inside :mod:`homework.sandbox` (only ``codec.py`` beside it). It reads one
JSON object on stdin::

    {"cells": ["source", ...], "answers": ["name", ...], "cell_timeout": 120}

runs the code cells one after another in an IPython shell (so magics and the
notebook's semantics hold), and after each cell writes one line on its result
channel (the original stdout)::

    {"cell": 3, "error": "RuntimeError: ...", "answers": {name: entry, ...}}

where each entry is the name's value as data (:mod:`codec`), a module's name, a
function of another library by module and name, or a function or class of the
notebook by its *source text*, with the globals it uses, recursively. The
grader keeps the last line it received: if the notebook hangs or kills itself,
the answers of the cells that finished are still graded.

The student's own output (prints, plots) is discarded; a cell that runs longer
than ``cell_timeout`` is interrupted with ``SIGALRM`` (a loop that ignores
``SIGINT`` is stopped too), and the next cell runs.
"""

import inspect
import json
import os
import signal
import sys
import textwrap
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import codec  # noqa: E402

SKIP_NAMES = {"In", "Out", "get_ipython", "exit", "quit"}
MAX_EXPORT = 16 << 20


class CellTimeout(BaseException):
    """Raised in a cell that ran past the time limit (not an Exception: ``except Exception`` does not catch it)."""


def _names_used(code):
    """Every global name a code object (and the code nested in it) refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _source_entry(value):
    """The entry of a function or class defined in the notebook: its source and the name it defines."""
    if getattr(value, "__closure__", None):
        return {"unsupported": "a function defined inside another function (define it at the top level)"}
    try:
        source = textwrap.dedent(inspect.getsource(value))
    except (OSError, TypeError):
        return {"unsupported": f"{getattr(value, '__name__', 'a function')} without source code"}
    return {"source": source, "defines": value.__name__}


def _entry(value, pending):
    """The entry of one value; the globals a notebook function uses are added to ``pending``."""
    if isinstance(value, types.ModuleType):
        return {"module": value.__name__}
    module = getattr(value, "__module__", None)
    if isinstance(value, (types.FunctionType, type)) and module == "__main__":
        entry = _source_entry(value)
        if "source" in entry:
            try:
                pending.extend(sorted(_names_used(compile(entry["source"], "<answer>", "exec"))))
            except (SyntaxError, ValueError):
                pass
        return entry
    if callable(value) and not isinstance(value, (types.FunctionType, type)) and hasattr(value, "func"):
        value = value.func   # functools.partial: what matters is the function it wraps
        module = getattr(value, "__module__", None)
        if module == "__main__":
            return {"unsupported": "a functools.partial of a notebook function (write a function with def)"}
    if callable(value) and module not in (None, "__main__"):
        return {"foreign": [str(module), str(getattr(value, "__qualname__", getattr(value, "__name__", "")))]}
    return {"data": codec.encode(value)}


def export(namespace, answers):
    """{name: entry} for the answers and, recursively, the notebook globals their functions use."""
    out, pending = {}, list(answers)
    while pending:
        name = pending.pop(0)
        if name in out or name.startswith("_") or name in SKIP_NAMES:
            continue
        if name not in namespace:
            if name in answers:
                out[name] = {"missing": True}
            continue
        try:
            out[name] = _entry(namespace[name], pending)
        except Exception as error:  # noqa: BLE001 - a value that breaks the export is unsupported
            out[name] = {"unsupported": f"{type(error).__name__} while reading it"}
    return out


def _alarm(signum, frame):
    raise CellTimeout()


def _error_text(result):
    error = result.error_in_exec or result.error_before_exec
    if error is None:
        return None
    if isinstance(error, CellTimeout):
        return "CellTimeoutError: the cell ran too long and was interrupted"
    return f"{type(error).__name__}: {str(error)[:300]}"


def _private_channel():
    """The result channel (the original stdout); fds 1 and 2 then go to /dev/null."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = open(os.devnull, "w")
    return channel


def main():
    job = json.loads(sys.stdin.read())
    channel = _private_channel()
    from IPython.core.interactiveshell import InteractiveShell

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False    # no history file in the sandbox's /tmp
    shell = InteractiveShell.instance(config=config, colors="NoColor")
    shell.showtraceback = lambda *args, **kwargs: None
    shell.enable_gui = lambda gui=None: None          # `%matplotlib inline` works without a kernel
    sys.path.insert(0, os.getcwd())
    timeout = float(job["cell_timeout"])
    for index, source in enumerate(job["cells"]):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout, 0.5)
        try:
            result = shell.run_cell(source, store_history=True)
            error = _error_text(result)
        except CellTimeout:
            error = "CellTimeoutError: the cell ran too long and was interrupted"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        answers = export(shell.user_ns, job["answers"])
        line = codec.dumps({"cell": index, "error": error, "answers": answers})
        if len(line) > MAX_EXPORT:
            line = codec.dumps({"cell": index, "error": error, "answers": {
                name: {"unsupported": "too large to hand over"} for name in job["answers"]}})
        channel.write(line)
        channel.flush()
    channel.write(codec.dumps({"done": True}))
    channel.flush()


if __name__ == "__main__":
    main()

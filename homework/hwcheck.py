"""Helpers that the homework tests use (you do not need to call them yourself).

* ``time_limit()``: stops a call that runs too long (an infinite loop), so that one
  slow answer costs the points of its own question and nothing else.
* ``own_code(func)``: fails when an answer calls the course library ``cnnlib``,
  ``torch`` or ``scipy``, which already do what the questions ask.
* ``assert_array(got, shape)`` and ``assert_close(got, want)``: NumPy checks with
  messages that say what went wrong.

The time limit is ``HOMEWORK_TIME_LIMIT`` seconds per checked call (default 10);
the grading script sets it.
"""

import contextlib
import functools
import os
import signal
import threading
import types

import numpy as np

FORBIDDEN = ("cnnlib", "torch", "scipy")


class TimeLimitExceeded(Exception):
    """Raised inside a checked call that ran past the time limit."""


def default_limit():
    return float(os.environ.get("HOMEWORK_TIME_LIMIT", "10"))


@contextlib.contextmanager
def time_limit(seconds=None):
    """Raise ``TimeLimitExceeded`` in the code under the ``with`` after ``seconds``.

    Uses ``SIGALRM`` (Unix, main thread); elsewhere it does nothing. After the first
    alarm it fires again every half second, so a loop that swallows one exception
    is still stopped.
    """
    seconds = default_limit() if seconds is None else float(seconds)
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise TimeLimitExceeded(f"your code ran for more than {seconds:g} s (an infinite loop?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(func, *args, **kwargs):
    """``func(*args, **kwargs)`` under the time limit."""
    if not callable(func):
        raise AssertionError(f"expected a function, got {type(func).__name__}: define it first")
    with time_limit():
        return func(*args, **kwargs)


def _root(module_name):
    return (module_name or "").split(".")[0]


def _is_remote(value):
    """Whether ``value`` stands for a function run elsewhere (the grader's proxy of a student's function)."""
    return getattr(type(value), "remote_function", False) is True


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def library_uses(func, forbidden=FORBIDDEN):
    """The forbidden libraries that ``func`` uses, directly or through your own helpers.

    Looks at the names its bytecode refers to (globals, attributes, imports) and at the
    values those globals hold: a module, or a function or class that a forbidden
    library defines. Helper functions defined in the notebook are followed.
    """
    found = set()
    seen = set()

    def check_value(value):
        if isinstance(value, functools.partial):
            check_value(value.func)
            return
        if isinstance(value, types.ModuleType):
            if _root(value.__name__) in forbidden:
                found.add(_root(value.__name__))
            return
        module = _root(getattr(value, "__module__", None))
        if module in forbidden:
            found.add(module)
        elif isinstance(value, (types.FunctionType, types.MethodType)) or _is_remote(value):
            visit(value)

    def visit(fn):
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        if code is None or code in seen:
            return
        seen.add(code)
        env = getattr(fn, "__globals__", {})
        for co in _code_objects(code):
            for name in co.co_names:
                if name in forbidden:
                    found.add(name)
                if name in env:
                    check_value(env[name])
        for cell in fn.__closure__ or ():
            try:
                check_value(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        for default in fn.__defaults__ or ():
            if callable(default) or isinstance(default, types.ModuleType):
                check_value(default)

    check_value(func)
    return sorted(found)


def own_code(func, name=None, forbidden=FORBIDDEN):
    """Fail unless ``func`` is a function of your own that does not call a forbidden library."""
    name = name or getattr(func, "__name__", "the answer")
    if not callable(func):
        raise AssertionError(f"{name} is not a function yet: define it in the answer cell")
    used = library_uses(func, forbidden)
    if used:
        raise AssertionError(
            f"{name} uses {', '.join(used)}: write it yourself with NumPy "
            "(the point of the question is the computation the library would do for you)"
        )


def assert_array(got, shape=None, name="the result"):
    """Fail unless ``got`` is a NumPy array (of ``shape``, when given)."""
    if not isinstance(got, np.ndarray):
        raise AssertionError(f"{name} should be a NumPy array, got {type(got).__name__}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise AssertionError(f"{name} has shape {tuple(got.shape)}, expected {tuple(shape)}")


def assert_close(got, want, name="the result", atol=1e-6, rtol=1e-6):
    """Fail unless ``got`` is an array of the shape of ``want`` and close to it."""
    want = np.asarray(want)
    assert_array(got, want.shape, name)
    if not np.allclose(got, want, atol=atol, rtol=rtol):
        error = float(np.max(np.abs(np.asarray(got, dtype=float) - want)))
        raise AssertionError(f"{name} differs from the reference (largest difference {error:.3g})")


def assert_integer(got, name="the answer"):
    """Fail unless ``got`` is a Python or NumPy integer (not a float, not ``...``)."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise AssertionError(f"{name} should be an integer, got {type(got).__name__}")

"""Timing small functions side by side, on a shared and noisy machine.

The chapters time competing implementations of the same computation. Runs are
interleaved (run 1 of every function, then run 2, ...) so that load from
elsewhere falls on all of them alike, and the median of the runs is reported.
"""

import time
from contextlib import contextmanager

import numpy as np
import torch

from cnnlib.shapes import check_int

__all__ = ["median_time", "time_side_by_side", "single_thread"]


def _check_callable(name, fn):
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def _calls_per_run(fn, min_time):
    """Smallest ``number`` in 1, 2, 5, 10, 20, ... such that ``number`` calls take at least ``min_time``."""
    number = 1
    for factor in [2, 2.5, 2] * 20:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_time:
            return number
        number = int(number * factor)
    return number


def _run(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def median_time(fn, repeat=7, min_time=0.01):
    """Median, over ``repeat`` runs, of the seconds one call ``fn()`` takes.

    Each run calls ``fn`` ``number`` times in a row, with ``number`` chosen
    (1, 2, 5, 10, ...) so that a run lasts at least ``min_time`` seconds; the
    median ignores runs slowed down by other work on the machine.
    """
    return time_side_by_side({"fn": fn}, repeat, min_time)["fn"]


def time_side_by_side(functions, repeat=7, min_time=0.01):
    """Median seconds per call of each function of ``functions`` (a dict name -> callable).

    The runs are interleaved (run 1 of every function, then run 2, ...), so
    load from elsewhere on the machine falls on all of them alike. Returns a
    dict name -> median seconds, in the same order.
    """
    if not isinstance(functions, dict) or not functions:
        raise TypeError("functions must be a non-empty dict name -> callable")
    repeat = check_int("repeat", repeat, 1)
    if not min_time >= 0:
        raise ValueError(f"min_time must be >= 0, got {min_time!r}")
    for name, fn in functions.items():
        _check_callable(f"functions[{name!r}]", fn)
    numbers = {name: _calls_per_run(fn, min_time) for name, fn in functions.items()}  # also warms up
    times = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            times[name].append(_run(fn, numbers[name]))
    return {name: float(np.median(t)) for name, t in times.items()}


@contextmanager
def single_thread():
    """Run NumPy/SciPy (BLAS) and torch on one thread inside the block, then restore.

    Every contender gets the same single core, which makes the comparison
    fair and the timings steadier on a shared machine.
    """
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)

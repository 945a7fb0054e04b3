"""The one timer of the course: competing implementations, side by side, on a shared and noisy machine.

The chapters and the benchmark (``python -m cnnlib.bench``) time competing
implementations of the same computation. Runs are interleaved (run 1 of
every function, then run 2, ...) so that load from elsewhere falls on all of
them alike; each run calls a function as many times as take at least
``min_time`` seconds, and the median of the runs is reported.

* :func:`time_rounds`: seconds per call of every function in every round
  (what a per-round ratio needs);
* :func:`time_side_by_side`: the median of those rounds, per function;
* :func:`single_thread`: NumPy's BLAS and torch on one thread inside a block.

The clock is ``time.perf_counter`` (wall time) unless another is given, for
example ``time.thread_time`` (this thread's CPU time: time spent waiting for
a core does not count).
"""

import time
from contextlib import contextmanager

import numpy as np
import torch

from cnnlib.shapes import check_int

__all__ = ["time_rounds", "time_side_by_side", "single_thread"]


def _calls_per_run(fn, min_time, clock):
    """Smallest ``number`` in 1, 2, 5, 10, 20, ... such that ``number`` calls take at least ``min_time``."""
    number = 1
    for factor in [2, 2.5, 2] * 20:
        if _run(fn, number, clock) * number >= min_time:
            return number
        number = int(number * factor)
    return number


def _run(fn, number, clock):
    """Seconds per call of ``number`` calls in a row."""
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number


def time_rounds(functions, repeat=7, min_time=0.01, clock=time.perf_counter):
    """Seconds per call of each function of ``functions`` (a dict name -> callable), round by round.

    Every function is first called until one run lasts at least ``min_time``
    seconds (which also warms it up); then ``repeat`` rounds each run every
    function once, in the dict's order. Returns a dict name -> list of
    ``repeat`` floats (seconds per call in each round).
    """
    if not isinstance(functions, dict) or not functions:
        raise TypeError("functions must be a non-empty dict name -> callable")
    repeat = check_int("repeat", repeat, 1)
    if not min_time >= 0:
        raise ValueError(f"min_time must be >= 0, got {min_time!r}")
    for name, fn in functions.items():
        if not callable(fn):
            raise TypeError(f"functions[{name!r}] must be callable, got {type(fn).__name__}")
    numbers = {name: _calls_per_run(fn, min_time, clock) for name, fn in functions.items()}
    times = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            times[name].append(_run(fn, numbers[name], clock))
    return times


def time_side_by_side(functions, repeat=7, min_time=0.01, clock=time.perf_counter):
    """Median seconds per call of each function of ``functions`` (a dict name -> callable).

    The rounds of :func:`time_rounds`; the median ignores rounds slowed down by
    other work on the machine. Returns a dict name -> median seconds, in the
    same order.
    """
    return {name: float(np.median(t)) for name, t in time_rounds(functions, repeat, min_time, clock).items()}


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

"""cnnlib.timing: the one timer (interleaved rounds, medians, one thread)."""

import time

import pytest
import torch

from cnnlib import timing


def test_time_side_by_side_orders_a_slow_and_a_fast_function():
    seconds = timing.time_side_by_side({"fast": lambda: None, "slow": lambda: time.sleep(0.002)},
                                       repeat=3, min_time=0.001)
    assert list(seconds) == ["fast", "slow"]
    assert seconds["slow"] >= 0.002 > seconds["fast"]


def test_time_rounds_runs_every_function_in_every_round():
    calls = {"a": 0, "b": 0}

    def bump(name):
        calls[name] += 1

    rounds = timing.time_rounds({"a": lambda: bump("a"), "b": lambda: bump("b")}, repeat=3, min_time=0.0)
    assert list(rounds) == ["a", "b"] and all(len(r) == 3 and min(r) >= 0 for r in rounds.values())
    assert calls["a"] >= 4 and calls["b"] >= 4  # calibration + three rounds


def test_a_cpu_clock_does_not_count_sleeping():
    rounds = timing.time_rounds({"sleep": lambda: time.sleep(0.002)}, repeat=3, min_time=0.0,
                                clock=time.thread_time)
    assert max(rounds["sleep"]) < 0.002


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="callable"):
        timing.time_side_by_side({"a": 3})
    with pytest.raises(TypeError, match="non-empty dict"):
        timing.time_side_by_side({})
    with pytest.raises(ValueError, match="min_time"):
        timing.time_side_by_side({"a": lambda: None}, min_time=-1)


def test_single_thread_restores_torch_threads():
    before = torch.get_num_threads()
    with timing.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before

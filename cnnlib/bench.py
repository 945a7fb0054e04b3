"""How fast is the NumPy convolution? ``python -m cnnlib.bench``

Everything runs on one thread (PyTorch's intra-op pool and NumPy's BLAS),
in float32 on both sides. The contenders are timed in turn, round after
round (:func:`cnnlib.timing.time_rounds`), so that cnnlib and PyTorch are
always measured back to back; a ratio
is taken in every round and the median over rounds is reported (ratios above
1 mean "slower than PyTorch"). The clock is this thread's CPU time
(``time.thread_time``): on a shared machine, time spent waiting for a core
does not count against either side. With one thread, PyTorch runs its forward
and backward kernels in the calling thread, so the CPU time is all of its work.

Memory: by default glibc gives large freed blocks back to the operating
system, and taking them again costs page faults; whether a call pays them
depends on what the process allocated before, so the same code can time 1x or
3x. The bench therefore asks glibc (``mallopt``) to keep freed memory, for both
sides alike; ``--default-malloc`` skips that.

Targets: forward <= 1.5x torch, backward <= 3x torch autograd.
"""

import argparse
import ctypes
import ctypes.util
import time

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from cnnlib import counting
from cnnlib.conv import conv2d, conv2d_backward, conv2d_backward_naive, conv2d_naive
from cnnlib.timing import time_rounds, time_side_by_side

FORWARD_TARGET = 1.5
BACKWARD_TARGET = 3.0

# (label, (N, C_in, H, W), C_out, kernel, padding)
CASES = [
    ("a", (1, 3, 64, 64), 16, 3, 1),
    ("b", (8, 16, 32, 32), 32, 3, 1),
]
NAIVE_CASE = ("small", (1, 3, 16, 16), 4, 3, 1)

clock = time.thread_time


def _keep_freed_memory():
    """Ask glibc not to return freed memory to the OS (no page faults on reuse). False if not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False


def _compare(ours, theirs, rounds):
    """Median times of two functions and the median of their per-round ratio."""
    s = time_rounds({"ours": ours, "theirs": theirs}, rounds, min_time=0.01, clock=clock)
    ratio = float(np.median(np.array(s["ours"]) / np.array(s["theirs"])))
    return float(np.median(s["ours"])), float(np.median(s["theirs"])), ratio


def _make_case(shape, c_out, k, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((c_out, shape[1], k, k), dtype=np.float32) / np.float32(k * np.sqrt(shape[1]))
    b = rng.standard_normal(c_out, dtype=np.float32)
    return x, w, b


def _torch_backward(x, w, b, dout, padding):
    """A function running only PyTorch's backward pass of one conv2d (graph kept)."""
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, padding=padding)
    g = torch.from_numpy(dout)
    return lambda: torch.autograd.grad(y, (xt, wt, bt), g, retain_graph=True)


def _matmul_rate(macs, dtype=np.float32):
    """Multiply-adds per second of a square NumPy matrix product of about ``macs`` MACs."""
    n = max(32, round(macs ** (1 / 3)))
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    seconds = time_side_by_side({"matmul": lambda: a @ b}, repeat=7, clock=clock)["matmul"]
    return n, n**3 / seconds


def _fmt_time(seconds):
    return f"{seconds * 1e3:8.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:8.1f} us"


def _verdict(ratio, target):
    return f"{ratio:5.2f}x  {'ok  ' if ratio <= target else 'MISS'} (target <= {target}x)"


def _run(rounds=15, default_malloc=False):
    kept = False if default_malloc else _keep_freed_memory()
    torch.set_num_threads(1)
    rows = []
    with threadpool_limits(limits=1):
        for label, shape, c_out, k, p in CASES:
            x, w, b = _make_case(shape, c_out, k)
            xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
            dout = np.random.default_rng(2).standard_normal((shape[0], c_out, *shape[2:]), dtype=np.float32)
            fwd = _compare(lambda: conv2d(x, w, b, padding=p), lambda: F.conv2d(xt, wt, bt, padding=p), rounds)
            bwd = _compare(
                lambda: conv2d_backward(dout, x, w, b, padding=p), _torch_backward(x, w, b, dout, p), rounds
            )
            macs = counting.conv2d_macs(shape[2:], shape[1], c_out, k, padding=p, batch=shape[0])
            rows.append((label, shape, c_out, k, p, fwd, bwd, macs))

        # The naive loops are ~10^3 times slower: time them on a small case only.
        _, shape, c_out, k, p = NAIVE_CASE
        x, w, b = _make_case(shape, c_out, k)
        dout = np.ones((shape[0], c_out, *shape[2:]), dtype=np.float32)
        naive = {
            "forward": _compare(lambda: conv2d_naive(x, w, b, padding=p), lambda: conv2d(x, w, b, padding=p), 3),
            "backward": _compare(
                lambda: conv2d_backward_naive(dout, x, w, b, padding=p),
                lambda: conv2d_backward(dout, x, w, b, padding=p),
                3,
            ),
        }
        mm = {label: _matmul_rate(macs) for label, *_, macs in rows}

    print("cnnlib.bench: float32, one thread (torch.set_num_threads(1), threadpool_limits(1))")
    print(f"times: median thread CPU time per call over {rounds} interleaved rounds;")
    print("ratio: median over rounds of cnnlib / torch, measured back to back")
    print("malloc: " + ("freed memory kept (mallopt), for both sides\n" if kept else "glibc defaults\n"))
    ok = True
    print(f"{'case':<40}{'pass':<10}{'cnnlib':>11}{'torch':>11}   ratio")
    for label, shape, c_out, k, p, fwd, bwd, macs in rows:
        name = f"({label}) x{shape} w({c_out},{shape[1]},{k},{k}) p={p}"
        for pass_, (ours, theirs, ratio), target in (
            ("forward", fwd, FORWARD_TARGET),
            ("backward", bwd, BACKWARD_TARGET),
        ):
            ok &= ratio <= target
            print(f"{name:<40}{pass_:<10}{_fmt_time(ours):>11}{_fmt_time(theirs):>11}   {_verdict(ratio, target)}")
            name = ""

    _, shape, c_out, k, p = NAIVE_CASE
    print(f"\nnaive loops / vectorised, on a small case x{shape} w({c_out},{shape[1]},{k},{k}) p={p}")
    print("(the naive loops would take seconds to minutes on (a) and (b)):")
    for pass_, (slow, fast, ratio) in naive.items():
        print(f"  {pass_:<9} naive {_fmt_time(slow)}, vectorised {_fmt_time(fast)}: {ratio:,.0f}x slower")

    print("\nmultiply-adds per second, forward (cnnlib.counting.conv2d_macs), vs a float32 square matmul:")
    for label, shape, c_out, k, p, fwd, bwd, macs in rows:
        n, rate = mm[label]
        ours, theirs = macs / fwd[0], macs / fwd[1]
        print(
            f"  ({label}) {macs / 1e6:5.2f} M MACs: cnnlib {ours / 1e9:5.1f} GMAC/s, torch {theirs / 1e9:5.1f} GMAC/s; "
            f"numpy matmul {n}x{n}x{n}: {rate / 1e9:5.1f} GMAC/s (cnnlib at {ours / rate:.0%} of it)"
        )
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per timing (default 15)")
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's malloc settings alone (see the module docstring)"
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)
    ok = _run(args.rounds, args.default_malloc)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())

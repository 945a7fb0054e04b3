"""The claims audit: every checkable claim of the source documents, computed.

Each claim is a function that computes the value with the same ``cnnlib``
code the chapters use and returns a :class:`Finding`; the decorator
:func:`claim` records the source, a short quote, the document's value, the
chapter that explains it, and the verdict we expect. A test fails when a
computed verdict differs from the expected one, so a change in the code or
the data that overturns a verdict cannot pass unnoticed.

Verdicts:

``holds``                the document's value is what we compute;
``holds approximately``  close, with the relative error stated;
``wrong``                with the right value;
``misleading``           the number is right or the statement half-true, with one sentence why.

Run ``python -m cnnlib.claims`` for the table, ``--json`` for a list of objects.
"""

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from cnnlib import counting
from cnnlib.formatting import sci
from cnnlib.shapes import conv_output_size

__all__ = ["Claim", "Finding", "REGISTRY", "VERDICTS", "evaluate", "evaluate_all", "compare", "main"]

VERDICTS = ("holds", "holds approximately", "wrong", "misleading")
SOURCES = {
    "000": "000_4f384e1d50ec5dcd.txt",
    "001": "001_22117487ab79740a.txt",
    "002": "002_fc915f745f153949.txt",
    "003": "003_e18767cb63a4de92.txt",
    "004": "004_f2043718bd5ac97a.txt",
}


@dataclass(frozen=True)
class Finding:
    """What the computation found: the value as text, the verdict and why."""

    computed: str
    verdict: str
    note: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    quote: str
    claimed: str
    chapter: str
    expected: str
    compute: object = field(repr=False, compare=False)


REGISTRY = {}


def claim(id, source, quote, claimed, chapter, expected):
    """Register the decorated function as the computation of claim ``id``."""
    if expected not in VERDICTS:
        raise ValueError(f"{id}: expected verdict must be one of {VERDICTS}, got {expected!r}")

    def register(compute):
        if id in REGISTRY:
            raise ValueError(f"claim {id} registered twice")
        REGISTRY[id] = Claim(id, SOURCES[source], quote, claimed, chapter, expected, compute)
        return compute

    return register


def compare(claimed, computed, tolerance=0.25, unit=""):
    """A verdict for a numeric claim: equal, within ``tolerance`` (relative), or wrong."""
    claimed_f, computed_f = Fraction(claimed), Fraction(computed)
    text = _num(computed) + unit
    if claimed_f == computed_f:
        return Finding(text, "holds")
    error = abs(claimed_f - computed_f) / abs(computed_f)
    if error <= tolerance:
        return Finding(text, "holds approximately", f"relative error {float(error):.1%}")
    return Finding(text, "wrong", f"the right value is {_num(computed)}{unit}")


def _num(value):
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):.4g}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    value = int(value)
    return f"{value:,}" if abs(value) < 10**7 else f"{value:,} ({sci(value)})"


# --- source 000 -----------------------------------------------------------------

@claim("S0-kernel-3x3", "000", "3×3 卷积核 … 9 个参数(再加一个偏置,共 10 个参数)", "10", "02_sharing", "holds")
def _():
    return compare(10, counting.conv2d_params(1, 1, 3))


@claim("S0-fc-1024", "000", "32×32 图像, 1 个神经元连接整个图像 … 1024 个参数", "1,024", "01_locality", "holds")
def _():
    found = compare(1024, counting.fully_connected_params(32 * 32, 1, bias=False))
    return Finding(found.computed, found.verdict, "weights only; with the bias 1,025")


@claim("S0-fc-1000", "000", "1000 个神经元 … 1,024,000 个参数", "1,024,000", "01_locality", "holds")
def _():
    found = compare(1_024_000, counting.fully_connected_params(32 * 32, 1000, bias=False))
    with_bias = counting.fully_connected_params(32 * 32, 1000)
    return Finding(found.computed, found.verdict, f"weights only; with biases {with_bias:,}")


@claim("S0-kernel-3x3x3", "000", "3×3×3 卷积核 … 27 个权重, 加上 1 个偏置, 总共 28 个参数", "28", "02_sharing", "holds")
def _():
    return compare(28, counting.conv2d_params(3, 1, 3))


@claim("S0-out-30x30", "000", "输出特征图 30×30 … 900 个值", "900", "02_sharing", "holds")
def _():
    h, w = conv_output_size((32, 32), 3)
    return compare(900, h * w)


@claim("S0-unshared", "000", "没有参数共享 … 30×30×27 = 24,300", "24,300", "02_sharing", "holds")
def _():
    weights = counting.locally_connected2d_params(32, 3, 1, 3, bias=False)
    with_bias = counting.locally_connected2d_params(32, 3, 1, 3)
    found = compare(24_300, weights)
    return Finding(found.computed, found.verdict,
                   f"weights only, compared with 28 parameters that include a bias; "
                   f"like for like: {with_bias:,} vs 28, or {weights:,} vs 27")


@claim("S0-cross-channel", "000", "跨通道的参数共享: 卷积核的权重在所有输入通道上共享", "qualitative",
       "02_sharing", "wrong")
def _():
    standard = counting.conv2d_params(3, 1, 3, bias=False)
    shared = counting.channel_shared_conv2d_params(1, 3, bias=False)
    return Finding(f"{standard} weights per 3×3 kernel on 3 channels (not {shared})", "wrong",
                   "a kernel has its own 3×3 slice for every input channel (the source's own example counts "
                   f"{standard}); sharing one slice across channels would only see the sum of the channels")


@claim("S0-compute", "000", "提高计算效率: 共享参数减少了计算量", "qualitative", "02_sharing", "wrong")
def _():
    shared = counting.conv2d_macs(32, 3, 1, 3)
    local = counting.locally_connected2d_macs(32, 3, 1, 3)
    verdict = "wrong" if shared == local else "holds"
    return Finding(f"{shared:,} multiply-adds with sharing, {local:,} without", verdict,
                   "sharing reduces storage, not arithmetic: every weight is still applied at every position")


# --- source 001 -----------------------------------------------------------------

SIDE, HIDDEN, WINDOW, FILTERS = 1000, 10**6, 10, 100


def _s1_counts():
    full = counting.fully_connected_params(SIDE * SIDE, HIDDEN, bias=False)
    local = counting.locally_connected2d_params(SIDE, 1, 1, WINDOW, padding="same", bias=False)
    shared = counting.conv2d_params(1, 1, WINDOW, bias=False)
    many = counting.conv2d_params(1, FILTERS, WINDOW, bias=False)
    return full, local, shared, many


@claim("S1-full", "001", "1000x1000 图片, 1M 隐层单元 … 10^12 个参数", "10^12", "01_locality", "holds")
def _():
    return compare(10**12, _s1_counts()[0])


@claim("S1-local", "001", "局部感受野 10x10 … 10^8 个参数", "10^8", "01_locality", "holds")
def _():
    return compare(10**8, _s1_counts()[1])


@claim("S1-four-orders", "001", "比原来减少了四个0(数量级)", "4 orders", "01_locality", "holds")
def _():
    full, local, _, _ = _s1_counts()
    ratio = Fraction(full, local)
    orders = len(str(ratio.numerator)) - 1 if ratio.denominator == 1 else None
    found = compare(4, orders, unit=" orders of magnitude")
    return Finding(f"a factor of {sci(int(ratio))}: {orders} orders of magnitude", found.verdict, found.note)


@claim("S1-shared", "001", "同一个卷积核 … 只有 100 个参数", "100", "02_sharing", "holds")
def _():
    return compare(100, _s1_counts()[2])


@claim("S1-100-filters", "001", "100 种滤波器 … 100x100=10K 个参数", "10,000", "02_sharing", "holds")
def _():
    return compare(10_000, _s1_counts()[3])


# --- source 004: counts ------------------------------------------------------------

@claim("S4-all-shared", "004", "30*30*40 输入, 3*3*120 卷积核, 同一特征图和不同通道都共享: 3*3*120 个参数",
       "1,080", "02_sharing", "misleading")
def _():
    shared = counting.channel_shared_conv2d_params(120, 3, bias=False)
    standard = counting.conv2d_params(40, 120, 3, bias=False)
    return Finding(f"{shared:,}", "misleading",
                   f"the count is right for a kernel shared across channels, but that layer only sees the sum "
                   f"of the 40 input channels; a standard convolution has {standard:,}")


@claim("S4-per-map", "004", "只在同一特征图上共享: 3*3*40*120", "43,200", "02_sharing", "holds")
def _():
    return compare(3 * 3 * 40 * 120, counting.conv2d_params(40, 120, 3, bias=False))


@claim("S4-fc-640x360", "004", "640*360 图像, 全连接一个神经元 640*360 个参数", "230,400", "01_locality", "holds")
def _():
    return compare(230_400, counting.fully_connected_params(640 * 360, 1, bias=False))


@claim("S4-local-100", "004", "局部感受野 10*10, 一个神经元 10*10 个参数", "100", "01_locality", "holds")
def _():
    return compare(100, counting.conv2d_params(1, 1, 10, bias=False))


@claim("S4-100-filters", "004", "100 种卷积核 * 每种 100 个参数 = 10000", "10,000", "02_sharing", "holds")
def _():
    return compare(10_000, counting.conv2d_params(1, 100, 10, bias=False))


@claim("S4-stride-10", "004", "1000*1000 图像, 10*10 滤波器, 步长 10 → 100*100 个神经元", "10,000 per map",
       "02_sharing", "holds")
def _():
    h, w = conv_output_size((1000, 1000), 10, stride=10)
    return compare(10_000, h * w, unit=" per map")


@claim("S4-stride-8", "004", "步长为 8, 卷积核会重叠 2 个像素", "overlap 2", "02_sharing", "holds")
def _():
    kernel, stride, side = 10, 8, 1000
    overlap = kernel - stride
    out = conv_output_size(side, kernel, stride=stride)
    covered = (out - 1) * stride + kernel
    found = compare(2, overlap, unit=" pixels")
    return Finding(found.computed, found.verdict,
                   f"{out} positions per row cover {covered} of the {side} pixels; "
                   f"the last {side - covered} are never seen")


@claim("S4-bias-606", "004", "滤波器 10*10, 卷积核个数 6: (10*10+1)*6 = 606", "606", "02_sharing", "holds")
def _():
    return compare(606, counting.conv2d_params(1, 6, 10))


@claim("S4-conv-3x3-192-128", "004", "28x28x192 输入, 3x3 卷积, 128 通道: 3x3x192x128 参数", "221,184",
       "05_one_by_one", "holds")
def _():
    return compare(3 * 3 * 192 * 128, counting.conv2d_params(192, 128, 3, bias=False))


# --- evaluation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    id: str
    source: str
    quote: str
    claimed: str
    computed: str
    verdict: str
    note: str
    chapter: str
    expected: str


def evaluate(claim_id):
    """Compute one claim; returns a :class:`Row`."""
    c = REGISTRY[claim_id]
    finding = c.compute()
    if not isinstance(finding, Finding):
        raise TypeError(f"{claim_id}: the computation must return a Finding, got {type(finding).__name__}")
    return Row(c.id, c.source, c.quote, c.claimed, finding.computed, finding.verdict, finding.note,
               c.chapter, c.expected)


def evaluate_all():
    """Every claim of the registry, computed, in registry order."""
    return [evaluate(claim_id) for claim_id in REGISTRY]


def _table(rows):
    lines = []
    width = max(len(r.id) for r in rows)
    for r in rows:
        lines.append(f"{r.id:<{width}}  {r.verdict:<20} claimed {r.claimed:<16} computed {r.computed}")
        if r.note:
            lines.append(f"{'':<{width}}  {'':<20} {r.note}")
    counts = {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
    lines.append("")
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()) + f" ({len(rows)} claims)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnlib.claims", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.add_argument("ids", nargs="*", help="only these claim ids")
    args = parser.parse_args(argv)
    unknown = [i for i in args.ids if i not in REGISTRY]
    if unknown:
        parser.error(f"unknown claim id(s): {', '.join(unknown)}")
    rows = [evaluate(i) for i in args.ids] if args.ids else evaluate_all()
    if args.json:
        json.dump([asdict(r) for r in rows], sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

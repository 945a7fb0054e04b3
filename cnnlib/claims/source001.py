"""Source 001: a 1000×1000 image, a million hidden units, 10×10 windows, 100 filters (chapters 1, 2)."""

from fractions import Fraction

from cnnlib import counting
from cnnlib.claims.registry import Finding, claim, compare
from cnnlib.formatting import sci

SIDE, HIDDEN, WINDOW, FILTERS = 1000, 10**6, 10, 100  # the source's set-up


def _counts():
    full = counting.fully_connected_params(SIDE * SIDE, HIDDEN, bias=False)
    local = counting.locally_connected2d_params(SIDE, 1, 1, WINDOW, padding="same", bias=False)
    shared = counting.conv2d_params(1, 1, WINDOW, bias=False)
    many = counting.conv2d_params(1, FILTERS, WINDOW, bias=False)
    return full, local, shared, many


@claim("S1-full", "001", "1000x1000 图片, 1M 隐层单元 … 10^12 个参数", "10^12", "01_locality", "holds", value=10**12)
def _(said):
    return compare(said, _counts()[0], fmt=sci)


@claim("S1-local", "001", "局部感受野 10x10 … 10^8 个参数", "10^8", "01_locality", "holds", value=10**8)
def _(said):
    return compare(said, _counts()[1])


@claim("S1-four-orders", "001", "比原来减少了四个0(数量级)", "4 orders", "01_locality", "holds", value=4)
def _(said):
    full, local, _, _ = _counts()
    ratio = Fraction(full, local)
    orders = len(str(ratio.numerator)) - 1 if ratio.denominator == 1 else None
    found = compare(said, orders, unit=" orders of magnitude")
    return Finding(f"a factor of {sci(int(ratio))}: {orders} orders of magnitude", found.verdict, found.note)


@claim("S1-shared", "001", "同一个卷积核 … 只有 100 个参数", "100", "02_sharing", "holds", value=100)
def _(said):
    return compare(said, _counts()[2])


@claim("S1-100-filters", "001", "100 种滤波器 … 100x100=10K 个参数", "10,000", "02_sharing", "holds", value=10_000)
def _(said):
    return compare(said, _counts()[3])

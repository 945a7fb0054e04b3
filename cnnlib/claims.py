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
import functools
import json
import sys
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from cnnlib import counting
from cnnlib.formatting import percent, sci
from cnnlib.shapes import conv_output_size

__all__ = ["CHAPTERS", "Claim", "Finding", "REGISTRY", "VERDICTS", "evaluate", "evaluate_all", "compare", "main"]

VERDICTS = ("holds", "holds approximately", "wrong", "misleading")
SOURCES = {
    "000": "000_4f384e1d50ec5dcd.txt",
    "001": "001_22117487ab79740a.txt",
    "002": "002_fc915f745f153949.txt",
    "003": "003_e18767cb63a4de92.txt",
    "004": "004_f2043718bd5ac97a.txt",
}

# The chapters of the book that explain claims (file names without ``.md``, in book
# order) and the short titles the audit shows for them. Kept here rather than read from
# the book's ``_toc.yml`` so that the audit runs from any folder; a test checks that
# these are chapters of ``_toc.yml`` and that every claim points to one of them.
CHAPTERS = {
    "01_locality": "Locality",
    "02_sharing": "Sharing",
    "03_equivariance": "Equivariance",
    "04_edge_detection": "Edge detection",
    "05_one_by_one": "1×1 and Inception",
    "06_experiments": "Experiments",
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
        return Finding(text, "holds approximately", f"relative error {float(error):.2%}")
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


# --- source 002 -----------------------------------------------------------------

@claim("S2-2x2-weights", "002", "2*2 filter … 四个权重 w1..w4, 第一个输出 w1·0+w2·1+w3·4+w4·5", "formula",
       "02_sharing", "holds")
def _():
    from cnnlib.sharing import window_pixel_indices

    # the source numbers the pixels of a 4-wide image row by row: 0 1 2 3 / 4 5 6 7 / ...
    indices = window_pixel_indices((4, 4), 2)
    taps = [int(i) for i in indices.ravel()]
    verdict = "holds" if taps == [0, 1, 4, 5] else "wrong"
    return Finding(f"the first window reads pixels {taps}", verdict, "w1..w4 multiply pixels 0, 1, 4, 5")


@claim("S2-first-value", "002", "3×3 filter 第一次滑动 … =4; 滑动 9 次 → 9 个值", "4; 3×3 map", "02_sharing",
       "holds")
def _():
    from cnnlib.sharing import source002_example

    out = source002_example().output
    ok = out.shape == (3, 3) and out[0, 0] == 4
    return Finding(f"first value {out[0, 0]:g}; a {out.shape[0]}×{out.shape[1]} map of {out.size} values",
                   "holds" if ok else "wrong")


@claim("S2-pad-4x4", "002", "4x4 图片 zero padding 一圈, 3x3 filter → 仍然是 4x4", "4×4", "02_sharing", "holds")
def _():
    h, w = conv_output_size((4, 4), 3, padding=1)
    return Finding(f"{h}×{w}", "holds" if (h, w) == (4, 4) else "wrong")


@claim("S2-pad-5x5", "002", "5x5 filter 和 2 的 zero padding 可以保持原始尺寸", "same size", "02_sharing", "holds")
def _():
    sizes = range(5, 65)
    kept = all(conv_output_size(n, 5, padding=2) == n for n in sizes)
    return Finding(f"output size = input size for every size from {sizes[0]} to {sizes[-1]}",
                   "holds" if kept else "wrong")


@claim("S2-out-formula", "002", "(input_size + 2*padding_size − filter_size)/stride+1", "formula", "02_sharing",
       "misleading")
def _():
    # compare the source's formula (no rounding) with PyTorch's rule on a grid of settings
    cases = [(n, k, s, p) for n in range(1, 41) for k in range(1, 8) for s in range(1, 5) for p in range(0, 3)
             if k <= n + 2 * p]
    off = [(n, k, s, p) for n, k, s, p in cases if (n + 2 * p - k) % s]
    n, k, s, p = 1000, 10, 8, 0
    exact = Fraction(n + 2 * p - k, s) + 1
    return Finding(f"right when the stride divides input + 2·padding − filter; needs a floor in "
                   f"{len(off)} of {len(cases)} settings", "misleading",
                   f"e.g. 1000 pixels, 10×10 filter, stride 8 gives {float(exact):g}: the output has "
                   f"{conv_output_size(n, k, s, p)} positions (floor), and dilation is ignored")


@claim("S2-sigmoid", "002", "Sigmoid 导数最小为 0, 最大为 1/4", "[0, 1/4]", "02_sharing", "misleading")
def _():
    import numpy as np

    x = np.linspace(-40, 40, 800_001)
    e = np.exp(-np.abs(x))
    d = e / (1 + e) ** 2  # sigmoid'(x) = s(1 - s), written to stay accurate for large |x|
    return Finding(f"max {d.max():.6f} at x = {x[d.argmax()]:g}; min on [-40, 40] {d.min():.3g} > 0",
                   "misleading", "the maximum 1/4 is right, but 0 is only approached as |x| grows, never attained")


@claim("S2-pool-params", "002", "池化层并没有参数", "0", "03_equivariance", "holds")
def _():
    import torch

    return compare(0, sum(counting.module_params(m) for m in (torch.nn.MaxPool2d(2), torch.nn.AvgPool2d(2))))


@claim("S2-fc-WHXY", "002", "W*H → X*Y 全连接需要 W*H*X*Y 个参数, 10^8~10^12 级别", "10^8–10^12", "01_locality",
       "holds")
def _():
    from cnnlib.locality import sides_in_range

    sides = sides_in_range(10**8, 10**12, 1, kind="full")
    return Finding(f"images from {sides[0]}×{sides[0]} to {sides[1]}×{sides[1]} pixels (one unit per pixel)",
                   "holds", "the range covers ordinary image sizes")


@claim("S2-local-WHFF", "002", "局部 F*F: W*H*F*F 个参数, 10^5~10^6 级别", "10^5–10^6", "01_locality",
       "wrong")
def _():
    from cnnlib.locality import count_ranges, sides_in_range

    full_sides = sides_in_range(10**8, 10**12, 1, kind="full")
    ranges = count_ranges(full_sides[0], full_sides[1], 3, 10)
    lo, hi = ranges.local
    inside = lo >= 10**5 and hi <= 10**6
    return Finding(f"{sci(lo)} to {sci(hi)} for the same images with 3×3 to 10×10 windows",
                   "holds" if inside else "wrong",
                   f"the right range is {sci(lo)}–{sci(hi)}: 10^5–10^6 fits only the smallest of the images "
                   "that give the 10^8–10^12 fully connected counts")


@claim("S2-flip", "002", "卷积核是可以学习的参数时, 卷积和互相关是等价的", "qualitative", "02_sharing", "holds")
def _():
    import numpy as np

    from cnnlib.sharing import flip_experiment

    rng = np.random.default_rng(0)
    result = flip_experiment(rng.random((12, 12)), rng.standard_normal((3, 3)))
    gap = float(np.abs(result.learned - result.kernel[::-1, ::-1]).max())
    ok = gap < 1e-9 and result.residual < 1e-9
    return Finding(f"learned kernel = flipped kernel (max difference {gap:.1e})", "holds" if ok else "wrong")


@claim("S2-backprop", "002", "每个位置的权重更新是相同的", "qualitative", "02_sharing", "misleading")
def _():
    import numpy as np

    from cnnlib.sharing import shared_gradient_experiment

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    dout = rng.standard_normal((1, 3, 4, 4))
    r = shared_gradient_experiment(x, w, dout)
    gap = max(float(np.abs(r.summed - g).max()) for g in (r.numpy_dw, r.torch_dw, r.tied_dw))
    if gap > 1e-9:
        return Finding(f"the shared gradient is not the sum of the per-position ones ({gap:.1e})", "wrong")
    return Finding(f"one update, the sum of per-position gradients that differ by up to {r.spread:.3g}",
                   "misleading" if r.spread > 0 else "holds",
                   "the positions do not contribute the same update: the one shared weight receives the "
                   "sum of their different gradients")


@claim("S2-3x3x1", "002", "3×3×1 的卷积核 … 9 个参数被整张图共享", "9", "02_sharing", "holds")
def _():
    return compare(9, counting.conv2d_params(1, 1, 3, bias=False))


# --- source 003: the caption of Goodfellow et al. fig. 9.6 -----------------------------

def _caption_row(claim_id):
    from cnnlib.edges import caption_audit

    row = next(r for r in caption_audit() if r["id"] == claim_id)
    note = f"relative error {row['relative_error']:.2%}" if row["verdict"] == "holds approximately" else ""
    if row["verdict"] == "wrong":
        note = f"the right value is {_num(row['computed'])}"
    computed = _num(row["computed"])
    if claim_id == "S3-shape":
        from cnnlib.edges import caption_counts

        height, width = caption_counts()["output_shape"]
        computed = f"{width}×{height}"
    return Finding(computed, row["verdict"], note)


_CAPTION = {
    "S3-shape": ("输入 320 宽 280 高, 输出 319 宽", "319×280"),
    "S3-conv-flops": ("319×280×3 = 267,960 次浮点运算", "267,960"),
    "S3-matrix-size": ("320×280×319×280 个, 超过 80 亿个元素", "> 8·10^9"),
    "S3-storage-ratio": ("卷积对于表示这种变换更有效 40 亿倍", "4·10^9"),
    "S3-matmul-flops": ("矩阵乘法将执行超过 160 亿次浮点运算", "> 1.6·10^10"),
    "S3-compute-ratio": ("卷积在计算上大约有 60,000 倍的效率", "≈ 60,000"),
    "S3-sparse": ("矩阵仍然需要包含 2×319×280=178,640 个元素", "178,640"),
    "S3-sparse-flops": ("只存储非零元, 矩阵乘法和卷积都需要相同数量的浮点运算", "equal"),
}
_CAPTION_EXPECTED = {"S3-compute-ratio": "holds approximately", "S3-storage-ratio": "holds approximately"}
for _id, (_quote, _claimed) in _CAPTION.items():
    claim(_id, "003", _quote, _claimed, "04_edge_detection", _CAPTION_EXPECTED.get(_id, "holds"))(
        lambda _id=_id: _caption_row(_id))


@claim("S3-runtime", "003", "参数共享没有改变前向传播的运行时间 (仍然是 O(k×n)), 存储降低至 k 个参数", "O(k×n)",
       "02_sharing", "holds")
def _():
    shared = counting.conv2d_macs(64, 1, 1, 3, padding=1)
    local = counting.locally_connected2d_macs(64, 1, 1, 3, padding=1)
    params = counting.conv2d_params(1, 1, 3, bias=False)
    ok = shared == local == 64 * 64 * params
    return Finding(f"{shared:,} multiply-adds with or without sharing (k = {params}, n = {64 * 64} outputs); "
                   f"storage {params} vs {counting.locally_connected2d_params(64, 1, 1, 3, padding=1, bias=False):,}",
                   "holds" if ok else "wrong")


# --- source 004: 1×1 convolutions and Inception (chapter 5's computations) ----------

@functools.lru_cache(maxsize=1)
def _inception_verdicts():
    from cnnlib.inception import source_004_verdicts

    return {row["id"]: row for row in source_004_verdicts()}


def _inception_row(claim_id):
    row = _inception_verdicts()[claim_id]
    return Finding(row["computed"], row["verdict"], row["note"])


_INCEPTION = {
    "S4-1x1-scale": ("单通道 1X1 卷积核就是对输入乘以一个系数", "qualitative", "holds"),
    "S4-1x1-fc": ("每一个位置的 1*1 卷积本质上是对 n 维向量的全连接操作", "qualitative", "holds"),
    "S4-conv-3x3-192-128": ("28x28x192 输入, 3x3 卷积, 128 通道: 3x3x192x128 参数", "221,184", "holds"),
    "S4-inception-params": ("GoogLeNet 3a: 1×1×192×64+3×3×192×128+5×5×192×32 vs … 参数大约减少到原来的三分之一",
                            "≈ 1/3", "holds approximately"),
    "S4-channels-416": ("pooling 后 … 输出的 feature map 扩大到 416", "416", "holds"),
    "S4-channels-256": ("pooling 后加了通道为 32 的 1×1 卷积, 输出的 feature map 数降到了 256", "256", "holds"),
    "S4-googlenet-alexnet": ("GoogLeNet 22 层, 参数数量却只是 8 层的 AlexNet 的十二分之一", "22 layers, 1/12", "wrong"),
    "S4-naive-ops": ("Naive Inception module 的计算量 … 854M ops", "854M", "holds"),
    "S4-bottleneck-ops": ("使用 bottleneck 的 Inception module 的计算量为 358M ops", "358M", "wrong"),
}
for _id, (_quote, _claimed, _expected) in _INCEPTION.items():
    claim(_id, "004", _quote, _claimed, "05_one_by_one", _expected)(lambda _id=_id: _inception_row(_id))


# --- qualitative claims settled by measurement (chapters 3 and 6) --------------------

@claim("S3-equivariance", "003", "f(g(I)) = g(f(I)) … 向右移动 l 像素, 满足 I'(x,y)=I(x-1,y)", "theorem",
       "03_equivariance", "misleading")
def _():
    from cnnlib.equivariance import padding_errors, stride_errors

    pad = padding_errors(shifts=range(0, 4))
    strided = stride_errors(shifts=range(0, 4))
    exact = float(pad["circular"].max()) < 1e-12 and float(pad["zeros_interior"].max()) == 0.0
    broken = float(pad["zeros"].max()) > 0.01 and float(strided[1::2].min()) > 0.01
    if not exact:
        return Finding("circular convolution does not commute with cyclic shifts", "wrong")
    return Finding(f"circular padding, stride 1: error {pad['circular'].max():.1e}; zero padding: "
                   f"{pad['zeros'].max():.2f} (all in the border band); stride 2, odd shifts: "
                   f"{strided[1::2].min():.2f}", "misleading" if broken else "holds",
                   "exact only for cyclic shifts and stride 1, which the source does not say; and its example "
                   "I'(x, y) = I(x-1, y) is a shift by one pixel, not by l")


@claim("S2-pool-redundant", "002", "3x3 Feature Map … 3x3 Max pooling 后并没有对探测产生影响", "qualitative",
       "03_equivariance", "holds approximately")
def _():
    import numpy as np

    from cnnlib.equivariance import pooling_errors, relu_features
    from cnnlib.pool import max_pool2d

    features = relu_features()
    errors = pooling_errors(features, {"max": lambda f: max_pool2d(f[None], 3)[0]}, shifts=range(0, 3))
    kept = errors["max_unchanged"]
    # the source's own example: one strong response in a 3x3 map survives 3x3 max pooling
    example = np.array([[[0.0, 1, 0], [0, 3, 1], [0, 1, 0]]])
    survives = max_pool2d(example[None], 3)[0].item() == example.max()
    verdict = "holds approximately" if survives and 0 < kept[1] < 1 else "wrong"
    return Finding(f"the peak survives pooling; under a 1-pixel shift {kept[1]:.0%} of pooled detections "
                   f"keep their value, {kept[2]:.0%} under 2 pixels", verdict,
                   "the detection survives but its position inside the window is lost, so pooling is only "
                   "approximately invariant to shifts")


@claim("S2-one-position", "002", "只需要在训练集中放一张 … 就可以识别出上面所有的", "qualitative",
       "06_experiments", "misleading")
def _():
    from cnnlib.experiments import BOOK_CACHE, one_position_summary, translation

    s = one_position_summary(translation("center", cache=BOOK_CACHE))  # chapter 6's run
    conv_h, conv_v = s["horizontal"]["convolutional"], s["vertical"]["convolutional"]
    k_full, k_local = s["near_chance"]["fully connected"], s["near_chance"]["locally connected"]
    shift = int(s["shifts"].max())
    sideways = conv_h.min() > 0.7 and None not in (k_full, k_local) and max(k_full, k_local) <= 2
    border = conv_v[0] <= s["level"]
    verdict = "misleading" if sideways and border else "holds" if sideways else "wrong"
    return Finding(f"trained with every digit at the centre, the convolutional network keeps {percent(conv_h.min())} "
                   f"to {percent(conv_h.max())} at every horizontal shift up to {shift} pixels, but "
                   f"{percent(conv_v[0])} moved up and {percent(conv_v[-1])} moved down by {shift}; the fully and "
                   f"locally connected networks are within ten points of chance after {k_full} and {k_local} pixels",
                   verdict,
                   "sharing carries what is learned at one position to the others in the interior of the image, "
                   "not to its border, and not to other sizes, which the source also claims")


@claim("S2-overfit", "002", "局部连接+权值共享 … 学习能力并没有实质的降低, 避免过拟合", "qualitative",
       "06_experiments", "holds")
def _():
    from cnnlib.experiments import BOOK_CACHE, efficiency_summary, sample_efficiency

    r = sample_efficiency(cache=BOOK_CACHE)  # chapter 6's run
    s = efficiency_summary(r)
    sizes, test, gap, params = r["sizes"], s["test"], s["gap"], r["parameters"]
    kinds = ("convolutional", "fully connected", "locally connected")
    return Finding(f"test accuracy with {sizes[0]} / {sizes[-1]} training digits, mean over the seeds: "
                   + ", ".join(f"{k} {percent(test[k][0])} / {percent(test[k][-1])}" for k in kinds)
                   + f"; with {sizes[0]}, training accuracy exceeds test accuracy by "
                   + f"{100 * gap['convolutional'][0]:.0f} points (convolutional) and "
                   + f"{100 * gap['fully connected'][0]:.0f} points (fully connected)",
                   "holds" if s["best_wins"] and s["best_smallest_gap"] else "wrong",
                   f"the convolutional network, with {params['convolutional']:,} parameters against "
                   f"{params['fully connected']:,} (fully connected) and {params['locally connected']:,} (locally "
                   "connected), is the most accurate at every size and has the smallest gap")


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
    """Every claim of the registry, computed, in registry order (torch on one thread, as in the chapters)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [evaluate(claim_id) for claim_id in REGISTRY]
    finally:
        torch.set_num_threads(threads)


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

"""Source 000: counts of a 3×3 kernel, a fully connected layer on 32×32, and what sharing saves (chapters 1, 2)."""

from cnnlib import counting
from cnnlib.claims.registry import Finding, claim, compare
from cnnlib.shapes import conv_output_size


@claim("S0-kernel-3x3", "000", "3×3 卷积核 … 9 个参数(再加一个偏置,共 10 个参数)", "10", "02_sharing", "holds",
       value=10)
def _(said):
    return compare(said, counting.conv2d_params(1, 1, 3))


@claim("S0-fc-1024", "000", "32×32 图像, 1 个神经元连接整个图像 … 1024 个参数", "1,024", "01_locality", "holds",
       value=1024)
def _(said):
    found = compare(said, counting.fully_connected_params(32 * 32, 1, bias=False))
    with_bias = counting.fully_connected_params(32 * 32, 1)
    return Finding(found.computed, found.verdict, f"weights only; with the bias {with_bias:,}")


@claim("S0-fc-1000", "000", "1000 个神经元 … 1,024,000 个参数", "1,024,000", "01_locality", "holds", value=1_024_000)
def _(said):
    found = compare(said, counting.fully_connected_params(32 * 32, 1000, bias=False))
    with_bias = counting.fully_connected_params(32 * 32, 1000)
    return Finding(found.computed, found.verdict, f"weights only; with biases {with_bias:,}")


@claim("S0-kernel-3x3x3", "000", "3×3×3 卷积核 … 27 个权重, 加上 1 个偏置, 总共 28 个参数", "28", "02_sharing", "holds",
       value=28)
def _(said):
    return compare(said, counting.conv2d_params(3, 1, 3))


@claim("S0-out-30x30", "000", "输出特征图 30×30 … 900 个值", "900", "02_sharing", "holds", value=900)
def _(said):
    h, w = conv_output_size((32, 32), 3)
    return compare(said, h * w)


@claim("S0-unshared", "000", "没有参数共享 … 30×30×27 = 24,300", "24,300", "02_sharing", "holds", value=24_300)
def _(said):
    weights = counting.locally_connected2d_params(32, 3, 1, 3, bias=False)
    with_bias = counting.locally_connected2d_params(32, 3, 1, 3)
    found = compare(said, weights)
    return Finding(found.computed, found.verdict,
                   f"weights only, compared with 28 parameters that include a bias; "
                   f"like for like: {with_bias:,} vs 28, or {weights:,} vs 27")


@claim("S0-cross-channel", "000", "跨通道的参数共享: 卷积核的权重在所有输入通道上共享", "qualitative",
       "02_sharing", "wrong")
def _(said):
    standard = counting.conv2d_params(3, 1, 3, bias=False)
    shared = counting.channel_shared_conv2d_params(1, 3, bias=False)
    return Finding(f"{standard} weights per 3×3 kernel on 3 channels (not {shared})", "wrong",
                   "a kernel has its own 3×3 slice for every input channel (the source's own example counts "
                   f"{standard}); sharing one slice across channels would only see the sum of the channels")


@claim("S0-compute", "000", "提高计算效率: 共享参数减少了计算量", "qualitative", "02_sharing", "wrong")
def _(said):
    shared = counting.conv2d_macs(32, 3, 1, 3)
    local = counting.locally_connected2d_macs(32, 3, 1, 3)
    verdict = "wrong" if shared == local else "holds"
    return Finding(f"{shared:,} multiply-adds with sharing, {local:,} without", verdict,
                   "sharing reduces storage, not arithmetic: every weight is still applied at every position")

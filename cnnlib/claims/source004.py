"""Source 004: counts of shared kernels, strides and biases (chapters 1, 2), and of 1×1 convolutions, Inception,
GoogLeNet and AlexNet (chapter 5)."""

from fractions import Fraction

from cnnlib import counting
from cnnlib.claims.registry import Finding, claim, compare, judge
from cnnlib.shapes import conv_output_size


@claim("S4-all-shared", "004", "30*30*40 输入, 3*3*120 卷积核, 同一特征图和不同通道都共享: 3*3*120 个参数",
       "1,080", "02_sharing", "misleading", value=1080)
def _(said):
    shared = counting.channel_shared_conv2d_params(120, 3, bias=False)
    standard = counting.conv2d_params(40, 120, 3, bias=False)
    return Finding(f"{shared:,}", "misleading" if shared == said else "wrong",
                   f"the count is right for a kernel shared across channels, but that layer only sees the sum "
                   f"of the 40 input channels; a standard convolution has {standard:,}")


@claim("S4-per-map", "004", "只在同一特征图上共享: 3*3*40*120", "43,200", "02_sharing", "holds", value=43_200)
def _(said):
    return compare(said, counting.conv2d_params(40, 120, 3, bias=False))


@claim("S4-fc-640x360", "004", "640*360 图像, 全连接一个神经元 640*360 个参数", "230,400", "01_locality", "holds",
       value=230_400)
def _(said):
    return compare(said, counting.fully_connected_params(640 * 360, 1, bias=False))


@claim("S4-local-100", "004", "局部感受野 10*10, 一个神经元 10*10 个参数", "100", "01_locality", "holds", value=100)
def _(said):
    return compare(said, counting.conv2d_params(1, 1, 10, bias=False))


@claim("S4-100-filters", "004", "100 种卷积核 * 每种 100 个参数 = 10000", "10,000", "02_sharing", "holds",
       value=10_000)
def _(said):
    return compare(said, counting.conv2d_params(1, 100, 10, bias=False))


@claim("S4-stride-10", "004", "1000*1000 图像, 10*10 滤波器, 步长 10 → 100*100 个神经元", "10,000 per map",
       "02_sharing", "holds", value=10_000)
def _(said):
    h, w = conv_output_size((1000, 1000), 10, stride=10)
    return compare(said, h * w, unit=" per map")


@claim("S4-stride-8", "004", "步长为 8, 卷积核会重叠 2 个像素", "overlap 2", "02_sharing", "holds", value=2)
def _(said):
    kernel, stride, side = 10, 8, 1000
    out = conv_output_size(side, kernel, stride=stride)
    covered = (out - 1) * stride + kernel
    found = compare(said, kernel - stride, unit=" pixels")
    return Finding(found.computed, found.verdict,
                   f"{out} positions per row cover {covered} of the {side} pixels; "
                   f"the last {side - covered} are never seen")


@claim("S4-bias-606", "004", "滤波器 10*10, 卷积核个数 6: (10*10+1)*6 = 606", "606", "02_sharing", "holds", value=606)
def _(said):
    return compare(said, counting.conv2d_params(1, 6, 10))


# --- 1×1 convolutions, Inception, GoogLeNet and AlexNet (chapter 5) -----------------------------

_TOL = 1e-12  # float64 rounding


@claim("S4-1x1-scale", "004", "单通道 1X1 卷积核就是对输入乘以一个系数", "qualitative", "05_one_by_one", "holds")
def _(said):
    from cnnlib.inception import one_by_one_errors

    err = one_by_one_errors()["scale"]
    return Finding(f"largest difference {err:.1e}", "holds" if err < _TOL else "wrong",
                   "a 1×1 kernel on one channel multiplies every pixel by its single weight")


@claim("S4-1x1-fc", "004", "每一个位置的 1*1 卷积本质上是对 n 维向量的全连接操作", "qualitative", "05_one_by_one",
       "holds")
def _(said):
    from cnnlib.inception import one_by_one_errors

    err = one_by_one_errors()
    fc = max(err["linear"], err["einsum"], err["cnnlib"])
    return Finding(f"largest difference {fc:.1e} (float64)", "holds" if fc < _TOL else "wrong",
                   "nn.Conv2d(C, D, 1) equals nn.Linear(C, D) applied to the channel vector at every pixel")


@claim("S4-conv-3x3-192-128", "004", "28x28x192 输入, 3x3 卷积, 128 通道: 3x3x192x128 参数", "221,184",
       "05_one_by_one", "holds", value=221_184)
def _(said):
    from cnnlib.inception import conv_3x3_192_128_params

    c = conv_3x3_192_128_params()
    found = compare(said, c["weights"], kind="exact")
    return Finding(found.computed, found.verdict,
                   f"weights only; with the {c['params'] - c['weights']} biases {c['params']:,}")


# The source's two sums for inception (3a), term by term: (k, C_in, C_out) is a k×k convolution from
# C_in to C_out channels, k·k·C_in·C_out weights; and its conclusion, "about one third".
INCEPTION_3A_SUMS = {
    "naive": ((1, 192, 64), (3, 192, 128), (5, 192, 32)),
    "bottleneck": ((1, 192, 64), (1, 192, 96), (3, 96, 128), (1, 192, 16), (5, 16, 32)),
    "ratio": Fraction(1, 3),
}


def _source_sum(terms):
    """A sum of the source's terms ``(k, C_in, C_out)``: ``sum(k * k * C_in * C_out)``."""
    return sum(k * k * c_in * c_out for k, c_in, c_out in terms)


@claim("S4-inception-params", "004", "GoogLeNet 3a: 1×1×192×64+3×3×192×128+5×5×192×32 vs … 参数大约减少到原来的三分之一",
       "≈ 1/3", "05_one_by_one", "holds approximately", value=INCEPTION_3A_SUMS)
def _(said):
    from cnnlib.inception import inception_3a_params

    p = inception_3a_params()
    naive, bottleneck = _source_sum(said["naive"]), _source_sum(said["bottleneck"])
    ratio = Fraction(bottleneck, naive)
    verdict, error = judge(said["ratio"], ratio)
    sums_right = naive == p["naive"] and bottleneck == p["bottleneck_no_pool_proj"]
    return Finding(f"{bottleneck:,} / {naive:,} = {float(ratio):.3f}", verdict if sums_right else "wrong",
                   f"the source's sums are {'right' if sums_right else 'wrong'}, but they give "
                   f"{float(ratio):.2f} (relative error of 1/3: {error:.0%}); "
                   f"with the pool projection the module keeps {p['ratio']:.2f} of the weights", error)


@claim("S4-channels-416", "004", "pooling 后 … 输出的 feature map 扩大到 416", "416", "05_one_by_one", "holds",
       value=416)
def _(said):
    from cnnlib.inception import inception_3a_channels

    found = compare(said, inception_3a_channels()["naive"], kind="exact")
    return Finding(found.computed, found.verdict, "the pool branch passes all 192 input channels through")


@claim("S4-channels-256", "004", "pooling 后加了通道为 32 的 1×1 卷积, 输出的 feature map 数降到了 256", "256",
       "05_one_by_one", "holds", value=256)
def _(said):
    from cnnlib.inception import inception_3a_channels

    found = compare(said, inception_3a_channels()["bottleneck"], kind="exact")
    return Finding(found.computed, found.verdict, "the pool projection keeps 32 of them")


@claim("S4-googlenet-alexnet", "004", "GoogLeNet 22 层, 参数数量却只是 8 层的 AlexNet 的十二分之一", "22 layers, 1/12",
       "05_one_by_one", "wrong", value=(22, 12))
def _(said):
    from cnnlib.inception import googlenet_alexnet_params, network_depths

    layers, times_fewer = said
    g, d = googlenet_alexnet_params(), network_depths()
    ratio = g["alexnet_grouped_over_googlenet"]
    verdicts = [judge(layers, d["googlenet"], "exact")[0], judge(times_fewer, ratio)[0]]
    verdict = next(v for v in ("wrong", "holds approximately", "holds") if v in verdicts)  # the worse half
    halves = f"two claims in one: '{layers} layers' {verdicts[0]}, '1/{times_fewer}' {verdicts[1]}. "
    return Finding(f"{d['googlenet']} layers, 1/{ratio:.1f}", verdict,
                   halves + f"{d['googlenet']} layers with parameters on the deepest path ({d['googlenet_with_pooling']} with "
                   f"pooling); AlexNet ({g['alexnet_grouped']:,}) has {ratio:.1f}× the parameters of GoogLeNet "
                   f"({g['googlenet']:,}), not {times_fewer}× ({g['alexnet_single_over_googlenet']:.1f}× for the "
                   f"one-GPU AlexNet, {g['alexnet_grouped_over_googlenet_aux']:.1f}× with GoogLeNet's auxiliary "
                   "classifiers)")


@claim("S4-naive-ops", "004", "Naive Inception module 的计算量 … 854M ops", "854M", "05_one_by_one", "holds",
       value=854)
def _(said):
    from cnnlib.inception import inception_3a_macs, taught_example_ops

    ops = taught_example_ops()["naive"]
    verdict, error = judge(said, ops, "rounded", unit=10**6)
    return Finding(f"{ops:,}", verdict,
                   "the taught 28×28×256 example (1×1/128, 3×3/192, 5×5/96; one op = one multiply-add); "
                   f"inception (3a) naive needs {inception_3a_macs()['naive']:,}", error)


@claim("S4-bottleneck-ops", "004", "使用 bottleneck 的 Inception module 的计算量为 358M ops", "358M", "05_one_by_one",
       "wrong", value=358)
def _(said):
    from cnnlib.inception import taught_example_explain, taught_example_ops

    ops = taught_example_ops()["bottleneck"]
    verdict, error = judge(said, ops, "rounded", unit=10**6)
    slips = taught_example_explain(said)
    return Finding(f"{ops:,}", verdict,
                   f"the right value is {round(ops / 10**6)}M; {said}M is the sum with "
                   + " or ".join(f"the {name} convolution {how}" for how, name in slips), error)

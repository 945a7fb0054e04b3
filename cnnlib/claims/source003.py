"""Source 003 (after Goodfellow et al., ch. 9): equivariance, the runtime of sharing, and every number of the
caption of fig. 9.6 (chapters 2, 3 and 4)."""

from cnnlib.claims.registry import Finding, claim, judge, number, quoted
from cnnlib.formatting import tiny


@claim("S3-equivariance", "003", "f(g(I)) = g(f(I)) … 向右移动 l 像素, 满足 I'(x,y)=I(x-1,y)", "theorem",
       "03_equivariance", "misleading")
def _(said):
    from cnnlib.equivariance import padding_errors, stride_errors

    pad = padding_errors()    # the chapter's photograph and 5×5 kernel, shifts 0 to 8
    strided = stride_errors()
    exact = float(pad["circular"].max()) < 1e-12 and float(pad["zeros_interior"].max()) == 0.0
    broken = float(pad["zeros"].max()) > 0.01 and float(strided[1::2].min()) > 0.01
    if not exact:
        return Finding("circular convolution does not commute with cyclic shifts", "wrong")
    return Finding(f"circular padding, stride 1: error {tiny(float(pad['circular'].max()))}; zero padding: "
                   f"{pad['zeros'].max():.2f} (all in the border band); stride 2, odd shifts: {strided[1]:.2f}",
                   "misleading" if broken else "holds",
                   "exact only for cyclic shifts and stride 1, which the source does not say; and its example "
                   "I'(x, y) = I(x-1, y) is a shift by one pixel, not by l")


@claim("S3-runtime", "003", "参数共享没有改变前向传播的运行时间 (仍然是 O(k×n)), 存储降低至 k 个参数", "O(k×n)",
       "02_sharing", "holds")
def _(said):
    from cnnlib.sharing import local_vs_conv_cost

    # the chapter's layers (its timings do not matter here: one short round)
    cost = local_vs_conv_cost(input_size=32, in_channels=16, out_channels=16, kernel_size=3, batch=8,
                              rounds=1, min_seconds=0.0)
    ok = cost.macs_local == cost.macs_conv == cost.flops_conv // 2 and cost.params_conv < cost.params_local
    return Finding(f"{cost.macs_conv:,} multiply-adds with or without sharing; {cost.params_conv:,} parameters "
                   f"with sharing, {cost.params_local:,} without", "holds" if ok else "wrong")


# --- the caption of fig. 9.6: a 320 × 280 photograph and the kernel [-1, 1] -----------------

CAPTION = ("S3-shape", "S3-conv-flops", "S3-matrix-size", "S3-storage-ratio", "S3-matmul-flops",
           "S3-compute-ratio", "S3-sparse", "S3-sparse-flops")
_KIND = {"S3-shape": "exact", "S3-conv-flops": "exact", "S3-matrix-size": "over", "S3-storage-ratio": "about",
         "S3-matmul-flops": "over", "S3-compute-ratio": "about", "S3-sparse": "exact", "S3-sparse-flops": "exact"}


def _caption_findings(height, width):
    """The caption's claims judged for a ``height`` × ``width`` image: ``{id: Finding}``.

    The caption's numbers are those of ``PHOTO_SIZE`` (280 × 320); at another
    size most of them are wrong, which the tests check.
    """
    from cnnlib.edges import caption_counts

    c = caption_counts(height, width)
    computed = {
        "S3-shape": c["output_shape"][1],
        "S3-conv-flops": c["conv_flops"],
        "S3-matrix-size": c["matrix_entries"],
        "S3-storage-ratio": c["storage_ratio"],
        "S3-matmul-flops": c["matmul_flops"],
        "S3-compute-ratio": c["compute_ratio"],
        "S3-sparse": c["sparse_nonzeros"],
        "S3-sparse-flops": c["sparse_flops"],
    }
    said = {claim_id: quoted(claim_id) for claim_id in CAPTION}
    said["S3-sparse-flops"] = c["conv_flops"]  # as many operations as the convolution
    found = {}
    for claim_id in CAPTION:
        verdict, error = judge(said[claim_id], computed[claim_id], _KIND[claim_id])
        if claim_id == "S3-shape" and c["output_shape"][0] != height:
            verdict = "wrong"
        text = number(computed[claim_id])
        if claim_id == "S3-shape":
            text = f"{c['output_shape'][1]}×{c['output_shape'][0]}"
        note = {"holds": "", "holds approximately": f"relative error {error:.2%}",
                "wrong": f"the right value is {text}"}[verdict]
        found[claim_id] = Finding(text, verdict, note, error)
    return found


_CAPTION_CLAIMS = {
    # id: (quote, claimed as shown, the caption's value, expected verdict)
    "S3-shape": ("输入 320 宽 280 高, 输出 319 宽", "319×280", 319, "holds"),
    "S3-conv-flops": ("319×280×3 = 267,960 次浮点运算", "267,960", 267_960, "holds"),
    "S3-matrix-size": ("320×280×319×280 个, 超过 80 亿个元素", "> 8·10^9", 8 * 10**9, "holds"),
    "S3-storage-ratio": ("卷积对于表示这种变换更有效 40 亿倍", "4·10^9", 4 * 10**9, "holds approximately"),
    "S3-matmul-flops": ("矩阵乘法将执行超过 160 亿次浮点运算", "> 1.6·10^10", 16 * 10**9, "holds"),
    "S3-compute-ratio": ("卷积在计算上大约有 60,000 倍的效率", "≈ 60,000", 60_000, "holds approximately"),
    "S3-sparse": ("矩阵仍然需要包含 2×319×280=178,640 个元素", "178,640", 178_640, "holds"),
    "S3-sparse-flops": ("只存储非零元, 矩阵乘法和卷积都需要相同数量的浮点运算", "equal", None, "holds"),
}


def _caption_claim(claim_id):
    def compute(said):
        from cnnlib.edges import PHOTO_SIZE

        return _caption_findings(*PHOTO_SIZE)[claim_id]

    return compute


for _id, (_quote, _claimed, _value, _expected) in _CAPTION_CLAIMS.items():
    claim(_id, "003", _quote, _claimed, "04_edge_detection", _expected, value=_value)(_caption_claim(_id))

assert tuple(_CAPTION_CLAIMS) == CAPTION

"""Source 002: sliding windows, output sizes, gradients of shared weights, pooling, and what sharing buys when
networks learn (chapters 1, 2, 3 and 6)."""

from fractions import Fraction

from cnnlib import counting
from cnnlib.claims.registry import Finding, claim, compare, quoted
from cnnlib.formatting import percent, sci
from cnnlib.shapes import conv_output_size


@claim("S2-2x2-weights", "002", "2*2 filter … 四个权重 w1..w4, 第一个输出 w1·0+w2·1+w3·4+w4·5", "formula",
       "02_sharing", "holds")
def _(said):
    from cnnlib.sharing import window_pixel_indices

    # the source numbers the pixels of a 4-wide image row by row: 0 1 2 3 / 4 5 6 7 / ...
    taps = [int(i) for i in window_pixel_indices((4, 4), 2).ravel()]
    verdict = "holds" if taps == [0, 1, 4, 5] else "wrong"
    return Finding(f"the first window reads pixels {taps}", verdict, "w1..w4 multiply pixels 0, 1, 4, 5")


@claim("S2-first-value", "002", "3×3 filter 第一次滑动 … =4; 滑动 9 次 → 9 个值", "4; 3×3 map", "02_sharing", "holds",
       value=4)
def _(said):
    from cnnlib.sharing import source002_example

    out = source002_example().output
    ok = out.shape == (3, 3) and out[0, 0] == said
    return Finding(f"first value {out[0, 0]:g}; a {out.shape[0]}×{out.shape[1]} map of {out.size} values",
                   "holds" if ok else "wrong")


@claim("S2-pad-4x4", "002", "4x4 图片 zero padding 一圈, 3x3 filter → 仍然是 4x4", "4×4", "02_sharing", "holds")
def _(said):
    h, w = conv_output_size((4, 4), 3, padding=1)
    return Finding(f"{h}×{w}", "holds" if (h, w) == (4, 4) else "wrong")


@claim("S2-pad-5x5", "002", "5x5 filter 和 2 的 zero padding 可以保持原始尺寸", "same size", "02_sharing", "holds")
def _(said):
    sizes = range(5, 65)
    kept = all(conv_output_size(n, 5, padding=2) == n for n in sizes)
    return Finding(f"output size = input size for every size from {sizes[0]} to {sizes[-1]}",
                   "holds" if kept else "wrong")


@claim("S2-out-formula", "002", "(input_size + 2*padding_size − filter_size)/stride+1", "formula", "02_sharing",
       "misleading")
def _(said):
    from cnnlib.sharing import floor_needed

    needed, settings = floor_needed()  # the cases the chapter checks against PyTorch
    side, window, stride = 1000, 10, 8  # source 004's layer, which the chapter also uses
    return Finding(f"right when the stride divides input + 2·padding − filter; without a floor it is not a whole "
                   f"number in {needed} of {settings} settings", "misleading",
                   f"e.g. (1000 − 10)/8 = {(side - window) / stride:.2f} is not an integer: the layer has "
                   f"{conv_output_size(side, window, stride)} positions per row; and dilation is ignored")


@claim("S2-sigmoid", "002", "Sigmoid 导数最小为 0, 最大为 1/4", "[0, 1/4]", "02_sharing", "misleading",
       value=(0, Fraction(1, 4)))
def _(said):
    import numpy as np

    from cnnlib.sharing import sigmoid_slope

    x = np.linspace(-40, 40, 800_001)
    slope = sigmoid_slope(x)
    top, far = sigmoid_slope(0.0), sigmoid_slope(40.0)
    ok = top == float(said[1]) and top == slope.max() and slope.min() > said[0]
    return Finding(f"largest value {top:g} at x = 0; positive everywhere, {sci(far, 2)} at x = 40",
                   "misleading" if ok else "wrong",
                   "the maximum 1/4 is right, but 0 is only approached as |x| grows, never attained")


@claim("S2-pool-params", "002", "池化层并没有参数", "0", "03_equivariance", "holds", value=0)
def _(said):
    import torch

    return compare(said, sum(counting.module_params(m) for m in (torch.nn.MaxPool2d(2), torch.nn.AvgPool2d(2))))


@claim("S2-pool-redundant", "002", "3x3 Feature Map … 3x3 Max pooling 后并没有对探测产生影响", "qualitative",
       "03_equivariance", "holds approximately")
def _(said):
    import numpy as np

    from cnnlib.invariance import pooling_errors, relu_features
    from cnnlib.pool import max_pool2d

    # the chapter's feature map and its 3×3 max pooling, shifted by 0 to 8 pixels
    errors = pooling_errors(relu_features(), {"max 3×3": lambda f: max_pool2d(f, 3)}, shifts=range(0, 9), moved=True)
    kept, moved = errors["max 3×3_unchanged"], errors["max 3×3_moved"]
    # the source's own example: one strong response in a 3x3 map survives 3x3 max pooling
    example = np.array([[[0.0, 1, 0], [0, 3, 1], [0, 1, 0]]])
    survives = max_pool2d(example[None], 3)[0].item() == example.max()
    verdict = "holds approximately" if survives and 0 < kept[1] < 1 else "wrong"
    return Finding(f"the peak survives pooling; under a 1-pixel shift {percent(kept[1], 1)} of the pooled detections "
                   f"keep their value, {percent(kept[2], 1)} under 2 pixels, {percent(kept[3], 1)} under 3 pixels "
                   f"(then {percent(moved[3], 1)} reappear one cell over)", verdict,
                   "the detection survives but its position inside the window is lost, so pooling is only "
                   "approximately invariant to shifts")


@claim("S2-fc-WHXY", "002", "W*H → X*Y 全连接需要 W*H*X*Y 个参数, 10^8~10^12 级别", "10^8–10^12", "01_locality",
       "holds", value=(10**8, 10**12))
def _(said):
    from cnnlib.locality import sides_in_range

    sides = sides_in_range(*said, 1, kind="full")
    return Finding(f"images from {sides[0]}×{sides[0]} to {sides[1]}×{sides[1]} pixels (one unit per pixel)",
                   "holds", "the range covers ordinary image sizes")


@claim("S2-local-WHFF", "002", "局部 F*F: W*H*F*F 个参数, 10^5~10^6 级别", "10^5–10^6", "01_locality",
       "wrong", value=(10**5, 10**6))
def _(said):
    from cnnlib.locality import count_ranges, sides_in_range

    full_sides = sides_in_range(*quoted("S2-fc-WHXY"), 1, kind="full")
    lo, hi = count_ranges(full_sides[0], full_sides[1], 3, 10).local
    inside = lo >= said[0] and hi <= said[1]
    return Finding(f"{sci(lo)} to {sci(hi)} for the same images with 3×3 to 10×10 windows",
                   "holds" if inside else "wrong",
                   f"the right range is {sci(lo)}–{sci(hi)}: 10^5–10^6 fits only the smallest of the images "
                   "that give the 10^8–10^12 fully connected counts")


@claim("S2-flip", "002", "卷积核是可以学习的参数时, 卷积和互相关是等价的", "qualitative", "02_sharing", "holds")
def _(said):
    from cnnlib.sharing import flip_example, flip_experiment

    result = flip_experiment(*flip_example())  # the chapter's photograph and kernel
    ok = float(abs(result.learned - result.kernel[::-1, ::-1]).max()) < 1e-8 and result.residual < 1e-9
    return Finding(f"the kernel learned by a cross-correlation is the flipped kernel (relative residual "
                   f"{result.residual:.0e})", "holds" if ok else "wrong")


@claim("S2-backprop", "002", "每个位置的权重更新是相同的", "qualitative", "02_sharing", "misleading")
def _(said):
    import numpy as np

    from cnnlib.sharing import gradient_example, shared_gradient_experiment

    r = shared_gradient_experiment(*gradient_example())  # the chapter's example
    gap = max(float(np.abs(r.summed - g).max()) for g in (r.numpy_dw, r.torch_dw, r.tied_dw))
    if gap > 1e-9:
        return Finding(f"the shared gradient is not the sum of the per-position ones ({gap:.0e})", "wrong")
    return Finding(f"one update, the sum of per-position gradients that differ by up to {r.spread:.1f}",
                   "misleading" if r.spread > 0 else "holds",
                   "the positions do not contribute the same update: the one shared weight receives the "
                   "sum of their different gradients")


@claim("S2-one-position", "002", "只需要在训练集中放一张 … 就可以识别出上面所有的", "qualitative",
       "06_experiments", "misleading")
def _(said):
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
def _(said):
    from cnnlib.experiments import BOOK_CACHE, efficiency_summary, sample_efficiency

    r = sample_efficiency(cache=BOOK_CACHE)  # chapter 6's run
    s = efficiency_summary(r)
    sizes, test, gap, params = r["sizes"], s["test"], s["gap"], r["parameters"]
    kinds = ("convolutional", "fully connected", "locally connected")
    local_like_full = max(abs(a - b) for a, b in zip(gap["locally connected"], gap["fully connected"])) < 0.05
    return Finding(f"test accuracy with {sizes[0]} / {sizes[-1]} training digits, mean over the seeds: "
                   + ", ".join(f"{k} {percent(test[k][0])} / {percent(test[k][-1])}" for k in kinds)
                   + f"; with {sizes[0]}, training accuracy exceeds test accuracy by "
                   + f"{100 * gap['convolutional'][0]:.0f} points (convolutional) and "
                   + f"{100 * gap['fully connected'][0]:.0f} points (fully connected)",
                   "holds" if s["best_wins"] and s["best_smallest_gap"] else "wrong",
                   f"the convolutional network, with {params['convolutional']:,} parameters against "
                   f"{params['fully connected']:,} (fully connected) and {params['locally connected']:,} (locally "
                   "connected), is the most accurate at every size and has the smallest gap; "
                   + ("the gain comes from sharing (the locally connected network overfits as much as the fully "
                      "connected one, within five points at every size), and " if local_like_full else "")
                   + "it holds for digits at random positions: on aligned digits it vanishes")


@claim("S2-3x3x1", "002", "3×3×1 的卷积核 … 9 个参数被整张图共享", "9", "02_sharing", "holds", value=9)
def _(said):
    return compare(said, counting.conv2d_params(1, 1, 3, bias=False))

"""Chapter 2, issue 17: the exact relation between convolution and cross-correlation with the
flipped kernel, and the gradient formula's indices in the chapter's text.

With the chapter's indexing, (x ⋆ k̃)_{i,j} = (x * k)_{i+F-1, j+F-1} on the valid positions
0 <= i <= H-F: checked against SciPy's full convolution and PyTorch's conv2d (a
cross-correlation), independent oracles, for random shapes.
"""

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import convolve2d, correlate2d

CHAPTER = Path(__file__).resolve().parent.parent / "chapters" / "02_sharing.md"


def _convolution_by_definition(x, k):
    """(x * k)_{i,j} = sum_{a,b} k_{a,b} x_{i-a, j-b}, x zero outside, for 0 <= i <= H+F-2 (a loop)."""
    (h, w), (fh, fw) = x.shape, k.shape
    out = np.zeros((h + fh - 1, w + fw - 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for a in range(fh):
                for b in range(fw):
                    if 0 <= i - a < h and 0 <= j - b < w:
                        out[i, j] += k[a, b] * x[i - a, j - b]
    return out


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), f=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_convolution_is_flipped_correlation_shifted_by_f_minus_1(h, w, f, seed):
    if f > min(h, w):
        return
    rng = np.random.default_rng(seed)
    x, k = rng.normal(size=(h, w)), rng.normal(size=(f, f))
    flipped = k[::-1, ::-1].copy()
    full = _convolution_by_definition(x, k)
    assert np.allclose(full, convolve2d(x, k, mode="full"))            # our indexing is SciPy's "full"
    corr = correlate2d(x, flipped, mode="valid")
    torch_corr = F.conv2d(torch.tensor(x)[None, None], torch.tensor(flipped)[None, None])[0, 0].numpy()
    assert np.allclose(corr, torch_corr)
    assert np.allclose(full[f - 1:h, f - 1:w], corr)                  # shifted by F-1: equal
    assert np.allclose(convolve2d(x, k, mode="valid"), corr)          # SciPy's "valid" hides the shift


def test_without_the_shift_the_identity_fails():
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=(6, 7)), rng.normal(size=(3, 3))
    full = convolve2d(x, k, mode="full")
    corr = correlate2d(x, k[::-1, ::-1], mode="valid")
    assert not np.allclose(full[:4, :5], corr)
    assert np.allclose(full[2:6, 2:7], corr)


# --- the gradient formula: the text's weight and the formula's weight agree -------------------

GRAD = re.compile(r"\\frac\{\\partial \\mathcal\{L\}\}\{\\partial k_\{(?P<idx>[^}]*)\}\}(?P<rest>.*?)\$\$", re.S)


def test_gradient_formulas_name_the_weight_the_text_names():
    text = CHAPTER.read_text(encoding="utf-8")
    found = list(GRAD.finditer(text))
    assert len(found) >= 2, "the chapter states the single-channel and the multi-channel gradient"
    for m in found:
        idx = m.group("idx").replace(" ", "")
        before = text[max(0, m.start() - 600):m.start()]
        # the prose just before the formula talks about the same weight
        assert f"k_{{{idx}}}" in before.replace(" ", ""), f"formula for k_{{{idx}}} not introduced in the text"
        rest = m.group("rest")
        has_c, has_d = idx.startswith("c,") or ",c," in idx, idx.startswith("d,")
        # x carries the channel index exactly when k does; h the output channel exactly when k does
        assert ("x_{c," in rest) == has_c, (idx, rest)
        assert ("h_{d," in rest) == has_d, (idx, rest)
        assert "L}" not in rest.replace("\\mathcal{L}", ""), "the loss is \\mathcal{L}"

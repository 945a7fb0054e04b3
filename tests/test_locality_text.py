"""Chapter 1 and the intro state what they compute, and compute it once.

* Source 002's ranges (claims ``S2-fc-WHXY`` and ``S2-local-WHFF``): the chapter shows
  the claims registry's own computation (``claims.evaluate``) in its prose, so that the
  audit and the chapter cannot state different ranges for the same claim; and the
  registry's two computations are about the same images.
* The intro's headline: every layer it compares is shown with its own number of hidden
  units, and a layer with a hundred kernels (a hundred maps) is compared with a fully
  connected layer of as many units.
"""

import ast
import re
from pathlib import Path

import jupytext
import pytest

from cnnlib import claims, counting
from cnnlib.formatting import sci

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "01_locality.md"
INTRO = ROOT / "chapters" / "intro.md"
RANGE_CLAIMS = ("S2-fc-WHXY", "S2-local-WHFF")
EVAL = re.compile(r"\{eval\}`([^`]+)`")


def cells(path, kind):
    return [c.source for c in jupytext.read(path).cells if c.cell_type == kind]


def names_of_computed(code, claim_id):
    """Names bound (directly or through a tuple) to ``<row>.computed`` of ``claims.evaluate(claim_id)``."""
    tree = ast.parse(code)
    rows, names = set(), set()

    def pairs(node):
        targets = node.targets[0]
        if isinstance(targets, ast.Tuple) and isinstance(node.value, ast.Tuple):
            return list(zip(targets.elts, node.value.elts))
        return [(targets, node.value)]

    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target, value in pairs(node):
            if not isinstance(target, ast.Name):
                continue
            if (isinstance(value, ast.Call) and ast.unparse(value.func) == "claims.evaluate"
                    and [ast.literal_eval(a) for a in value.args] == [claim_id]):
                rows.add(target.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target, value in pairs(node):
                if (isinstance(target, ast.Name) and isinstance(value, ast.Attribute)
                        and value.attr == "computed" and ast.unparse(value.value) in rows):
                    names.add(target.id)
    return rows, names


@pytest.mark.parametrize("claim_id", RANGE_CLAIMS)
def test_the_chapter_shows_the_registrys_computation_of_the_range(claim_id):
    code = "\n".join(src for src in cells(CHAPTER, "code") if not src.lstrip().startswith("%"))
    rows, names = names_of_computed(code, claim_id)
    assert rows, f"the chapter does not evaluate {claim_id} with claims.evaluate"
    shown = {name for text in cells(CHAPTER, "markdown") for name in EVAL.findall(text)}
    assert shown & (names | {f"{row}.computed" for row in rows}), \
        f"the prose does not show {claim_id}'s computed value with {{eval}}"


def test_the_chapter_does_not_compute_the_ranges_from_numbers_of_its_own():
    """The ranges' images and windows come from the registry, not from literals of the chapter."""
    code = "\n".join(cells(CHAPTER, "code"))
    for call in re.findall(r"count_ranges\(([^)]*)\)", code):
        assert not re.search(r"side_(min|max)\s*=\s*\d", call), call


def test_the_two_claims_are_about_the_same_images():
    fc_said, local_said = (claims.quoted(c) for c in RANGE_CLAIMS)
    # the images whose fully connected layer (one unit per pixel) has as many weights as the source says
    sides = [n for n in range(1, 1100) if fc_said[0] <= counting.fully_connected_params(n * n, n * n, False)
             <= fc_said[1]]
    assert claims.evaluate("S2-fc-WHXY").computed.startswith(
        f"images from {sides[0]}×{sides[0]} to {sides[-1]}×{sides[-1]} pixels")
    # the same images, with 3×3 to 10×10 windows, one unit per pixel
    local = [counting.locally_connected2d_params(n, 1, 1, f, padding="same", bias=False)
             for n in (sides[0], sides[-1]) for f in (3, 10)]
    row = claims.evaluate("S2-local-WHFF")
    assert row.computed.startswith(f"{sci(min(local))} to {sci(max(local))} ")
    assert row.verdict == "wrong" and not (local_said[0] <= min(local) and max(local) <= local_said[1])


def intro_namespace():
    import matplotlib

    matplotlib.use("Agg")
    namespace = {}
    for src in cells(INTRO, "code"):
        exec(compile(src, str(INTRO), "exec"), namespace)
    return namespace


def test_the_intro_compares_layers_with_their_own_hidden_units():
    import matplotlib.pyplot as plt

    ns = intro_namespace()
    try:
        ax = ns["ax"]
        labels = [t.get_text() for t in ax.get_xticklabels()]
        heights = [bar.get_height() for bar in ax.patches]
        # every bar: its weights, and under its name its own number of hidden units
        for key, label, height in zip(ns["counts"], labels, heights):
            assert height == ns["counts"][key] and label.endswith(f"{sci(ns['units'][key])} units")
        assert "units" not in ax.get_title()
        # a hundred kernels make a hundred maps; the fully connected layer it is compared with has as many units
        assert ns["units"]["many"] == ns["filters"] * ns["units"]["shared"] == ns["units"]["full_many"]
        assert ns["full_many"] == counting.fully_connected_params(ns["side"] ** 2, ns["units"]["many"], False)
    finally:
        plt.close("all")


def test_the_intros_sentence_on_a_hundred_kernels_names_its_units():
    prose = "\n".join(cells(INTRO, "markdown"))
    sentence = prose[prose.index("A\nhundred kernels make"):]
    sentence = sentence[:sentence.index("\n\n")]
    for name in ("many_units_sci", "many_sci", "full_many_sci", "full_many_over_many"):
        assert f"{{eval}}`{name}`" in sentence

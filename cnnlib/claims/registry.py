"""The machinery of the claims audit: claims, findings, the one judge, evaluation.

A claim is registered with :func:`claim` (a decorator): its identifier (as in
the inventory ``claims.md``), the source document, a short quote, the value
the document states (``claimed`` as shown, ``value`` as data, where it is a
number the chapters compare against: :func:`quoted`), the chapter that
explains it, and the verdict we expect. The decorated function receives
``value`` and returns a :class:`Finding`, computed with the same ``cnnlib``
functions, arguments and formatting (:mod:`cnnlib.formatting`) as that
chapter. Numbers are judged by :func:`judge`, and only there.
"""

from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["VERDICTS", "SOURCES", "CHAPTERS", "TOLERANCE", "Finding", "Claim", "Row", "REGISTRY", "claim",
           "quoted", "judge", "compare", "number", "evaluate", "evaluate_all"]

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

# How far a round figure may be from the computed value and still "hold approximately" (relative).
TOLERANCE = 0.25


@dataclass(frozen=True)
class Finding:
    """What the computation found: the value as text, the verdict and why (and how far off, if it is)."""

    computed: str
    verdict: str
    note: str = ""
    relative_error: float | None = None

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
    value: object = None
    compute: object = field(default=None, repr=False, compare=False)


REGISTRY = {}


def claim(id, source, quote, claimed, chapter, expected, value=None):
    """Register the decorated function, ``compute(value) -> Finding``, as the computation of claim ``id``."""
    if expected not in VERDICTS:
        raise ValueError(f"{id}: expected verdict must be one of {VERDICTS}, got {expected!r}")

    def register(compute):
        if id in REGISTRY:
            raise ValueError(f"claim {id} registered twice")
        REGISTRY[id] = Claim(id, SOURCES[source], quote, claimed, chapter, expected, value, compute)
        return compute

    return register


def quoted(claim_id):
    """The value the source states for ``claim_id``, as data (the chapters compare against it)."""
    return REGISTRY[claim_id].value


KINDS = ("about", "exact", "rounded", "over")


def judge(claimed, computed, kind="about", tolerance=TOLERANCE, unit=1):
    """``(verdict, relative_error)`` for a number a source states, against the computed one.

    ``kind``:

    * ``"about"``: equal, ``holds``; within ``tolerance`` (relative to the
      computed value), ``holds approximately``; else ``wrong``;
    * ``"exact"``: equal, ``holds``; else ``wrong``;
    * ``"rounded"``: the claim is the computed value rounded to a whole number
      of ``unit`` ("854M": ``claimed=854, unit=10**6``), ``holds``; else as ``"about"``;
    * ``"over"``: a lower bound ("over 8 billion"): ``holds`` if the computed value exceeds it, else ``wrong``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    claimed_value, computed_value = Fraction(claimed) * unit, Fraction(computed)
    difference = abs(claimed_value - computed_value)
    error = float(difference / abs(computed_value)) if difference else 0.0
    if kind == "over":
        return ("holds" if computed_value > claimed_value else "wrong"), error
    if claimed_value == computed_value or (kind == "rounded" and round(computed_value / unit) == claimed):
        return "holds", error
    if kind == "exact":
        return "wrong", error
    return ("holds approximately" if error <= tolerance else "wrong"), error


def number(value):
    """A computed number as the audit writes it: ``1,024``, ``0.4063``."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):.4g}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}"


def compare(claimed, computed, kind="about", fmt=number, unit=""):
    """A :class:`Finding` for a numeric claim: :func:`judge`'s verdict, the value written by ``fmt``."""
    verdict, error = judge(claimed, computed, kind)
    text = fmt(computed) + unit
    note = {"holds": "", "holds approximately": f"relative error {error:.2%}",
            "wrong": f"the right value is {text}"}[verdict]
    return Finding(text, verdict, note, error)


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
    relative_error: float | None = None


def evaluate(claim_id):
    """Compute one claim; returns a :class:`Row`."""
    c = REGISTRY[claim_id]
    finding = c.compute(c.value)
    if not isinstance(finding, Finding):
        raise TypeError(f"{claim_id}: the computation must return a Finding, got {type(finding).__name__}")
    return Row(c.id, c.source, c.quote, c.claimed, finding.computed, finding.verdict, finding.note,
               c.chapter, c.expected, finding.relative_error)


def evaluate_all():
    """Every claim of the registry, computed, in registry order (torch on one thread, as in the chapters)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [evaluate(claim_id) for claim_id in REGISTRY]
    finally:
        torch.set_num_threads(threads)

"""The claims audit: every checkable claim of the source documents, computed and judged.

Each claim is a function that computes the value with the same ``cnnlib``
functions and arguments as the chapter that explains it, and writes it as that
chapter does; the registry records the source, a short quote, the value the
document states (:func:`quoted`: the chapters compare against it, and it is
typed nowhere else), the chapter, and the verdict we expect. Numbers are judged
by one function, :func:`judge`. A test fails when a computed verdict differs
from the expected one, and another, on the built book, when a figure the audit
shows for a claim is not on the page of the chapter it names.

Verdicts:

``holds``                the document's value is what we compute;
``holds approximately``  close (within :data:`TOLERANCE`), with the relative error stated;
``wrong``                with the right value;
``misleading``           the number is right or the statement half-true, with one sentence why.

Layout: :mod:`.registry` (claims, findings, the judge, evaluation), one
module of claims per source document (:mod:`.source000` to
:mod:`.source004`, registered on import, in the inventory's order) and
:mod:`.__main__`: run ``python -m cnnlib.claims`` for the table, ``--json``
for a list of objects.
"""

from cnnlib.claims.registry import (CHAPTERS, REGISTRY, SOURCES, TOLERANCE, VERDICTS, Claim, Finding, Row, claim,
                                    compare, evaluate, evaluate_all, judge, number, quoted)

# registering the claims, source by source (the order of the audit's table)
from cnnlib.claims import source000, source001, source002, source003, source004  # noqa: E402, F401

__all__ = ["VERDICTS", "SOURCES", "CHAPTERS", "TOLERANCE", "Finding", "Claim", "Row", "REGISTRY", "claim", "quoted",
           "judge", "compare", "number", "evaluate", "evaluate_all"]

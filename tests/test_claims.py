"""The claims audit is complete and its verdicts are pinned."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlib import claims

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "fixtures" / "claims_inventory.md"
SHARED_INVENTORY = HERE.parent.parent / "shared" / "claims.md"


def inventory_ids(path):
    return re.findall(r"^\| (S\d-[\w-]+) \|", path.read_text(), flags=re.M)


def test_the_inventory_is_read():
    assert len(inventory_ids(INVENTORY)) >= 50


@pytest.mark.skipif(not SHARED_INVENTORY.exists(), reason="shared/claims.md is not beside this checkout")
def test_the_vendored_inventory_is_current():
    assert inventory_ids(SHARED_INVENTORY) == inventory_ids(INVENTORY)


def test_every_claim_of_the_inventory_is_in_the_registry():
    missing = [i for i in inventory_ids(INVENTORY) if i not in claims.REGISTRY]
    assert not missing, f"claims without a computation: {missing}"


@pytest.mark.parametrize("claim_id", list(claims.REGISTRY))
def test_verdict_is_the_expected_one(claim_id):
    row = claims.evaluate(claim_id)
    assert row.verdict == row.expected, (
        f"{claim_id}: the computation now says {row.verdict!r} ({row.computed}; {row.note}) "
        f"but the registry expects {row.expected!r}: update the registry and the chapter's prose"
    )
    assert row.computed and row.quote and row.claimed


def test_registry_rejects_bad_verdicts():
    with pytest.raises(ValueError, match="verdict must be one of"):
        claims.Finding("1", "true")
    with pytest.raises(ValueError, match="expected verdict"):
        claims.claim("X", "000", "q", "1", "intro", "right")


def test_compare_by_hand():
    assert claims.compare(10, 10).verdict == "holds"
    approx = claims.compare(60_000, 59_733)
    assert approx.verdict == "holds approximately" and "0.45%" in approx.note
    assert claims.compare(854, 271).verdict == "wrong"


def test_command_line_json():
    out = subprocess.run([sys.executable, "-m", "cnnlib.claims", "--json", "S1-full", "S0-compute"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ["S1-full", "S0-compute"]
    for r in rows:
        assert {"id", "source", "claimed", "computed", "verdict"} <= set(r)


def test_command_line_rejects_unknown_ids():
    result = subprocess.run([sys.executable, "-m", "cnnlib.claims", "S9-nothing"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown claim id" in result.stderr


def _toc_chapters():
    import yaml

    toc = yaml.safe_load((HERE.parent / "_toc.yml").read_text())
    return [c["file"].split("/")[-1] for part in toc.get("parts", []) for c in part["chapters"]]


def test_the_audit_chapters_are_the_books():
    # the audit links claims.CHAPTERS without reading _toc.yml (it runs from any folder)
    in_book = _toc_chapters()
    assert all(name in in_book for name in claims.CHAPTERS), set(claims.CHAPTERS) - set(in_book)
    assert list(claims.CHAPTERS) == [name for name in in_book if name in claims.CHAPTERS]  # book order
    assert all((HERE.parent / "chapters" / f"{name}.md").exists() for name in claims.CHAPTERS)


def test_every_claim_points_to_an_audit_chapter():
    elsewhere = {c.id: c.chapter for c in claims.REGISTRY.values() if c.chapter not in claims.CHAPTERS}
    assert not elsewhere, f"add these chapters to claims.CHAPTERS: {elsewhere}"


@pytest.mark.parametrize("kind, claimed, computed, verdict", [
    ("exact", 5, 5, "holds"), ("exact", 5, 6, "wrong"),
    ("over", 8, 9, "holds"), ("over", 8, 7, "wrong"),
    ("about", 100, 100, "holds"), ("about", 100, 98, "holds approximately"), ("about", 100, 50, "wrong"),
    ("rounded", 854, 854_196_224, "holds"), ("rounded", 358, 271_351_808, "wrong"),
])
def test_the_one_judge(kind, claimed, computed, verdict):
    unit = 10**6 if kind == "rounded" else 1
    assert claims.judge(claimed, computed, kind, unit=unit)[0] == verdict
    with pytest.raises(ValueError, match="kind"):
        claims.judge(1, 1, "roughly")


def test_the_caption_is_judged_with_the_chapters_counts():
    from cnnlib.claims.source003 import _caption_findings

    found = _caption_findings(280, 320)
    verdicts = {i: f.verdict for i, f in found.items()}
    assert list(verdicts) == ["S3-shape", "S3-conv-flops", "S3-matrix-size", "S3-storage-ratio",
                              "S3-matmul-flops", "S3-compute-ratio", "S3-sparse", "S3-sparse-flops"]
    assert verdicts["S3-storage-ratio"] == verdicts["S3-compute-ratio"] == "holds approximately"
    assert all(v == "holds" for k, v in verdicts.items() if k not in ("S3-storage-ratio", "S3-compute-ratio"))
    assert found["S3-compute-ratio"].relative_error == pytest.approx((60_000 - 59_733) / 59_733)
    # a 100x100 image makes the caption's numbers wrong: the audit must say so
    verdicts = {i: f.verdict for i, f in _caption_findings(100, 100).items()}
    assert verdicts["S3-shape"] == verdicts["S3-conv-flops"] == verdicts["S3-sparse"] == "wrong"
    assert verdicts["S3-matrix-size"] == verdicts["S3-compute-ratio"] == "wrong"
    assert verdicts["S3-sparse-flops"] == "holds"  # true for every size


def test_quoted_values_are_the_documents():
    assert claims.quoted("S3-compute-ratio") == 60_000 and claims.quoted("S4-naive-ops") == 854
    assert claims.quoted("S0-compute") is None  # qualitative


def test_a_two_part_claim_says_which_half_holds():
    """GoogLeNet's 22 layers (counted independently in tests/test_inception.py) hold; the
    ratio 1/12 does not: the verdict is the worse half's, and the note names both."""
    row = claims.evaluate("S4-googlenet-alexnet")
    assert row.verdict == "wrong"
    assert "'22 layers' holds" in row.note and "'1/12' wrong" in row.note


SOURCES = HERE.parent.parent / "shared" / "sources"
# what each source document says of itself: its first line is its title; the date it states, if any
STATED_DATES = {"src002": "2023-06-09", "src003": "2019-08-31", "src004": "2019-12-11"}


@pytest.mark.skipif(not SOURCES.is_dir(), reason="the source documents are not beside this checkout")
def test_the_references_name_each_source_by_its_own_title_and_date_not_a_file():
    """A reader can find a source by what the references say: the title and date as the
    document states them (read from the documents here), never the course's file name."""
    from pybtex.database import parse_file

    entries = parse_file(str(HERE.parent / "references.bib")).entries
    for path in sorted(SOURCES.glob("*.txt")):
        key = "src" + path.name[:3]
        text, entry = path.read_text(encoding="utf-8"), entries[key]
        title = entry.fields["title"]
        heading = [line.strip().removeprefix("title: ") for line in text.splitlines()[:6]]
        assert title in heading, (key, title)  # the document's own heading (or front-matter title)
        note = entry.fields["note"]
        assert path.name not in note and ".txt" not in note and "source file" not in note, key
        if key in STATED_DATES:
            assert STATED_DATES[key] in text and STATED_DATES[key] in note, key
            assert entry.fields["year"] == STATED_DATES[key][:4]
        else:
            assert not re.search(r"20\d\d-\d\d-\d\d", text) and entry.fields["year"] == "n.d.", key

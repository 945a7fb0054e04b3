"""``python -m cnnlib.claims [--json] [ids...]``: the claims audit as a _table, or as JSON."""

import argparse
import json
import sys
from dataclasses import asdict

from cnnlib import claims


def _table(rows):
    """The rows as a plain-text _table, one claim a line (its note below it), and the count of each verdict."""
    lines = []
    width = max(len(r.id) for r in rows)
    for r in rows:
        lines.append(f"{r.id:<{width}}  {r.verdict:<20} claimed {r.claimed:<16} computed {r.computed}")
        if r.note:
            lines.append(f"{'':<{width}}  {'':<20} {r.note}")
    counts = {v: sum(r.verdict == v for r in rows) for v in claims.VERDICTS}
    lines.append("")
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()) + f" ({len(rows)} claims)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnlib.claims", description=claims.__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.add_argument("ids", nargs="*", help="only these claim ids")
    args = parser.parse_args(argv)
    unknown = [i for i in args.ids if i not in claims.REGISTRY]
    if unknown:
        parser.error(f"unknown claim id(s): {', '.join(unknown)}")
    rows = [claims.evaluate(i) for i in args.ids] if args.ids else claims.evaluate_all()
    if args.json:
        json.dump([asdict(r) for r in rows], sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Derive the cue prefilter's clauses of every shipped pattern and write them down.

    python scripts/cue_clauses.py [--check]

Compiles every pattern and guard of the shipped lists (``app/risk/cue_lists/{en,hi,hinglish}
.yaml``), derives each one's clauses (``app.risk.cues.prefilter.clauses``) and writes
``app/risk/cue_lists/clauses.json`` (``app.risk.cues.lists.KNOWN_CLAUSES``), which a server
start then reads instead of deriving them. Run it after editing a list; a start with an
edited pattern missing from the file still derives and compiles that one itself. ``--check``
writes nothing and exits 1 when the file differs from what the lists derive to (the tests
run it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.risk.cues import lists  # noqa: E402


def build() -> str:
    catalogue = lists.load_catalogue()
    items: list[lists.Pattern | lists.Guard] = []
    for name in lists.DEFAULT_LISTS:
        patterns, guards = lists.load_list(lists.LISTS_DIR / f"{name}.yaml", catalogue, known={})
        items += [*patterns, *guards]
    return lists.clauses_file(items) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = build()
    path = lists.KNOWN_CLAUSES
    if args.check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(
            "clauses match the lists"
            if same
            else f"{path.name} differs: run scripts/cue_clauses.py"
        )
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How often the cue detector flags ordinary chat: false alarms per everyday message.

    python bench/cue_everyday.py [--show]

The corpus (``bench/data/cue_corpus.jsonl``) is mostly risk messages and hard negatives, so
its precision says little about a chat in service, where nearly every message is ordinary.
``bench/data/cue_everyday.jsonl`` holds ordinary seeker messages with no risk cue (greetings,
small talk, everyday troubles, harmless dark-sounding words), written by someone who had not
read the patterns (``bench/data/LABELLING.md``). This prints the share of them flagged, by the
patterns alone and with the learned scorer, overall and per language form, with Wilson 95 %
intervals. ``--show`` lists the flagged messages and what flagged them: whoever reads them
to change a pattern or the scorer makes the set in-sample (say so beside the figure).
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import CueMatcher
from bench.cue_eval import load_corpus, wilson

EVERYDAY = Path(__file__).resolve().parent / "data" / "cue_everyday.jsonl"


def load(path: Path = EVERYDAY) -> list[dict]:
    return load_corpus(path)


def flagged(matcher: CueMatcher, rows: list[dict]) -> list[tuple[dict, list[str]]]:
    """Each flagged row with the references of what flagged it."""
    found = ((row, [m.pattern_ref for m in matcher.match(row["text"])]) for row in rows)
    return [(row, refs) for row, refs in found if refs]


def rate(k: int, n: int) -> str:
    low, high = wilson(k, n) or (0.0, 0.0)
    return f"{k:>3} of {n:<3} {k / n:6.3f} [{low:.3f}-{high:.3f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list the flagged messages")
    args = parser.parse_args(argv)
    rows = load()
    shipped = CueMatcher.default()
    forms = sorted({row["form"] for row in rows})
    for name, matcher in (("patterns", shipped.without_scorer()), ("patterns+scorer", shipped)):
        hits = flagged(matcher, rows)
        print(f"== {name}: {len(rows)} everyday messages, false alarms")
        print(f"overall          {rate(len(hits), len(rows))}")
        for form in forms:
            n = sum(row["form"] == form for row in rows)
            k = sum(row["form"] == form for row, _ in hits)
            print(f"form:{form:<11} {rate(k, n)}")
        if args.show:
            for row, refs in hits:
                print(f"  {row['form']:<8} {', '.join(refs)} | {row['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

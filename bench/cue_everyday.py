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

Two more sets, written at session 29 by a colleague who had not read the patterns, each split
in half (``split``: ``dev`` and ``holdout``): ``cue_everyday_v2.jsonl`` (360 ordinary messages
with a ``topic``: school, food, health as prescribed, idiom ...) and ``cue_means_v2.jsonl``
(120 messages about medicines or poison as the means, with a ``kind``: access, plan,
stockpiling, attempt now, a past attempt, asking). This prints, per split and form, the share
of the first flagged at all and as ``method_or_attempt`` (the class that alerts supervisors),
and the share of the second flagged. ``--show`` lists only ``dev`` rows (flagged everyday
ones, missed means ones): the ``holdout`` halves are read as figures only
(``bench/data/LABELLING.md``).
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import CueClass, CueMatcher
from bench.cue_eval import load_corpus, wilson

DATA = Path(__file__).resolve().parent / "data"
EVERYDAY = DATA / "cue_everyday.jsonl"
EVERYDAY_V2 = DATA / "cue_everyday_v2.jsonl"
MEANS_V2 = DATA / "cue_means_v2.jsonl"


def load(path: Path = EVERYDAY) -> list[dict]:
    return load_corpus(path)


def flagged(matcher: CueMatcher, rows: list[dict]) -> list[tuple[dict, list[str]]]:
    """Each flagged row with the references of what flagged it."""
    found = ((row, [m.pattern_ref for m in matcher.match(row["text"])]) for row in rows)
    return [(row, refs) for row, refs in found if refs]


def split_figures(matcher: CueMatcher, rows: list[dict]) -> dict[str, tuple[int, int, int]]:
    """Per split and per split and form: (rows, flagged, flagged method_or_attempt)."""
    figures: dict[str, tuple[int, int, int]] = {}
    for row in rows:
        found = matcher.match(row["text"])
        method = any(m.cue_class is CueClass.METHOD_OR_ATTEMPT for m in found)
        for key in (row["split"], f"{row['split']}:{row['form']}"):
            n, k, km = figures.get(key, (0, 0, 0))
            figures[key] = (n + 1, k + bool(found), km + method)
    return figures


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
    for path, what in ((EVERYDAY_V2, "false alarms"), (MEANS_V2, "flagged")):
        rows = load(path)
        for name, matcher in (("patterns", shipped.without_scorer()), ("patterns+scorer", shipped)):
            print(f"== {name}: {path.name}, {len(rows)} messages, {what}")
            for key, (n, k, km) in sorted(split_figures(matcher, rows).items()):
                print(f"{key:<17}{rate(k, n)}  method_or_attempt {km}")
            if args.show:
                for row in rows:
                    refs = [m.pattern_ref for m in matcher.match(row["text"])]
                    if row["split"] == "dev" and bool(refs) == (path == EVERYDAY_V2):
                        print(f"  {row['form']:<8} {', '.join(refs) or '-'} | {row['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

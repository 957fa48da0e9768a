"""Time the cue detector per message: patterns alone, and with the learned scorer.

    python bench/cue_speed.py [--rounds N]

Runs every corpus message, an everyday chat line (the common case) and a 3,000-character
message through ``CueMatcher.match`` and prints CPU µs per message; the learned scorer's
budget is 200 µs per message (issue #20). Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import CueMatcher, normalise
from bench.cue_eval import load_corpus


def per_message_us(fn, texts: list[str], rounds: int) -> float:
    """CPU time per call, the best of seven runs (other processes on a shared machine
    inflate wall-clock figures; CPU time of this process is what the chat path pays)."""
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        for _ in range(rounds):
            for text in texts:
                fn(text)
        best = min(best, time.process_time() - start)
    return best / (rounds * len(texts)) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    texts = [row["text"] for row in load_corpus()]
    everyday = ["hi, can we talk? i had a really long day at college and my roommate is loud"]
    rng = random.Random(1)
    vocabulary = " ".join([*everyday, "yaar kal exam hai padhai nahi hui मैं थक गया हूं"]).split()
    long = [" ".join(rng.choice(vocabulary) for _ in range(700))[:3000]]
    full = CueMatcher.default()
    patterns = full.without_scorer()
    scorer = full.scorer
    folded = [normalise(t) for t in texts]
    print(f"corpus: {len(texts)} messages, {args.rounds} rounds")
    rows = [
        ("patterns alone, us/msg", patterns.match, texts, args.rounds),
        ("patterns + scorer, us/msg", full.match, texts, args.rounds),
        ("everyday line, patterns alone, us", patterns.match, everyday, args.rounds * 200),
        ("everyday line, patterns + scorer, us", full.match, everyday, args.rounds * 200),
        ("3,000 characters, patterns alone, us", patterns.match, long, 1),
        ("3,000 characters, patterns + scorer, us", full.match, long, 1),
    ]
    if scorer is not None:
        rows.insert(2, ("scorer alone, us/msg", scorer.fires, folded, args.rounds))
    for label, fn, inputs, rounds in rows:
        print(f"{label:38} {per_message_us(fn, inputs, rounds):7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

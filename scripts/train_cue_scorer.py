"""Train the learned cue scorer from the labelled corpus and write its weights file.

    python scripts/train_cue_scorer.py [--check]

Reads the development split of ``bench/data/cue_corpus.jsonl`` (never the frozen split),
trains ``app.risk.cues.learned`` (no randomness: the same corpus gives the same bytes) and
writes ``app/risk/cue_lists/learned-v1.json``. ``--check`` writes nothing and exits 1 when
the shipped file differs from what the corpus gives (the tests run it).
Bump ``version`` in the weights (and the file name) when the feature scheme changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import cue_eval  # noqa: E402

from app.risk.cues import learned  # noqa: E402


def build() -> str:
    corpus = cue_eval.load_corpus()
    dev = [r for r in corpus if r["split"] == "dev"]
    detector = cue_eval.Detector(dev)
    return detector.fit(dev).to_json() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        same = learned.WEIGHTS.exists() and learned.WEIGHTS.read_text(encoding="utf-8") == text
        print("weights match the corpus" if same else "weights differ: retrain")
        return 0 if same else 1
    learned.WEIGHTS.write_text(text, encoding="utf-8")
    print(f"wrote {learned.WEIGHTS.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

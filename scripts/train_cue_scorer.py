"""Train the learned cue scorer from the labelled corpus and write its weights file.

    python scripts/train_cue_scorer.py [--check]

Reads the development split of ``bench/data/cue_corpus.jsonl`` (never the frozen split),
trains ``app.risk.cues.learned`` (no randomness: the same corpus gives the same bytes) and
writes ``app/risk/cue_lists/learned-v<VERSION>.json``, but only if the scorer earns its place in the
grouped evaluation that gates the detector (leave one pool out: it raises recall on the unseen
pool and precision stays >= 0.85);
otherwise it removes the file and the detector runs on patterns alone. ``--check`` writes
nothing and exits 1 when the shipped file differs from what the corpus gives (the tests run
it).
Bump ``learned.VERSION`` (the file name follows) whenever the weights change; remove the old
file.
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


def build() -> str | None:
    """The weights file's text, or None when the scorer does not earn its place: it must
    raise grouped recall without grouped precision falling below the gate's 0.85."""
    corpus = cue_eval.load_corpus()
    dev = [r for r in corpus if r["split"] == "dev"]
    detector = cue_eval.Detector(dev)
    if not cue_eval.scorer_earns_its_place(cue_eval.grouped(detector, dev)):
        return None
    return detector.fit(dev).to_json() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = build()
    shipped = learned.WEIGHTS.read_text(encoding="utf-8") if learned.WEIGHTS.exists() else None
    if args.check:
        same = shipped == text
        print("weights match the corpus" if same else "weights differ: retrain")
        return 0 if same else 1
    if text is None:
        learned.WEIGHTS.unlink(missing_ok=True)
        print("the scorer does not raise grouped recall at precision >= 0.85: no weights shipped")
        return 0
    learned.WEIGHTS.write_text(text, encoding="utf-8")
    print(f"wrote {learned.WEIGHTS.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

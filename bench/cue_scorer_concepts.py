"""The concept-feature experiment for the learned cue scorer (issue #20), reproducible.

    python bench/cue_scorer_concepts.py

Compares the shipped feature scheme (words + character 4-grams, ``learned.features``) with
the scheme that was tried and not adopted: the same plus the consonant skeleton of Latin
words and the concepts of ``bench/data/cue_concepts.yaml`` (single concepts and pairs,
counted twice). Prints, for each scheme:

- the development-only check the choice was made on: leave one family out over the rows
  the patterns were written from (``provenance: lexicon``; no unseen or frozen row), the
  scorer's ranking of the held-out family's rows (AUC);
- the grouped figure (``bench/cue_eval.py``'s, patterns + scorer) on the unseen pools.

README, "Cue detection", reports the run. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import learned, normalise
from bench import cue_eval

CONCEPTS = Path(__file__).parent / "data" / "cue_concepts.yaml"
_DEVANAGARI_VOWELS = str.maketrans({"ी": "ि", "ू": "ु", "ई": "इ", "ऊ": "उ"})
_VOWELS = str.maketrans("", "", "aeiou")


def _key(word: str) -> str:
    if word.isascii():
        return re.sub("oo+", "u", re.sub("ee+", "i", re.sub("aa+", "a", word)))
    return word.translate(_DEVANAGARI_VOWELS)


def concept_features() -> Callable[[str], set[str]]:
    table: dict[str, set[str]] = {}
    for concept, words in yaml.safe_load(CONCEPTS.read_text("utf-8"))["concepts"].items():
        for word in words:
            table.setdefault(_key(normalise(str(word))), set()).add(concept)
    shipped = learned.features

    def features(folded: str) -> set[str]:
        found = shipped(folded)
        tags: set[str] = set()
        for word in folded.split():
            if word.isascii() and len(word) >= 4 and len(word.translate(_VOWELS)) >= 2:
                found.add("s:" + word.translate(_VOWELS))
            tags |= table.get(_key(word), set())
        ordered = sorted(tags)
        pairs = [f"{a}+{b}" for i, a in enumerate(ordered) for b in ordered[i + 1 :]]
        for prefix in ("#", "##"):  # counted twice
            found.update(prefix + t for t in ordered + pairs)
        return found

    return features


def auc(pos: list[float], neg: list[float]) -> float:
    ranked = sorted(neg)
    wins = sum(
        bisect.bisect_left(ranked, p)
        + (bisect.bisect_right(ranked, p) - bisect.bisect_left(ranked, p)) / 2
        for p in pos
    )
    return wins / (len(pos) * len(neg))


def family_cv_auc(rows: list[dict]) -> float:
    detector = cue_eval.Detector(rows)
    pos: list[float] = []
    neg: list[float] = []
    for family in sorted({r["family"] for r in rows}):
        scorer = detector.fit(r for r in rows if r["family"] != family)
        for row in rows:
            if row["family"] == family:
                score = scorer.score(detector.folded[row["id"]])
                (pos if row["label"] == "risk" else neg).append(score)
    return auc(pos, neg)


def main() -> int:
    corpus = cue_eval.load_corpus()
    dev = [r for r in corpus if r["split"] == "dev"]
    written_from = [r for r in dev if r["provenance"] == "lexicon"]
    shipped = learned.features
    for name, scheme in (("shipped (w1+c4)", shipped), ("concepts (tried)", concept_features())):
        learned.features = scheme
        try:
            cv = family_cv_auc(written_from)
            g = cue_eval.grouped(cue_eval.Detector(dev), dev)["patterns+scorer"]["figures"]
        finally:
            learned.features = shipped
        o = g["overall"]
        print(
            f"{name:18} family-CV AUC (lexicon rows) {cv:.3f}; grouped patterns+scorer "
            f"recall {o['recall']:.3f} precision {o['precision']:.3f} (tp {o['tp']}, fp {o['fp']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The learned second signal: word and character n-grams, one linear model.

Model: a naive-Bayes log-count-ratio linear model (Wang & Manning 2012, the "NB" weights of
NBSVM) over binary features of the normalised text: words, character 4-grams inside words
(which carry spelling variants: "khudkshi", "marnaa", "मरूं") and, since weights v13,
character 5-grams across a word boundary (short phrases in any spelling). Of the schemes
first tried (words, word pairs, character 2- to 5-grams in five combinations) all gave
grouped recall 0.80-0.82 at precision 0.91-0.93, and words with 4-grams was the cheapest.
Session 22 compared seven more by leaving one family out over the development rows (aggregates
only): the boundary 5-grams ranked held-out families' messages best (AUC on the rows the
patterns miss 0.862 -> 0.879; word pairs 0.873, boundary 4- or 6-grams 0.871 and 0.870, all
5-grams of the text 0.877, 3- to 5-grams inside words 0.859). Its
score is ``bias + sum(weight[f] for f in features)``; it fires at ``score >= threshold``.
Training is one counting pass (no library, no randomness), so it is reproducible to the
byte from the corpus and runs in the tests' leave-one-family-out evaluation in well under a
second per fold. Inference is a few dozen dictionary look-ups: no network, no numpy.

Contract: the weights file (``app/risk/cue_lists/learned-v<VERSION>.json``) records its version,
the corpus digest it was trained on and the threshold; ``load`` refuses a file whose
feature scheme differs from this module's (``FEATURES``), so a change here needs a retrain.
The scorer says only "flag or not": the matcher turns a firing into a ``warning_sign`` cue.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from app.risk.cues.classes import CueClass, CueListError, CueMatch
from app.risk.cues.lists import LISTS_DIR

FEATURES = "w1+c4+x5/v2"
"""The feature scheme; part of the weights file, checked on load."""
VERSION = 17
"""The shipped weights' version: bumped whenever the weights change (a retrain on a new corpus
or a new feature scheme), so a ``learned/v<N>`` reference in an audit record names the weights
that raised it. v1: lexicon v3's corpus; v2: lexicon v4's corpus; v3: the same with the v7
pool (the feature scheme unchanged: concept features were tried and not adopted, README);
v4: lexicon v5's corpus with the v8 pool; v5: lexicon v6's with the v9 pool; v6: lexicon v7's
with the v10 pool, the t10 training rows and 48 everyday openers; v7: lexicon v8's with the v11
pool, the retired v8_frozen rows and the t11 rows; v8: lexicon v10's with the v12 and v13 pools
and the t12 rows; v9: lexicon v11's with the v14 pool and the retired v11_frozen rows; v10:
lexicon v12's with the v16 pool; v11: lexicon v13's with the v17 pool; v12: lexicon v14's with
the v18 pool and the retired v15_frozen rows; v13: feature scheme v2 (boundary 5-grams), the
t13 training rows and the v19 pool; v14: the same scheme with the v20 pool (v19 turned
lexicon); v15: the same with the v21 pool (v20 turned lexicon) and the retired v19_frozen rows;
v16: the same corpus under lexicon v16, whose narrower medicine lines changed which development
rows a pattern flags (session 29)."""
WEIGHTS = LISTS_DIR / f"learned-v{VERSION}.json"
ALPHA = 0.5
"""Additive smoothing of the feature counts."""
MIN_COUNT = 2
"""A feature seen in fewer training messages is dropped (keeps the file small and stable)."""


_IN_WORD_4 = re.compile(r"(?=([^ ]{4}))")
_SHORT_WORD = re.compile(r"(?<![^ ])<[^ ]>(?![^ ])")  # a padded word of one letter
_ACROSS_5 = re.compile(r"(?=(.(?: ...|. ..|.. .)))", re.DOTALL)  # a space at 2nd to 4th


def features(folded: str) -> set[str]:
    """Binary features of a normalised text: its words, the character 4-grams of each word
    padded with ``<`` and ``>`` (a word of one or two letters is its padded self), and the
    character 5-grams of the space-padded text that cross a word boundary (a space at their
    second, third or fourth character: "e to ", "o sle", "नहीं उ"), which carry short phrases
    in any spelling ("want to", "jeena nahi").

    ``folded`` is ``normalise``'s output: words split by single spaces, none at the ends. The
    n-grams are found by the regex engine, in C: every word padded at once ("<i> <want>
    <to>"), its 4-grams are the runs of four characters without a space; a Python loop of
    slices cost twice as much per message (the reference, ``tests/risk/test_cues.py``)."""
    found = set(folded.split())
    padded = "<" + folded.replace(" ", "> <") + ">"
    found.update(_IN_WORD_4.findall(padded))
    found.update(_SHORT_WORD.findall(padded))
    found.update(_ACROSS_5.findall(f" {folded} "))
    return found


@dataclass(frozen=True, slots=True)
class LearnedScorer:
    """A trained linear scorer; immutable and shared."""

    version: int
    bias: float
    threshold: float
    weights: dict[str, float] = field(repr=False)
    corpus_digest: str = ""

    @property
    def cue(self) -> CueMatch:
        return CueMatch(CueClass.WARNING_SIGN, "learned", f"learned/v{self.version}", "learned")

    def score(self, folded: str) -> float:
        return self.score_features(features(folded))

    def score_features(self, found: set[str]) -> float:
        """The score of a text whose ``features`` are already computed."""
        return self.bias + sum(map(self.weights.get, found, repeat(0.0, len(found))))

    def fires(self, folded: str) -> bool:
        return self.fires_on(features(folded))

    def fires_on(self, found: set[str]) -> bool:
        """Whether it fires on a text whose ``features`` are already computed."""
        return self.score_features(found) >= self.threshold

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "features": FEATURES,
                "corpus_digest": self.corpus_digest,
                "bias": self.bias,
                "threshold": self.threshold,
                "weights": self.weights,
            },
            ensure_ascii=False,
            sort_keys=True,
            indent=0,
        )


def train(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    version: int = 1,
    threshold: float = 0.0,
    feature_sets: Sequence[set[str]] | None = None,
) -> LearnedScorer:
    """Log-count-ratio weights from normalised ``texts`` and risk ``labels``
    (``feature_sets``: the texts' ``features``, when already computed)."""
    pos: Counter[str] = Counter()
    neg: Counter[str] = Counter()
    if feature_sets is None:
        feature_sets = [features(text) for text in texts]
    for found, label in zip(feature_sets, labels, strict=True):
        (pos if label else neg).update(found)  # counted in C: the tests train dozens of times
    df = pos + neg
    kept = sorted(f for f, n in df.items() if n >= MIN_COUNT)
    p_total = sum(pos.get(f, 0) for f in kept) + ALPHA * len(kept)
    q_total = sum(neg.get(f, 0) for f in kept) + ALPHA * len(kept)
    weights = {
        f: round(
            math.log((pos.get(f, 0) + ALPHA) / p_total)
            - math.log((neg.get(f, 0) + ALPHA) / q_total),
            4,
        )
        for f in kept
    }
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    bias = round(math.log(max(n_pos, 1) / max(n_neg, 1)), 4)
    return LearnedScorer(version, bias, threshold, weights, corpus_digest(texts, labels))


def corpus_digest(texts: Iterable[str], labels: Iterable[bool]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{int(label)}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def load(path: Path = WEIGHTS) -> LearnedScorer | None:
    """The shipped scorer, or None when no weights file is shipped."""
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw["features"] != FEATURES:
            raise CueListError(
                f"learned weights {path}: feature scheme {raw['features']!r} != {FEATURES!r};"
                " retrain with scripts/train_cue_scorer.py"
            )
        return LearnedScorer(
            version=int(raw["version"]),
            bias=float(raw["bias"]),
            threshold=float(raw["threshold"]),
            weights={str(k): float(v) for k, v in raw["weights"].items()},
            corpus_digest=str(raw.get("corpus_digest", "")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, CueListError):
            raise
        raise CueListError(f"learned weights {path}: {exc}") from exc


INNER_FOLDS = 4
"""Family buckets of the inner cross-validation that picks the threshold."""
PRECISION_FLOOR = 0.95
"""The threshold is the lowest whose out-of-fold precision of patterns-or-scorer stays at or
above this (the gate is 0.85; the margin absorbs the fold-to-fold spread: with an earlier
feature scheme, 0.92 and 0.88 let grouped precision fall to 0.84 and 0.76; see README)."""


def fit(
    texts: Sequence[str],
    labels: Sequence[bool],
    families: Sequence[str],
    pattern_hits: Sequence[bool],
    *,
    version: int = VERSION,
    feature_sets: Sequence[set[str]] | None = None,
) -> LearnedScorer:
    """Train on everything and choose the threshold by grouped cross-validation.

    ``texts`` are normalised; ``families`` group the rows (a fold never trains on the family
    it is scored on); ``pattern_hits`` says whether the patterns flag each row, since the
    scorer is only asked when they do not: the threshold is the lowest at which the combined
    out-of-fold precision stays at or above ``PRECISION_FLOOR``. ``feature_sets``: the texts'
    ``features``, when already computed (an evaluation fits many times on the same rows).
    """
    names = sorted(set(families))
    bucket = {name: i % INNER_FOLDS for i, name in enumerate(names)}
    found = [features(text) for text in texts] if feature_sets is None else feature_sets
    oof = [0.0] * len(texts)
    for fold in range(INNER_FOLDS):
        train_at = [i for i, f in enumerate(families) if bucket[f] != fold]
        test_at = [i for i, f in enumerate(families) if bucket[f] == fold]
        if not train_at or not test_at:
            continue
        model = train(
            [texts[i] for i in train_at],
            [labels[i] for i in train_at],
            feature_sets=[found[i] for i in train_at],
        )
        for i in test_at:
            oof[i] = model.score_features(found[i])
    threshold = _lowest_threshold(oof, labels, pattern_hits)
    return train(texts, labels, version=version, threshold=threshold, feature_sets=found)


def _lowest_threshold(
    scores: Sequence[float], labels: Sequence[bool], pattern_hits: Sequence[bool]
) -> float:
    base_tp = sum(1 for y, h in zip(labels, pattern_hits, strict=True) if y and h)
    base_fp = sum(1 for y, h in zip(labels, pattern_hits, strict=True) if not y and h)
    # Rows the patterns miss, highest score first: lowering the threshold adds them in order.
    rest = sorted(
        ((s, y) for s, y, h in zip(scores, labels, pattern_hits, strict=True) if not h),
        reverse=True,
    )
    best = max(s for s, _ in rest) + 1.0 if rest else 1e9
    tp, fp = base_tp, base_fp
    for index, (score, label) in enumerate(rest):
        tp += label
        fp += not label
        tied = index + 1 < len(rest) and rest[index + 1][0] == score
        if not tied and tp / (tp + fp) >= PRECISION_FLOOR:
            best = score
    return round(best, 4)

"""The labelled corpus and the grouped evaluation that gates the cue detector."""

import collections
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cue_eval

from app.risk.cues import learned
from app.risk.cues.lists import load_catalogue

FALSE_ALARM_KINDS = {"prescribed", "pet", "third_person", "idiom", "hyperbole", "lyrics"}
FALSE_ALARM_KINDS |= {"past_recovery"}


@pytest.fixture(scope="module")
def corpus():
    return cue_eval.load_corpus()


@pytest.fixture(scope="module")
def report(corpus):
    return cue_eval.evaluate(corpus)


def test_corpus_is_large_tagged_and_mostly_indian_language(corpus):
    families = set(load_catalogue())
    assert len(corpus) >= 800
    assert len({r["id"] for r in corpus}) == len(corpus)
    forms = collections.Counter(r["form"] for r in corpus)
    assert set(forms) == {"en", "hi", "hinglish"}
    assert (forms["hi"] + forms["hinglish"]) / len(corpus) >= 0.30
    for row in corpus:
        assert row["family"] in families, row["id"]
        assert row["label"] in {"risk", "none"}
        assert row["split"] in {"dev", "frozen"} and row["provenance"] in {"lexicon", "unseen"}
        assert (row["cue_class"] is None) == (row["label"] == "none"), row["id"]
    kinds = {r["kind"] for r in corpus if r["label"] == "none"}
    assert FALSE_ALARM_KINDS <= kinds
    frozen = [r for r in corpus if r["split"] == "frozen"]
    assert len(frozen) >= 100 and all(r["provenance"] == "unseen" for r in frozen)


def test_figures_carry_confidence_intervals_per_family_class_and_form(report):
    figures = report["grouped"]["patterns+scorer"]["figures"]
    assert {"overall", "form:hi", "form:hinglish", "class:warning_sign"} <= set(figures)
    assert any(group.startswith("family:") for group in figures)
    low, high = figures["overall"]["recall_ci"]
    assert low <= figures["overall"]["recall"] <= high


def test_figures_are_given_per_pool(report):
    figures = report["grouped"]["patterns+scorer"]["figures"]
    assert {"pool:v11"} <= set(figures)


def test_the_frozen_split_never_shows_its_messages(report):
    for part in report["frozen"].values():
        assert part["false_negatives"] == [] and part["false_positives"] == []


def test_weights_ship_only_when_the_scorer_earns_its_place(report):
    # Kept only if it raises grouped recall without making grouped precision fall below
    # 0.85 (bench/cue_eval.py, scorer_earns_its_place; README).
    assert (learned.load() is not None) == report["gate"]["scorer_kept"]


# The grouped figure's floor, per pool of unseen rows: the pool's first measured figure
# (README, "Cue detection"). A change may not lower it. A new pool (rows of a new origin
# written after a lexicon change) gets its own first figure here; an old pool whose misses
# were read is no longer unseen and leaves the grouped figure.
GROUPED_FLOORS = {("v11",): (0.83, 0.85)}


def test_grouped_figures_do_not_regress(corpus, report):
    pool = tuple(
        sorted({r["origin"] for r in corpus if r["split"] == "dev" and r["provenance"] == "unseen"})
    )
    assert pool in GROUPED_FLOORS, f"new unseen pool {pool}: record its first figure"
    recall_floor, precision_floor = GROUPED_FLOORS[pool]
    grouped = report["grouped"]["patterns+scorer"]["figures"]["overall"]
    assert grouped["recall"] >= recall_floor and grouped["precision"] >= precision_floor


@pytest.mark.xfail(
    strict=True,
    reason="issue #20's gate is not met: grouped recall 0.84 < 0.95 (precision 0.86 >= 0.85)"
    " on the v11 pool (README, Cue detection)",
)
def test_grouped_evaluation_meets_the_gate(report):
    assert report["gate"]["met"], report["gate"]

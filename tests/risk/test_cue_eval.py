"""The labelled corpus and the grouped evaluation that gates the cue detector."""

import collections
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cue_eval

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


def test_the_frozen_split_never_shows_its_messages(report):
    for part in report["frozen"].values():
        assert part["false_negatives"] == [] and part["false_positives"] == []


def test_the_learned_scorer_earns_its_place_on_unseen_families(report):
    # Kept only if it raises grouped recall without grouped precision below 0.85.
    assert report["gate"]["scorer_kept"]


def test_grouped_figures_do_not_regress(report):
    # A floor at the figures of lexicon v3 (README): a change may not lower them.
    grouped = report["grouped"]["patterns+scorer"]["figures"]["overall"]
    assert grouped["recall"] >= 0.81 and grouped["precision"] >= 0.85


@pytest.mark.xfail(
    strict=True,
    reason="issue #20's gate is not met yet: grouped recall 0.83 < 0.95 (README, Risk cues)",
)
def test_grouped_evaluation_meets_the_gate(report):
    assert report["gate"]["met"], report["gate"]

"""False alarms on ordinary chat (``bench/cue_everyday.py``): the everyday set's first figure is
a ceiling that a change to the patterns or the scorer may not raise."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cue_everyday

from app.risk.cues import CueMatcher

# Ceilings out of 300 (README, "Cue detection"): the first figures were 2 and 15 (session 14,
# lexicon v7, weights v6; 13 with weights v7). Weights v8 (lexicon v10) flagged 16, raised on
# purpose for the scorer's 0.08 of grouped recall on the v13 pool; weights v9 (lexicon v11)
# flag 14, weights v10 (lexicon v12) 13, weights v11 (lexicon v13) 12, weights v12 (lexicon v14)
# 12; weights v13 (feature scheme v2) 14, raised on purpose: the boundary 5-grams ranked held-out
# families better on the development rows and caught 3 more of the v19 pool's 179 risk rows;
# the old scheme on the same corpus flags 9 (README); weights v14 (the v19 pool as training
# rows) 11, weights v15 (the v20 and v21 pools and the retired v19_frozen rows too) 10, weights
# v16 (lexicon v16) 10.
CEILINGS = {"patterns": 2, "patterns+scorer": 10}

# The session-29 sets (each half dev, half holdout): method_or_attempt flags on the 180 everyday
# messages of a half at most, and means messages of a half flagged at least. Lexicon v15 with
# weights v15 gave 8 and 6 method flags (dev, holdout), lexicon v16 5 and 2; the means halves
# 47 and 44 with the patterns, 56 and 53 with the scorer, under both; then lines written from
# the dev half's misses: 59 and 44, 59 and 53; then guards for a drink called poison, from the
# dev half: 2 and 2 method flags.
V2_METHOD_CEILINGS = {"dev": 2, "holdout": 2}
V2_MEANS_FLOORS = {
    "patterns": {"dev": 59, "holdout": 44},
    "patterns+scorer": {"dev": 59, "holdout": 53},
}


def test_the_everyday_set_is_ordinary_chat_in_all_three_forms():
    rows = cue_everyday.load()
    assert len(rows) >= 300
    assert {row["form"] for row in rows} == {"en", "hinglish", "hi"}
    assert len({row["text"] for row in rows}) == len(rows)


def test_false_alarms_on_everyday_messages_do_not_rise():
    rows = cue_everyday.load()
    shipped = CueMatcher.default()
    found = {
        "patterns": cue_everyday.flagged(shipped.without_scorer(), rows),
        "patterns+scorer": cue_everyday.flagged(shipped, rows),
    }
    for name, hits in found.items():
        assert len(hits) <= CEILINGS[name], f"{name}: more everyday messages flagged than before"


def test_the_v2_sets_are_what_labelling_md_describes():
    everyday, means = (
        cue_everyday.load(cue_everyday.EVERYDAY_V2),
        cue_everyday.load(cue_everyday.MEANS_V2),
    )
    assert (len(everyday), len(means)) == (360, 120)
    for rows in (everyday, means):
        assert {row["split"] for row in rows} == {"dev", "holdout"}
        assert {row["form"] for row in rows} == {"en", "hinglish", "hi"}
        assert len({row["text"] for row in rows}) == len(rows)


def test_method_alarms_on_everyday_chat_do_not_rise_and_the_means_are_still_flagged():
    shipped = CueMatcher.default()
    everyday = cue_everyday.split_figures(shipped, cue_everyday.load(cue_everyday.EVERYDAY_V2))
    for split, ceiling in V2_METHOD_CEILINGS.items():
        assert everyday[split][2] <= ceiling, f"{split}: more everyday messages flagged as a method"
    means_rows = cue_everyday.load(cue_everyday.MEANS_V2)
    for name, matcher in (("patterns", shipped.without_scorer()), ("patterns+scorer", shipped)):
        means = cue_everyday.split_figures(matcher, means_rows)
        for split, floor in V2_MEANS_FLOORS[name].items():
            assert means[split][1] >= floor, f"{name}, {split}: fewer means messages flagged"


def test_the_report_prints_rates_per_form(capsys):
    assert cue_everyday.main([]) == 0
    out = capsys.readouterr().out
    assert "== patterns+scorer: 300 everyday messages" in out
    assert "form:hinglish" in out and "|" not in out  # messages only with --show
    assert "== patterns: cue_means_v2.jsonl, 120 messages, flagged" in out
    assert "holdout:hi" in out

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
# rows) 11, weights v15 (the v20 and v21 pools and the retired v19_frozen rows too) 10.
CEILINGS = {"patterns": 2, "patterns+scorer": 10}


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


def test_the_report_prints_rates_per_form(capsys):
    assert cue_everyday.main([]) == 0
    out = capsys.readouterr().out
    assert "== patterns+scorer: 300 everyday messages" in out
    assert "form:hinglish" in out and "|" not in out  # messages only with --show

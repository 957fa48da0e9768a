"""Pure rules of learning in service: a paraphrase is never the seeker's words; references
name their family."""

import pytest

from app.chat import retention_rules
from app.risk.feedback import MarkStatus, _family, flag_families, too_close


@pytest.mark.parametrize(
    ("paraphrase", "original", "close"),
    [
        ("I took 800 mg of something!", "i took 800mg of something", True),
        ("i took 800mg of something tonight", "i took 800mg of something", True),
        ("took", "i took 800mg of something", True),  # contained in the message
        ("a student swallowed a lot of tablets", "i took 800mg of something", False),
        ("मैं मरना चाहता हूँ", "मैं मरना चाहता हूं", True),  # the same once folded
        ("jeene ka mann nahi karta ab", "मैं मरना चाहता हूं", False),
    ],
)
def test_a_paraphrase_too_close_to_the_message_is_refused(paraphrase, original, close):
    assert too_close(paraphrase, original) is close


def test_pattern_references_name_their_family():
    assert _family("en/passive_wish#3") == "passive_wish"
    assert _family("hi/means_medicine#0") == "means_medicine"
    assert _family("learned/v1") == "learned"
    assert _family("en/first_person_ideation#2") == "first_person_ideation"  # before v3


def test_a_flag_counts_under_the_families_its_record_names_else_its_references():
    recorded = {"patterns": ["en/passive_wish#3"], "families": ["hopelessness", "passive_wish"]}
    assert flag_families(recorded) == ["hopelessness", "passive_wish"]
    older = {"patterns": ["hi/means_poison#1", "en/means_poison#0", "learned/v1"]}
    assert flag_families(older) == ["learned", "means_poison"]


def test_retention_expires_exactly_the_marks_still_waiting_for_review():
    assert set(retention_rules.CUE_MARKS_REVIEWABLE) == {MarkStatus.OPEN, MarkStatus.REVIEWED}
    assert retention_rules.CUE_MARK_EXPIRED == MarkStatus.EXPIRED

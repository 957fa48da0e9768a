"""Pure rules of learning in service: a paraphrase is never the seeker's words; references
name their family."""

import pytest

from app.risk.feedback import _family, too_close


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

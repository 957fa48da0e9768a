"""What a cue sets off, decided without a database."""

from __future__ import annotations

import pytest

from app.risk.cue_response import (
    CUE_PRIORITY,
    alerts_supervisors,
    queue_priority,
    screen_answers_alert,
)
from app.risk.cues import CueClass


def test_a_method_or_attempt_before_any_screen_alerts_supervisors():
    assert alerts_supervisors(CueClass.METHOD_OR_ATTEMPT, screened=False)


def test_after_a_screen_a_method_cue_no_longer_alerts():
    assert not alerts_supervisors(CueClass.METHOD_OR_ATTEMPT, screened=True)


@pytest.mark.parametrize("cue", [CueClass.WARNING_SIGN, CueClass.FIRST_PERSON_IDEATION])
def test_other_cues_never_alert(cue: CueClass):
    assert not alerts_supervisors(cue, screened=False)


def test_a_cue_raises_queue_priority_by_its_class_and_never_lowers_it():
    assert queue_priority(0, CueClass.WARNING_SIGN) == CUE_PRIORITY[CueClass.WARNING_SIGN]
    stronger = queue_priority(0, CueClass.METHOD_OR_ATTEMPT)
    assert stronger > queue_priority(0, CueClass.FIRST_PERSON_IDEATION) > 0
    assert queue_priority(stronger, CueClass.WARNING_SIGN) == stronger


def test_the_first_screen_after_a_method_cue_answers_the_alert():
    cues = [CueClass.WARNING_SIGN, CueClass.METHOD_OR_ATTEMPT]
    assert screen_answers_alert(cues, screened_before=False)


def test_a_later_screen_or_a_chat_without_a_method_cue_answers_no_alert():
    assert not screen_answers_alert([CueClass.METHOD_OR_ATTEMPT], screened_before=True)
    cues = [CueClass.WARNING_SIGN, CueClass.FIRST_PERSON_IDEATION]
    assert not screen_answers_alert(cues, screened_before=False)
    assert not screen_answers_alert([], screened_before=False)

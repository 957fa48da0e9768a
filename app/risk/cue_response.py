"""What a cue in a seeker's words sets off: pure rules, no database.

A cue flags for a human; it never sets a level. It moves a waiting seeker ahead in the queue
(``queue_priority``), and a method or attempt mentioned before any screen is done alerts the
on-call supervisors and admins at once (``alerts_supervisors``), until the conversation's first
screen answers it (``screen_answers_alert``).
"""

from __future__ import annotations

from collections.abc import Iterable

from app.risk.cues import CueClass

# Queue priority a cue gives a waiting seeker (higher is served first).
CUE_PRIORITY = {
    CueClass.WARNING_SIGN: 10,
    CueClass.FIRST_PERSON_IDEATION: 20,
    CueClass.METHOD_OR_ATTEMPT: 30,
}


def queue_priority(current: int, cue_class: CueClass) -> int:
    """The conversation's priority after this cue: never lowered."""
    return max(current, CUE_PRIORITY[cue_class])


def alerts_supervisors(cue_class: CueClass, *, screened: bool) -> bool:
    """True when this cue alerts every on-call supervisor and admin: a method or attempt,
    and no risk screen has been submitted in the conversation yet."""
    return cue_class is CueClass.METHOD_OR_ATTEMPT and not screened


def screen_answers_alert(cue_classes: Iterable[CueClass], *, screened_before: bool) -> bool:
    """True when a submitted screen answers the supervisors' method-cue alert: it is the
    conversation's first screen, and a method or attempt was flagged in it before."""
    return not screened_before and CueClass.METHOD_OR_ATTEMPT in set(cue_classes)

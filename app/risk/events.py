"""Risk facts in a conversation (``app.outbound`` decides who hears them: staff only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RiskAssessed:
    conversation_id: str
    level: str  # the conversation's level: never lower than before
    assessed_level: str  # what this assessment scored
    reasons: tuple[str, ...]
    actions: tuple[str, ...]
    note: str | None


@dataclass(frozen=True, slots=True)
class CueFlagged:
    """A seeker's message (``seq``) carries a warning sign; never the matched words."""

    conversation_id: str
    seq: int
    cue_class: str
    families: tuple[str, ...] = ()  # the lexicon families that fired (for counts only)


@dataclass(frozen=True, slots=True)
class MethodCueAlerted:
    """A method or attempt was mentioned before any screen (or a volunteer has just taken a
    chat where one was, still unscreened): these supervisors are alerted."""

    conversation_id: str
    seq: int
    supervisor_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MethodCueScreened:
    """The conversation's first screen was submitted after a method or attempt was flagged
    in it: the supervisors' method-cue alert no longer stands (no more are sent for it)."""

    conversation_id: str
    level: str  # the conversation's level after the screen


@dataclass(frozen=True, slots=True)
class MethodCueEnded:
    """A chat whose method-cue alert still stood (a method or attempt flagged, no screen
    yet) has ended or was abandoned: the alert no longer stands (no more are sent for it, and
    ``GET /api/v1/method-cues`` no longer lists it)."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class MethodCueView:
    """A chat whose method-cue alert still stands (``GET /api/v1/method-cues``): a method or
    attempt was flagged in it and no screen has been submitted since."""

    conversation_id: str
    seq: int  # the newest seeker message flagged method_or_attempt
    flagged_at: datetime  # when that message was flagged
    level: str  # the conversation's level (a risk.concern may have raised it, not a screen)
    status: str  # active, or waiting when the chat went back to the queue


@dataclass(frozen=True, slots=True)
class ChecklistProgress:
    """Where a checklist stands (the reply to each step, and part of a staff resume)."""

    conversation_id: str
    assessment_id: str
    item: dict[str, Any] | None  # the next item as shown, in the conversation's language
    answers: dict[str, str]
    answered: list[dict[str, Any]]  # the answered items in the order asked, each rendered
    position: int  # the next question's number among those asked
    about_total: int  # about how many there will be
    provisional_level: str


@dataclass(frozen=True, slots=True)
class CueMarked:
    """Staff marked a seeker message: a missed cue, or a flag that was not a risk."""

    conversation_id: str
    seq: int
    mark_id: str
    kind: str
    families: tuple[str, ...] = ()  # the flag's lexicon families (none for ``missed``)
    patterns: tuple[str, ...] = ()  # the flag's pattern references (none for ``missed``)

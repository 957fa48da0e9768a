"""Escalation facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EscalationView:
    """An escalation as staff see it."""

    escalation_id: str
    conversation_id: str
    level: str
    source: str
    reason: str | None
    status: str
    tier: str
    pages: int
    opened_at: datetime
    age_s: int
    ack_deadline: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class EscalationPaged:
    """These supervisors/admins were paged (page number ``escalation.pages``)."""

    escalation: EscalationView
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalationUpdated:
    """An escalation opened, rose, was paged again, acknowledged or resolved.
    ``volunteer_id``: the conversation's volunteer, if one took it."""

    escalation: EscalationView
    volunteer_id: str | None


@dataclass(frozen=True, slots=True)
class NobodyOnCall:
    """No supervisor is on call; with an escalation when one needs them now."""

    escalation_id: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class CooldownStarted:
    volunteer_id: str
    conversation_id: str
    until: datetime


@dataclass(frozen=True, slots=True)
class StaffEntered:
    """A supervisor joined (``mode`` "joined") or took over ("lead"): the seeker sees it."""

    conversation_id: str
    staff_alias: str
    mode: str


@dataclass(frozen=True, slots=True)
class WhisperWritten:
    conversation_id: str
    whisper_id: str
    sender_role: str
    sender_alias: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class FlaggedWaiting:
    """The group of flagged seekers waiting changed, was paged (``alert``) or acknowledged.
    ``to``: the supervisors and admins a page is for (the audit names them)."""

    count: int
    oldest_wait_s: int
    alert: bool
    pages: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    sent_at: datetime

"""Emergency share facts (``app.outbound`` decides who hears them). None carries what the
seeker shared: only that they did, and of which kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ShareView:
    """A request as its supervisor sees it, without its contents."""

    share_id: str
    escalation_id: str
    conversation_id: str
    status: str
    requested_at: datetime
    answered_at: datetime | None
    has_phone: bool
    has_location: bool
    delete_by: datetime | None
    deleted_at: datetime | None
    deleted_reason: str | None


@dataclass(frozen=True, slots=True)
class ShareRequested:
    """The seeker is asked: their sockets show the request."""

    seeker_id: str
    share_id: str
    conversation_id: str
    supervisor_alias: str
    keep_hours: int
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ShareWithdrawn:
    """A request the seeker had not answered ended with its escalation."""

    seeker_id: str
    share_id: str
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ShareChanged:
    """Requested, answered or deleted: for the supervisor who asked."""

    supervisor_id: str
    share: ShareView

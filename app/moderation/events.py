"""Moderation facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeekerReported:
    """A member of staff reported the seeker of this conversation as abusive."""

    conversation_id: str
    reporter_role: str


@dataclass(frozen=True, slots=True)
class SeekerBlocked:
    """A supervisor or admin blocked the seeker of this conversation."""

    conversation_id: str
    volunteer_id: str | None

"""Referral facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ReferralCard:
    """The helpline card a seeker is shown (offered now, or again on resume)."""

    conversation_id: str
    referral_id: str
    intro: str  # in the seeker's language
    emergency: str | None  # imminent risk only
    helplines: tuple[dict[str, Any], ...]  # as ``Helpline.render`` gives them


@dataclass(frozen=True, slots=True)
class ReferralView:
    referral_id: str
    conversation_id: str
    helpline_ids: tuple[str, ...]
    level: str
    status: str
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime
    next_step: str | None


@dataclass(frozen=True, slots=True)
class ReferralUpdated:
    """A referral was offered or moved. ``volunteer_id``: the conversation's volunteer."""

    referral: ReferralView
    volunteer_id: str | None

"""Referral frames."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.chat.protocol import Frame, Id


class ReferralOffer(Frame):
    type: Literal["referral.offer"]
    conversation_id: Id
    helpline_ids: list[Id] = Field(default_factory=list, max_length=10)


class ReferralUpdate(Frame):
    type: Literal["referral.update"]
    referral_id: Id
    status: str = Field(min_length=1, max_length=16)
    reason: str | None = Field(None, max_length=500)


class HelplineVerify(BaseModel):
    """POST /api/v1/helplines/{id}/verify: the day the numbers were confirmed (default today)."""

    model_config = ConfigDict(extra="forbid")

    verified_on: date | None = None

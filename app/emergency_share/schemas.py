"""Emergency share frames a client may send (docs/protocol.md, Consented emergency share)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.chat.protocol import Frame, Id

# Checked by the service (``text_too_long``); these bounds only keep a frame small.
MAX_PHONE_CHARS = 40
MAX_LOCATION_CHARS = 500


class EmergencyShareAsk(Frame):
    type: Literal["emergency_share.ask"]
    escalation_id: Id


class EmergencyShareAnswer(Frame):
    type: Literal["emergency_share.answer"]
    request_id: Id
    share: bool
    phone: str | None = Field(None, max_length=2000)
    location: str | None = Field(None, max_length=2000)

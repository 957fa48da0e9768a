"""Emergency share frames a client may send (docs/protocol.md, Consented emergency share)."""

from __future__ import annotations

from typing import Literal

from app.chat.protocol import Frame, Id

# Checked by the service after trimming (``text_too_long``); the frame's own size limit
# (WS_MAX_FRAME_CHARS) bounds what arrives.
MAX_PHONE_CHARS = 40
MAX_LOCATION_CHARS = 500


class EmergencyShareAsk(Frame):
    type: Literal["emergency_share.ask"]
    escalation_id: Id


class EmergencyShareAnswer(Frame):
    type: Literal["emergency_share.answer"]
    request_id: Id
    share: bool
    phone: str | None = None
    location: str | None = None

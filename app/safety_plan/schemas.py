"""Safety plan frames a client may send (docs/protocol.md, Safety plan)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.chat.protocol import Frame, Id

# An entry's length is checked after trimming, against the plan file's limit
# (``text_too_long``, however long); the frame's own size limit (WS_MAX_FRAME_CHARS) bounds
# what arrives.
Entry = str


class SafetyPlanOpen(Frame):
    type: Literal["safety_plan.open"]
    conversation_id: Id


class SafetyPlanUpdate(Frame):
    type: Literal["safety_plan.update"]
    conversation_id: Id
    step: str = Field(min_length=1, max_length=40)
    items: list[Entry] = Field(max_length=50)

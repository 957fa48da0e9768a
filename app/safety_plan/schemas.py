"""Safety plan frames a client may send (docs/protocol.md, Safety plan)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.chat.protocol import Frame, Id

Entry = Annotated[str, Field(max_length=2000)]  # the plan file's own limit is checked after


class SafetyPlanOpen(Frame):
    type: Literal["safety_plan.open"]
    conversation_id: Id


class SafetyPlanUpdate(Frame):
    type: Literal["safety_plan.update"]
    conversation_id: Id
    step: str = Field(min_length=1, max_length=40)
    items: list[Entry] = Field(max_length=50)

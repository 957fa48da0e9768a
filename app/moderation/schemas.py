"""Moderation frames."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.chat.protocol import Frame, Id


class SeekerReport(Frame):
    type: Literal["seeker.report"]
    conversation_id: Id
    note: str | None = Field(None, max_length=500)


class SeekerBlock(Frame):
    type: Literal["seeker.block"]
    conversation_id: Id
    note: str | None = Field(None, max_length=500)

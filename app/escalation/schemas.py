"""Escalation and supervisor frames."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.chat.protocol import Frame, Id, MessageText
from app.escalation.machine import Outcome
from app.risk.schemas import Reason


class EscalationRaise(Frame):
    type: Literal["escalation.raise"]
    conversation_id: Id
    reason: Reason


class OnCallSet(Frame):
    type: Literal["oncall.set"]
    on_call: bool


class EscalationAck(Frame):
    type: Literal["escalation.ack"]
    escalation_id: Id


class FlaggedAck(Frame):
    type: Literal["flagged.ack"]


class EscalationResolve(Frame):
    type: Literal["escalation.resolve"]
    escalation_id: Id
    outcome: Outcome = Field(strict=False)  # the enum from its JSON string
    note: str | None = Field(None, max_length=1000)


class ConversationObserve(Frame):
    type: Literal["conversation.observe"]
    conversation_id: Id


class ConversationJoin(Frame):
    type: Literal["conversation.join"]
    conversation_id: Id


class ConversationTakeover(Frame):
    type: Literal["conversation.takeover"]
    conversation_id: Id


class ChatWhisper(Frame):
    type: Literal["chat.whisper"]
    conversation_id: Id
    text: MessageText


class ResolveBody(BaseModel):
    """POST /api/v1/escalations/{id}/resolve: an unknown outcome is 422 invalid_request."""

    outcome: Outcome
    note: str | None = Field(None, max_length=1000)

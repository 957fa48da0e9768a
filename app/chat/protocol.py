"""Chat and queue frames: what a client may send, and how server frames are written.

Inbound frames are pydantic models keyed by ``type`` (the WebSocket layer builds the
discriminated union from every registered model). Outbound frames are serialised once, here,
and the same string goes to every recipient. The wording of each frame is in
docs/protocol.md.
"""

from __future__ import annotations

import json
import json.encoder
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

MAX_TEXT_CHARS = 4000


def _message_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("text_empty", "text is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise PydanticCustomError(
            "text_too_long", "text is over {limit} characters", {"limit": MAX_TEXT_CHARS}
        )
    return value


MessageText = Annotated[str, AfterValidator(_message_text)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Topic = Annotated[str, Field(min_length=1, max_length=40)]


class Frame(BaseModel):
    """Base of every client frame: unknown fields are ignored, ``ref`` is echoed back."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    ref: str | None = Field(None, max_length=64)


class Auth(Frame):
    type: Literal["auth"]
    token: str = Field(max_length=128)


class Ping(Frame):
    type: Literal["ping"]


class QueueJoin(Frame):
    type: Literal["queue.join"]
    topics: list[Topic] = Field(default_factory=list, max_length=10)


class QueueLeave(Frame):
    type: Literal["queue.leave"]
    conversation_id: Id


class QueueTake(Frame):
    type: Literal["queue.take"]


class AvailabilitySet(Frame):
    type: Literal["availability.set"]
    available: bool
    capacity: int | None = Field(None, ge=1, le=20)
    auto_assign: bool | None = None


class ChatSend(Frame):
    type: Literal["chat.send"]
    conversation_id: Id
    client_msg_id: Id
    text: MessageText


class ChatTyping(Frame):
    type: Literal["chat.typing"]
    conversation_id: Id
    typing: bool = True


class ChatRead(Frame):
    type: Literal["chat.read"]
    conversation_id: Id
    seq: int = Field(ge=0)


class ConversationResume(Frame):
    type: Literal["conversation.resume"]
    conversation_id: Id
    after_seq: int = Field(0, ge=0)


class ConversationEnd(Frame):
    type: Literal["conversation.end"]
    conversation_id: Id
    reason: str | None = Field(None, max_length=500)


class ConversationLanguage(Frame):
    type: Literal["conversation.language"]
    conversation_id: Id
    language: str = Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")


class QuickExit(Frame):
    type: Literal["quick_exit"]


class ConversationNote(Frame):
    type: Literal["conversation.note"]
    conversation_id: Id
    text: MessageText


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


# One encoder for every frame: ``json.dumps`` with any non-default option builds a new
# encoder per call, a noticeable part of serialising a small frame.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)


def dumps(frame: dict[str, Any]) -> str:
    return _ENCODER.encode(frame)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error_frame(code: str, message: str, ref: str | None = None) -> str:
    return dumps({"type": "error", "code": code, "message": message, "ref": ref})


# The two frames written for every chat message (the sender's ack, and the message to each
# socket) are assembled here rather than by the encoder: a third of the time, the same bytes
# (tests/chat/test_protocol_frames.py holds them to ``dumps``).
_string = json.encoder.encode_basestring  # C, when CPython has its _json module


def _stamp(value: datetime | str) -> str:
    return _string(value if isinstance(value, str) else iso(value))


def chat_message_frame(
    *,
    conversation_id: str,
    seq: int,
    sender_role: str,
    sender_alias: str,
    text: str,
    sent_at: datetime | str,  # a str: already ``iso``
    client_msg_id: str,
) -> str:
    return (
        '{"type":"chat.message","conversation_id":'
        + _string(conversation_id)
        + ',"seq":'
        + str(int(seq))
        + ',"sender_role":'
        + _string(sender_role)
        + ',"sender_alias":'
        + _string(sender_alias)
        + ',"text":'
        + _string(text)
        + ',"sent_at":'
        + _stamp(sent_at)
        + ',"client_msg_id":'
        + _string(client_msg_id)
        + "}"
    )


def ack_frame(
    *,
    conversation_id: str,
    client_msg_id: str,
    seq: int,
    sent_at: datetime | str,  # a str: already ``iso``
    duplicate: bool,
    ref: str | None,
) -> str:
    return (
        '{"type":"chat.ack","conversation_id":'
        + _string(conversation_id)
        + ',"client_msg_id":'
        + _string(client_msg_id)
        + ',"seq":'
        + str(int(seq))
        + ',"sent_at":'
        + _stamp(sent_at)
        + (',"duplicate":true,"ref":' if duplicate else ',"duplicate":false,"ref":')
        + ("null" if ref is None else _string(ref))
        + "}"
    )

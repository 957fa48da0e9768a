"""What happens in a conversation, as facts (``app.outbound`` decides who hears it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MessageStored:
    """A message is committed with this ``seq``; everyone in the conversation gets it."""

    conversation_id: str
    seq: int
    sender_role: str
    sender_alias: str
    text: str
    sent_at: datetime | str  # a str: already ISO (the writer stamps the ack and message once)
    client_msg_id: str


@dataclass(frozen=True, slots=True)
class MessagesRead:
    conversation_id: str
    reader_id: str
    reader_role: str
    seq: int


@dataclass(frozen=True, slots=True)
class Typing:
    """Not stored: tells the others in the conversation that someone is typing."""

    conversation_id: str
    typist_id: str
    sender_role: str
    typing: bool


@dataclass(frozen=True, slots=True)
class ConversationClosed:
    """A conversation became ``ended`` or ``abandoned``."""

    conversation_id: str
    by: str | None
    reason: str | None
    status: str
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class LanguageChanged:
    """The seeker switched the conversation's language (``previous`` → ``language``)."""

    conversation_id: str
    language: str
    previous: str


@dataclass(frozen=True, slots=True)
class SeekerQuickExited:
    """A seeker at risk quick-exited and this conversation closed: supervisors (and the
    conversation's volunteer) are told."""

    conversation_id: str
    level: str
    volunteer_id: str | None = None

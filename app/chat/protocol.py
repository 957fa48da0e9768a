"""Chat and queue frames: what a client may send, and how server frames are written.

Inbound frames are pydantic models keyed by ``type`` (the WebSocket layer builds the
discriminated union from every registered model). Server frames are written in
``app.outbound.frames``. The wording of each frame is in docs/protocol.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.identity.schemas import Language  # one rule for a language code, socket or REST
from app.identity.schemas import Tag as Topic  # one rule for a topic, socket or REST
from app.outbound import frames

MAX_TEXT_CHARS = 4000

# Characters that show nothing on their own: white space, and the format characters and
# blank letters that ``str.strip`` keeps (zero-width space and joiners, the soft hyphen,
# direction marks, the word joiner and the invisible operators, variation selectors, the
# byte-order mark, Hangul and braille blanks, tag characters). A text made only of them
# would be an empty bubble on the other side, so it is ``text_empty``. Inside a text they
# are kept: the zero-width joiners shape Devanagari and emoji.
_INVISIBLE = re.compile(
    "[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    "\U000e0100-\U000e01ef]*"
)


def shows_nothing(text: str) -> bool:
    """True for a text (trimmed or not) that would show nothing: see ``_INVISIBLE``."""
    return _INVISIBLE.fullmatch(text) is not None


def _message_text(value: str) -> str:
    """The text without the white space around it (what is stored and delivered), 1 to
    ``MAX_TEXT_CHARS`` characters, not only characters that show nothing."""
    value = value.strip()
    if shows_nothing(value):
        raise PydanticCustomError("text_empty", "text is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise PydanticCustomError(
            "text_too_long", "text is over {limit} characters", {"limit": MAX_TEXT_CHARS}
        )
    return value


MessageText = Annotated[str, AfterValidator(_message_text)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
# The seq columns are 32-bit integers: a larger seq in a frame (a client's "everything")
# is read as this, beyond every stored message, rather than overflowing the database's
# integer (answered `internal`, or `unavailable` for a resume, which a client retries).
MAX_SEQ = 2**31 - 1
SeqAt = Annotated[int, AfterValidator(lambda value: min(value, MAX_SEQ))]


class Frame(BaseModel):
    """Base of every client frame: unknown fields are ignored, ``ref`` is echoed back.

    Strict: a value of the wrong JSON type is ``invalid_frame``, never converted (``"5"`` or
    ``5.0`` for a number, ``"yes"`` or ``0`` for a boolean). A field whose type is an enum
    says ``strict=False``: a JSON string is how its value arrives."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)
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
    seq: SeqAt = Field(ge=0)


class ConversationResume(Frame):
    type: Literal["conversation.resume"]
    conversation_id: Id
    after_seq: SeqAt = Field(0, ge=0)


# What the server itself ends a conversation with, which a typed reason may not pass for: a
# "quick_exit" typed by a seeker gave the volunteer the urgent notice of a quick exit that was
# not one (a real one also alerts supervisors and kills the token).
RESERVED_REASONS = frozenset({"quick_exit"})


def _optional_reason(value: str | None) -> str | None:
    """Kept trimmed; empty or only white space is no reason (null in ``conversation.ended``).
    A reserved reason is refused (``invalid_frame``)."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() in RESERVED_REASONS:
        raise ValueError(f"{value!r} is the server's own reason; use the quick_exit frame")
    return value or None


class ConversationEnd(Frame):
    type: Literal["conversation.end"]
    conversation_id: Id
    reason: Annotated[str | None, AfterValidator(_optional_reason)] = Field(None, max_length=500)


class ConversationLanguage(Frame):
    type: Literal["conversation.language"]
    conversation_id: Id
    language: Language


class QuickExit(Frame):
    type: Literal["quick_exit"]


class ConversationNote(Frame):
    type: Literal["conversation.note"]
    conversation_id: Id
    text: MessageText


# Server frames are written in ``app.outbound.frames``; these names stay importable from
# here for code written before that module existed.
dumps = frames.dumps
iso = frames.iso
error_frame = frames.error

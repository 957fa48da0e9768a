"""Transfer frames and REST bodies."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, model_validator
from pydantic_core import PydanticCustomError

from app.chat.protocol import Frame, Id, shows_nothing
from app.transfer.policy import NOTE_MAX_CHARS


def _note(value: str) -> str:
    value = value.strip()  # kept without the white space around it
    if shows_nothing(value):  # as for chat.send: a blank note for the next volunteer
        raise PydanticCustomError("text_empty", "note is empty")
    if len(value) > NOTE_MAX_CHARS:
        raise PydanticCustomError(
            "text_too_long", "note is over {limit} characters", {"limit": NOTE_MAX_CHARS}
        )
    return value


HandoverNote = Annotated[str, AfterValidator(_note)]


class ConversationTransferFrame(Frame):
    """Hand an active chat to another volunteer (``to`` "volunteer", ``volunteer_id``) or
    back to the queue (``to`` "queue"), with a note for staff."""

    type: Literal["conversation.transfer"]
    conversation_id: Id
    to: Literal["volunteer", "queue"]
    volunteer_id: Id | None = None
    note: HandoverNote

    @model_validator(mode="after")
    def _volunteer_only_for_a_volunteer(self) -> Self:
        if (self.to == "volunteer") != (self.volunteer_id is not None):
            raise ValueError('volunteer_id is needed with to "volunteer", and only then')
        return self


class TransferTarget(BaseModel):
    volunteer_id: str
    alias: str
    free_slots: int


class TransferTargets(BaseModel):
    conversation_id: str
    targets: list[TransferTarget]

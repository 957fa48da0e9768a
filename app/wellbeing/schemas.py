"""What a volunteer sends after a heavy chat."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Feeling(StrEnum):
    okay = "okay"
    unsettled = "unsettled"
    struggling = "struggling"


class Want(StrEnum):
    """What would help."""

    talk = "talk"  # talking it through with a supervisor
    rest = "rest"  # a longer break
    resources = "resources"  # support or counselling for volunteers
    nothing = "nothing"  # nothing right now


class DebriefBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=64)
    feeling: Feeling
    wants: list[Want] = Field(default_factory=list, max_length=4)
    note: str | None = Field(None, max_length=1000)

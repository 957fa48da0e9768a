"""Roster request bodies."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(min_length=1, max_length=32)
    starts_at: AwareDatetime
    ends_at: AwareDatetime

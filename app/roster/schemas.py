"""Roster request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field


def _iso_text(value: object) -> object:
    """A time is an ISO 8601 string. pydantic would read a number, or a number in a string,
    as Unix seconds; as everywhere in a body, a value of another type is never converted."""
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("a time is an ISO 8601 string with a zone, such as 2026-12-07T09:00:00Z")
    return value


ZonedTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(min_length=1, max_length=32)
    starts_at: ZonedTime
    ends_at: ZonedTime

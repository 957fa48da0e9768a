"""Roster request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from app.db import iso_time_text

# A number, or digits in a string, is not read as Unix seconds (422, as for any wrong type).
ZonedTime = Annotated[AwareDatetime, BeforeValidator(iso_time_text)]


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(min_length=1, max_length=32)
    starts_at: ZonedTime
    ends_at: ZonedTime

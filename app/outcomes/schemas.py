"""What a seeker sends after a chat."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.outcomes.policy import Reply


class OutcomeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=64)
    mood_start: int | None = Field(None, ge=1, le=5, strict=True)  # "3" or 3.0: 422
    mood_end: int | None = Field(None, ge=1, le=5, strict=True)
    heard: Reply | None = None
    come_back: Reply | None = None
    # The chat's own limit is checked by the service after trimming (``text_too_long``,
    # however long); MAX_REST_BODY_BYTES bounds what arrives.
    comment: str | None = None

    @model_validator(mode="after")
    def something_answered(self) -> OutcomeBody:
        answers = (self.mood_start, self.mood_end, self.heard, self.come_back)
        if all(a is None for a in answers) and not (self.comment or "").strip():
            raise ValueError("answer at least one question")
        return self

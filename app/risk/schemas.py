"""Risk frames a volunteer (or a joined supervisor) sends."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from app.chat.protocol import Frame, Id, SeqAt
from app.risk.scoring import RiskLevel

# 1-500 characters without the white space around it (kept trimmed): only spaces is empty.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class RiskStart(Frame):
    type: Literal["risk.start"]
    conversation_id: Id


class RiskAnswer(Frame):
    type: Literal["risk.answer"]
    conversation_id: Id
    item_id: Id
    value: str = Field(min_length=1, max_length=64)


class RiskSubmit(Frame):
    type: Literal["risk.submit"]
    conversation_id: Id


class RiskConcern(Frame):
    type: Literal["risk.concern"]
    conversation_id: Id
    level: RiskLevel = Field(strict=False)  # the enum from its JSON string
    reason: Reason

    @field_validator("level")
    @classmethod
    def _a_concern_is_a_risk(cls, value: RiskLevel) -> RiskLevel:
        if value is RiskLevel.NONE:
            raise ValueError("a concern is low, moderate, high or imminent")
        return value


class CueMarkFrame(Frame):
    """A volunteer's mark on the cue detector from the risk panel."""

    type: Literal["cue.mark"]
    conversation_id: Id
    seq: SeqAt = Field(ge=1)
    kind: Literal["missed", "not_risk"]


class CueReviewBody(BaseModel):
    verdict: Literal["agree", "disagree"]


class CueParaphraseBody(BaseModel):
    # 3-300 characters once the white space around it is removed (as it is stored): a
    # paraphrase of only spaces is refused, not stored empty.
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    family: str = Field(min_length=1, max_length=40)
    form: Literal["en", "hi", "hinglish"]

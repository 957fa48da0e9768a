"""Request bodies of the return-code endpoints (docs/protocol.md, Coming back)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.chat.protocol import Id
from app.identity.schemas import Language


class ReturnCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: Id


class ReturnCodeRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked by ``words.normalise``; a long body is refused here before any work.
    code: str = Field(min_length=1, max_length=200)
    language: Language = "en"

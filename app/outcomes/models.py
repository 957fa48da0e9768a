"""The stored answers: no conversation, no seeker, no time finer than a week."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id


class Outcome(Base):
    """One seeker's answers after one chat.

    Holds nothing a person could follow back to the seeker or the conversation: a random
    id (no order), the Monday of the week the chat ended, its language and risk bucket
    (``policy.risk_bucket``), the numbers, and the comment until retention deletes it
    (``policy.comment_expired``). The conversation only knows *that* it was answered
    (``conversations.outcome_recorded``), so nobody answers twice."""

    __tablename__ = "outcomes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    week_start: Mapped[date] = mapped_column(Date, index=True)
    language: Mapped[str] = mapped_column(String(16))
    risk_bucket: Mapped[str] = mapped_column(String(16))
    mood_start: Mapped[int | None] = mapped_column(SmallInteger)
    mood_end: Mapped[int | None] = mapped_column(SmallInteger)
    heard: Mapped[str | None] = mapped_column(String(8))
    come_back: Mapped[str | None] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)

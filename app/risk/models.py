"""Risk assessments: the checklist answers of a conversation and the level they give."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class RiskAssessment(Base):
    """One run of a checklist in one conversation. At most one is ``in_progress`` at a time;
    its answers survive a reconnect because every answer is stored as it is given."""

    __tablename__ = "risk_assessments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    checklist_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    level: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules_version: Mapped[int | None] = mapped_column(Integer)
    started_by: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CueMark(Base):
    """A staff member's judgment of the cue detector on one seeker message: ``missed`` ("this
    worried me": no flag, but there should have been) or ``not_risk`` (a flag that was
    wrong). Holds no text: the message stays in ``messages`` (and goes with it at
    retention), the patterns that fired are references. One mark per message and kind."""

    __tablename__ = "cue_marks"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", "kind"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    cue_class: Mapped[str | None] = mapped_column(String(32))
    patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    families: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    """The lexicon families of the flag, as its ``risk.cue`` record names them (empty for a
    ``missed`` mark, and for marks older than that record's ``families``)."""
    marked_by: Mapped[str] = mapped_column(String(32))
    marked_role: Mapped[str] = mapped_column(String(16))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    verdict: Mapped[str | None] = mapped_column(String(16))
    reviewed_by: Mapped[str | None] = mapped_column(String(32))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CueCandidate(Base):
    """A de-identified paraphrase a supervisor wrote from a reviewed mark, for the candidate
    corpus (never the seeker's words: ``app.risk.feedback`` refuses a close copy)."""

    __tablename__ = "cue_candidates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    mark_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cue_marks.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(8))
    family: Mapped[str] = mapped_column(String(40))
    form: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

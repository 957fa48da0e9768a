"""Who is here: anonymous seekers and staff accounts, and their tokens.

A seeker row holds no name, phone, e-mail, IP or user agent: only a random alias, the
language and optional intake tags. Tokens are stored as HMAC hashes, never raw.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class Role(StrEnum):
    seeker = "seeker"
    volunteer = "volunteer"
    supervisor = "supervisor"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.seeker


class Seeker(Base):
    __tablename__ = "seekers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    alias: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    alias: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_concurrent_chats: Mapped[int] = mapped_column(Integer, default=2)
    trained: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Availability, set by the volunteer over the socket.
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    # Supervisors: on call for pages; ``backup_rank`` orders who is paged as backup (lower
    # first). Volunteers: no auto-assigned chat before ``cooldown_until`` (after high risk).
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    backup_rank: Mapped[int] = mapped_column(Integer, default=100)
    cooldown_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The chat whose end (or hand-over) began that cool-down: said again after a reconnect.
    cooldown_conversation_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffToken(Base):
    __tablename__ = "staff_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailureRun(Base):
    """Failed logins in a row for one username, known or not (app/identity/login_delay.py).

    Kept in the database, not in a process's memory, so every process of a deployment
    (``--workers``, several app containers) makes a username wait the same; not in Redis,
    because Redis is optional (one process on SQLite has none), the bus uses it for
    pub/sub only, and a login already reads and writes the database. ``key`` is an HMAC of
    the username, never the username itself: what was typed there may be a mistyped
    password, and unknown usernames are kept exactly as known ones (no link to
    ``staff_users``). Rows are deleted an hour after their last failure.
    """

    __tablename__ = "login_failure_runs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

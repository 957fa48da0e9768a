"""Identity facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionRevoked:
    """A user's token (``token_hash``), or all their tokens (None), stopped working."""

    user_id: str
    token_hash: str | None = None

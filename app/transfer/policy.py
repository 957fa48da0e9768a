"""Who may receive a transferred chat, and when a volunteer has vanished: pure rules.

- A chat goes to another volunteer only if they are an active, trained volunteer who is
  available, not resting after a high-risk chat, speaks the conversation's language and has a
  free slot (``refusal``).
- A chat handed back to the queue keeps its original queue time and is served before new
  arrivals (``requeued_priority``): the seeker has already waited once, and starting again at
  the back would punish them for our hand-over.
- A volunteer has vanished when no process has seen a socket of theirs for
  ``VOLUNTEER_VANISH_S`` and the chat is theirs alone (no supervisor took it over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.matching.policy import in_cooldown

# Queue priority of a chat handed back (our choice): above every cue's priority
# (app/risk/cue_response.py, highest 30), so a seeker who was already talking to someone is
# next for the first free volunteer of their language.
REQUEUE_PRIORITY = 40
# The longest handover note, in characters: a few sentences for the next volunteer.
NOTE_MAX_CHARS = 1000

HANDOVER = "handover"
VOLUNTEER_VANISHED = "volunteer_vanished"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A volunteer a chat might be handed to."""

    volunteer_id: str
    role: str
    active: bool
    available: bool
    trained: bool
    languages: tuple[str, ...]
    capacity: int
    active_chats: int
    cooldown_until: datetime | None = None


def refusal(
    candidate: Candidate, *, language: str, current_volunteer_id: str | None, now: datetime
) -> str | None:
    """Why the chat may not go to ``candidate`` (an error code), or None."""
    if candidate.volunteer_id == current_volunteer_id:
        return "same_volunteer"
    if (
        candidate.role != "volunteer"
        or not candidate.active
        or not candidate.available
        or not candidate.trained
        or in_cooldown(candidate.cooldown_until, now)
    ):
        return "target_unavailable"
    if language not in candidate.languages:
        return "target_language"
    if candidate.active_chats >= candidate.capacity:
        return "target_at_capacity"
    return None


def requeued_priority(current: int) -> int:
    """The priority of a chat handed back to the queue: never lowered."""
    return max(current, REQUEUE_PRIORITY)


def vanish_cutoff(now: datetime, vanish_s: float) -> datetime:
    """A volunteer not seen on any process since this moment has vanished."""
    return now - timedelta(seconds=vanish_s)


def vanished(
    *,
    last_seen_at: datetime | None,
    started_at: datetime | None,
    connected: bool,
    taken_over: bool,
    now: datetime,
    vanish_s: float,
) -> bool:
    """True when the chat must go back to the queue because its volunteer is gone."""
    if connected or taken_over:
        return False
    cutoff = vanish_cutoff(now, vanish_s)
    if started_at is not None and started_at >= cutoff:
        return False
    return last_seen_at is None or last_seen_at < cutoff

"""Who gets whom: the matching policy, as pure functions.

- Eligible: the volunteer is trained, has spare capacity, and shares the seeker's language.
- Given chats automatically: an eligible, active volunteer who is available, asked for
  auto-assignment and is not in the cool-down after a high-risk chat (``auto_assignable``;
  ``app.matching.service.auto_assign_candidates`` is the same rule in SQL, and
  tests/matching/test_matching_service.py holds the two together).
- Among eligible seekers: those still here (a socket open on any live process) before those
  who have gone, then higher priority first, then the longest wait; overlap between the
  seeker's topics and the volunteer's lived-experience topics breaks ties.
- A seeker's position counts the waiting seekers of the same language who will be served
  first (same order as above, without the volunteer-specific tie-break).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WaitingSeeker:
    conversation_id: str
    seeker_id: str
    language: str
    priority: int
    queued_at: datetime
    topics: tuple[str, ...] = ()
    gone: bool = False
    """No socket on any live process (the seeker wrote and left, or the phone locked)."""


@dataclass(frozen=True, slots=True)
class VolunteerProfile:
    volunteer_id: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    trained: bool
    capacity: int
    active_chats: int
    active: bool = True  # the account is not deactivated
    available: bool = True
    auto_assign: bool = False
    cooldown_until: datetime | None = None

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.active_chats)


def refusal(volunteer: VolunteerProfile) -> str | None:
    """Why this volunteer may not take a chat now (an error code), or None."""
    if not volunteer.trained:
        return "not_trained"
    if volunteer.spare <= 0:
        return "at_capacity"
    return None


def in_cooldown(cooldown_until: datetime | None, now: datetime) -> bool:
    """True while a volunteer rests after a high or imminent chat ended."""
    return cooldown_until is not None and now <= cooldown_until


def auto_assignable(volunteer: VolunteerProfile, *, now: datetime) -> bool:
    """True when the notifier may hand this volunteer a waiting seeker unasked."""
    return (
        volunteer.active
        and volunteer.available
        and volunteer.auto_assign
        and refusal(volunteer) is None
        and not in_cooldown(volunteer.cooldown_until, now)
    )


def queue_order_key(seeker: WaitingSeeker) -> tuple[bool, int, datetime, str]:
    return (seeker.gone, -seeker.priority, seeker.queued_at, seeker.conversation_id)


def choose_seeker(
    volunteer: VolunteerProfile, waiting: Iterable[WaitingSeeker]
) -> WaitingSeeker | None:
    """The best waiting seeker for ``volunteer``, or None when nobody is eligible."""
    if refusal(volunteer) is not None:
        return None
    languages = set(volunteer.languages)
    lived = set(volunteer.topics)
    candidates = [s for s in waiting if s.language in languages]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda s: (
            s.gone,
            -s.priority,
            s.queued_at,
            -len(lived.intersection(s.topics)),
            s.conversation_id,
        ),
    )


def queue_positions(waiting: Iterable[WaitingSeeker]) -> dict[str, int]:
    """conversation_id → 1-based position among waiting seekers of the same language."""
    by_language: dict[str, list[WaitingSeeker]] = {}
    for seeker in waiting:
        by_language.setdefault(seeker.language, []).append(seeker)
    positions: dict[str, int] = {}
    for group in by_language.values():
        for index, seeker in enumerate(sorted(group, key=queue_order_key), start=1):
            positions[seeker.conversation_id] = index
    return positions


@dataclass(frozen=True, slots=True)
class LanguageSupply:
    """Online volunteers who speak one language: how many, and their free and total slots."""

    online: int = 0
    free_slots: int = 0
    total_slots: int = 0


def estimate_wait_s(
    position: int, supply: LanguageSupply, *, take_latency_s: int, average_chat_s: int
) -> int | None:
    """An honest estimate, or None when nobody who could take the chat is online.

    Within the free slots a volunteer only has to notice and take the chat; beyond them each
    "round" of chats ending frees ``total_slots`` places.
    """
    if supply.online == 0 or supply.total_slots == 0:
        return None
    if position <= supply.free_slots:
        return take_latency_s
    rounds = math.ceil((position - supply.free_slots) / supply.total_slots)
    return take_latency_s + rounds * average_chat_s


def summarize(
    waiting: Sequence[WaitingSeeker], *, now: datetime, volunteers_online: int
) -> dict[str, object]:
    """The live queue summary shown to volunteers."""
    by_language: dict[str, dict[str, int]] = {}
    oldest = 0
    for seeker in waiting:
        wait = max(0, int((now - seeker.queued_at).total_seconds()))
        oldest = max(oldest, wait)
        entry = by_language.setdefault(seeker.language, {"waiting": 0, "oldest_wait_s": 0})
        entry["waiting"] += 1
        entry["oldest_wait_s"] = max(entry["oldest_wait_s"], wait)
    return {
        "waiting": len(waiting),
        "oldest_wait_s": oldest,
        "by_language": by_language,
        "volunteers_online": volunteers_online,
    }

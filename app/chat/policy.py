"""Who may write in a conversation: the one rule, pure (no database, no socket).

The general send path asks ``write_refusal``; the chat writer's fast path runs the same rule
as SQL built from ``WRITABLE_STATUSES`` (tests/chat/test_policy.py checks the two agree on
every case).
"""

from __future__ import annotations

from enum import StrEnum


class ConversationStatus(StrEnum):
    waiting = "waiting"
    active = "active"
    ended = "ended"
    abandoned = "abandoned"


OPEN_STATUSES = (ConversationStatus.waiting.value, ConversationStatus.active.value)


class Writer(StrEnum):
    """The place a caller writes from (``sender_role`` of their messages)."""

    seeker = "seeker"
    volunteer = "volunteer"
    supervisor = "supervisor"  # a supervisor or admin who joined or took over


# The statuses in which each writer may write. The seeker writes while waiting too: the
# volunteer who takes the chat reads those words first.
WRITABLE_STATUSES: dict[Writer, tuple[str, ...]] = {
    Writer.seeker: OPEN_STATUSES,
    Writer.volunteer: (ConversationStatus.active.value,),
    Writer.supervisor: (ConversationStatus.active.value,),
}


class WriteRefusal(StrEnum):
    closed = "conversation_closed"  # ended or abandoned
    observing = "observing"  # a volunteer whose chat was taken over, or an observer
    not_started = "not_started"  # staff, before a volunteer took the chat


def write_refusal(
    *, writer: Writer, status: str, taken_over: bool, joined: bool = True
) -> WriteRefusal | None:
    """None when ``writer`` may write in a conversation in ``status``.

    ``taken_over``: a supervisor leads the chat, so its volunteer only observes. ``joined``:
    for a supervisor, that they joined or lead (not only observe).
    """
    if status not in OPEN_STATUSES:
        return WriteRefusal.closed
    if writer is Writer.volunteer and taken_over:
        return WriteRefusal.observing
    if writer is Writer.supervisor and not joined:
        return WriteRefusal.observing
    if status not in WRITABLE_STATUSES[writer]:
        return WriteRefusal.not_started
    return None

"""Who may report and block a seeker, and what a block does to a conversation. Pure.

- A report comes from the conversation's own staff: its volunteer, or a supervisor or admin
  who observes, joined or took it over. It changes nothing in the chat; supervisors are
  alerted.
- A block comes from a supervisor or an admin, for any conversation (they may open any);
  every open conversation of the seeker closes (waiting: ``abandoned``, active: ``ended``),
  ``by: "system"`` with the neutral reason ``ended_by_service``, so the seeker is not told
  they were blocked, and their token is revoked.
"""

from __future__ import annotations

from app.chat.policy import ConversationStatus
from app.identity.models import Role

# What the seeker (and everyone in the conversation) sees in ``conversation.ended``.
BLOCK_REASON = "ended_by_service"
BLOCKED_BY = "system"

BLOCKERS = frozenset({Role.supervisor, Role.admin})


def may_report(access_role: Role | None) -> bool:
    """``access_role``: the caller's place in the conversation (None: not in it)."""
    return access_role is not None and access_role is not Role.seeker


def may_block(role: Role) -> bool:
    return role in BLOCKERS


def closing_status(status: ConversationStatus) -> ConversationStatus | None:
    """Where a block moves a conversation; None when it is already closed."""
    if status is ConversationStatus.waiting:
        return ConversationStatus.abandoned
    if status is ConversationStatus.active:
        return ConversationStatus.ended
    return None

"""Who takes part in a conversation, and as what (every chat, risk and escalation action
starts here).

Invariant: a caller who is not in a conversation cannot tell it from one that does not exist
(``not_found`` either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES, ConversationStatus, Writer
from app.errors import NotFound
from app.escalation.models import ConversationStaff
from app.identity.models import Role
from app.identity.service import Principal
from app.lifecycle import Lifecycle

__all__ = [
    "CONVERSATION_LIFECYCLE",
    "OPEN_STATUSES",
    "Access",
    "ConversationStatus",
    "ConversationView",
    "access_for",
    "authorise_read",
    "get_for",
    "read_for",
]

CONVERSATION_LIFECYCLE = Lifecycle(
    "conversation",
    {
        ConversationStatus.waiting: {ConversationStatus.active, ConversationStatus.abandoned},
        # Back to the queue: a warm transfer, or its volunteer vanished (app/transfer).
        ConversationStatus.active: {ConversationStatus.ended, ConversationStatus.waiting},
    },
)
# A conversation to read: the ORM object, or a row of all its columns (``read_for``).
ConversationView = Conversation | Row[Any]


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's place in a conversation: the role they write as, and whether they have
    joined it as a writer (a volunteer whose chat was taken over, or a supervisor who only
    observes, has not)."""

    role: Role
    can_write: bool

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.seeker

    @property
    def writer(self) -> Writer:
        return Writer(self.role.value)


async def access_for(
    session: AsyncSession, conversation: ConversationView, principal: Principal
) -> Access | None:
    """None when the caller is not in the conversation.

    - The seeker: always, their own conversation.
    - The assigned volunteer: writes unless a supervisor took the chat over (then observes).
    - A supervisor or admin: as their ``conversation_staff`` row says (observer, joined,
      lead); every such access was audited when it was granted.
    """
    if principal.role is Role.seeker:
        if conversation.seeker_id == principal.user_id:
            return Access(Role.seeker, True)
        return None
    if conversation.volunteer_id == principal.user_id:
        return Access(Role.volunteer, conversation.lead_staff_id is None)
    if principal.role in (Role.supervisor, Role.admin):
        mode = await session.scalar(
            select(ConversationStaff.mode).where(
                ConversationStaff.conversation_id == conversation.id,
                ConversationStaff.staff_id == principal.user_id,
            )
        )
        if mode is not None:
            return Access(Role.supervisor, mode in ("joined", "lead"))
    return None


async def get_for(
    session: AsyncSession, principal: Principal, conversation_id: str, *, lock: bool = False
) -> tuple[Conversation, Access]:
    """Load a conversation the caller takes part in; anything else is ``not_found``."""
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        stmt = stmt.with_for_update()
    conversation = await session.scalar(stmt)
    access = await access_for(session, conversation, principal) if conversation else None
    if conversation is None or access is None:
        raise NotFound("no such conversation")
    return conversation, access


# Reads on every resume and every socket's ``auth.ok`` (2,000 of each in a reconnect storm):
# plain rows through SQLAlchemy Core, statements built once, no ORM objects to build.
_conversations = Conversation.__table__
_CONVERSATION_BY_ID = select(_conversations).where(_conversations.c.id == bindparam("id"))


async def read_for(
    session: AsyncSession, principal: Principal, conversation_id: str
) -> tuple[Row[Any], Access]:
    """``get_for`` for reading only: the conversation as a row, not an object to change."""
    conversation = (await session.execute(_CONVERSATION_BY_ID, {"id": conversation_id})).first()
    access = await access_for(session, conversation, principal) if conversation else None
    if conversation is None or access is None:
        raise NotFound("no such conversation")
    return conversation, access


async def authorise_read(session: AsyncSession, principal: Principal, conversation_id: str) -> None:
    """Participants read their conversation; supervisors and admins may read any, and each
    such read is written to the audit trail."""
    if principal.role in (Role.supervisor, Role.admin):
        if await session.get(Conversation, conversation_id) is None:
            raise NotFound("no such conversation")
        audit.record(
            session,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="transcript.read",
            conversation_id=conversation_id,
        )
        return
    await get_for(session, principal, conversation_id)

"""Reading conversations: messages after a seq, the caller's open and recent conversations.

The reads on every resume and every ``auth.ok`` use plain rows through SQLAlchemy Core,
statements built once (a reconnect storm makes 2,000 of each).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.models import Conversation, Message
from app.chat.policy import OPEN_STATUSES
from app.identity.models import Role, Seeker, StaffUser
from app.identity.service import Principal

_conversations, _messages = Conversation.__table__, Message.__table__

_MESSAGES_AFTER = (
    select(
        _messages.c.conversation_id,
        _messages.c.seq,
        _messages.c.sender_role,
        _messages.c.sender_alias,
        _messages.c.client_msg_id,
        _messages.c.text,
        _messages.c.sent_at,
    )
    .where(
        _messages.c.conversation_id == bindparam("conversation_id"),
        _messages.c.seq > bindparam("after_seq"),
    )
    .order_by(_messages.c.seq)
)
_MESSAGES_AFTER_LIMITED = _MESSAGES_AFTER.limit(bindparam("limit"))


async def messages_after(
    session: AsyncSession, *, conversation_id: str, after_seq: int, limit: int | None = None
) -> list[Row[Any]]:
    """A conversation's messages after ``after_seq`` in order, as rows (the fields of a
    ``chat.message``)."""
    params: dict[str, Any] = {"conversation_id": conversation_id, "after_seq": after_seq}
    if limit is None:
        return list(await session.execute(_MESSAGES_AFTER, params))
    params["limit"] = limit
    return list(await session.execute(_MESSAGES_AFTER_LIMITED, params))


async def find_sent(
    session: AsyncSession, *, conversation_id: str, sender_id: str, client_msg_id: str
) -> Message | None:
    """The message this sender already stored under ``client_msg_id``, if any."""
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.sender_id == sender_id,
            Message.client_msg_id == client_msg_id,
        )
    )


def _mine(principal: Principal):  # type: ignore[no-untyped-def]
    """The conversations that are the caller's own: a seeker's, or a volunteer's assigned."""
    if principal.role is Role.seeker:
        return Conversation.seeker_id == principal.user_id
    return Conversation.volunteer_id == principal.user_id


def _open_with_peer(*, mine: Any, peer: Any, peer_id: Any) -> Any:
    return (
        select(
            _conversations.c.id,
            _conversations.c.status,
            _conversations.c.last_seq,
            _conversations.c.language,
            peer.c.alias.label("peer_alias"),
        )
        .outerjoin(peer, peer.c.id == peer_id)
        .where(mine == bindparam("user_id"), _conversations.c.status.in_(OPEN_STATUSES))
        .order_by(_conversations.c.queued_at)
    )


_OPEN_CONVERSATIONS = {
    True: _open_with_peer(  # a seeker's; the peer is the volunteer, once one took it
        mine=_conversations.c.seeker_id,
        peer=StaffUser.__table__,
        peer_id=_conversations.c.volunteer_id,
    ),
    False: _open_with_peer(  # a volunteer's; the peer is the seeker
        mine=_conversations.c.volunteer_id,
        peer=Seeker.__table__,
        peer_id=_conversations.c.seeker_id,
    ),
}


async def open_conversations(session: AsyncSession, principal: Principal) -> list[Row[Any]]:
    """The caller's own open conversations, oldest first: id, status, last_seq, language
    and ``peer_alias`` (None while nobody has taken a seeker's chat)."""
    statement = _OPEN_CONVERSATIONS[principal.role is Role.seeker]
    return list(await session.execute(statement, {"user_id": principal.user_id}))


async def list_for(session: AsyncSession, principal: Principal) -> list[Conversation]:
    stmt = (
        select(Conversation)
        .where(_mine(principal))
        .order_by(Conversation.queued_at.desc())
        .limit(100)
    )
    return list(await session.scalars(stmt))

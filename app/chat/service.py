"""Chat rules: who may act in a conversation, storing messages, ending and resuming.

Invariants:
- A message is stored at most once per (conversation, sender, client_msg_id); a resend gets
  the original seq back.
- ``seq`` is gap-free: it comes from ``conversations.last_seq``, incremented in the same
  transaction that inserts the message.
- Nobody writes into an ended or abandoned conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bus import Event
from app.chat import protocol
from app.chat.models import Conversation, Message
from app.chat.writer import SLOW, MessageWriter, Pending
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden, NotFound
from app.identity.models import Role, Seeker, StaffUser
from app.identity.service import Principal
from app.lifecycle import Lifecycle


class ConversationStatus(StrEnum):
    waiting = "waiting"
    active = "active"
    ended = "ended"
    abandoned = "abandoned"


CONVERSATION_LIFECYCLE = Lifecycle(
    "conversation",
    {
        ConversationStatus.waiting: {ConversationStatus.active, ConversationStatus.abandoned},
        ConversationStatus.active: {ConversationStatus.ended},
    },
)
OPEN_STATUSES = (ConversationStatus.waiting.value, ConversationStatus.active.value)
# A conversation to read: the ORM object, or a row of all its columns (``read_for``).
ConversationView = Conversation | Row[Any]


def conversation_channel(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"


QUEUE_CHANNEL = "queue"
STAFF_CHANNEL = "staff"


def staff_channel(conversation_id: str) -> str:
    """Events only staff in the conversation see: cues, assessments, whispers."""
    return f"conv:{conversation_id}:staff"


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's place in a conversation: the role they write as, and whether they may."""

    role: Role
    can_write: bool

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.seeker


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
        from app.escalation.models import ConversationStaff

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
_conversations, _messages = Conversation.__table__, Message.__table__
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
    from app import audit

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


@dataclass(frozen=True, slots=True)
class Stored:
    message: Message
    duplicate: bool


class StoredMessage(Protocol):
    """What a ``chat.message`` frame is made of: a ``Message``, or a row of its columns."""

    conversation_id: str
    seq: int
    sender_role: str
    sender_alias: str
    text: str
    sent_at: datetime
    client_msg_id: str


def message_frame(message: StoredMessage) -> str:
    return protocol.chat_message_frame(
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_role=message.sender_role,
        sender_alias=message.sender_alias,
        text=message.text,
        sent_at=message.sent_at,
        client_msg_id=message.client_msg_id,
    )


async def find_sent(
    session: AsyncSession, *, conversation_id: str, sender_id: str, client_msg_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.sender_id == sender_id,
            Message.client_msg_id == client_msg_id,
        )
    )


async def send_message(
    db: Database,
    writer: MessageWriter,
    principal: Principal,
    *,
    conversation_id: str,
    client_msg_id: str,
    text: str,
    now: datetime,
    reply: Callable[[str], None],
    ref: str | None,
) -> None:
    """Store one message (or find the one already stored), ack it to the sender with
    ``reply``, then deliver it to the conversation.

    Seekers and volunteers writing ordinary words go through the group-commit writer (see
    ``app.chat.writer``); everything else, and anything the writer cannot decide, takes the
    general path. Either way the ack is queued after the commit and before the fan-out.
    """
    role = _batchable_role(principal, text)
    if role is not None:
        channel = conversation_channel(conversation_id)
        stamp = protocol.iso(now)  # once for the ack and the message

        def ack(seq: int) -> None:
            reply(
                protocol.ack_frame(
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    seq=seq,
                    sent_at=stamp,
                    duplicate=False,
                    ref=ref,
                )
            )

        def announce(seq: int) -> tuple[str, Event]:
            frame = protocol.chat_message_frame(
                conversation_id=conversation_id,
                seq=seq,
                sender_role=role,
                sender_alias=principal.alias,
                text=text,
                sent_at=stamp,
                client_msg_id=client_msg_id,
            )
            return channel, Event("chat.message", frame, conversation_id, seq)

        seq = await writer.write(
            Pending(
                conversation_id,
                principal.user_id,
                role,
                principal.alias,
                client_msg_id,
                text,
                now,
                on_commit=ack,
                announce=announce,
            )
        )
        if seq != SLOW:
            return

    def ack_stored(stored: Stored) -> None:
        message = stored.message
        reply(
            protocol.ack_frame(
                conversation_id=message.conversation_id,
                client_msg_id=message.client_msg_id,
                seq=message.seq,
                sent_at=message.sent_at,
                duplicate=stored.duplicate,
                ref=ref,
            )
        )

    try:
        async with db.unit_of_work() as uow:
            stored = await send_carefully(
                uow,
                principal,
                conversation_id=conversation_id,
                client_msg_id=client_msg_id,
                text=text,
                now=now,
            )
            uow.after_commit.append(lambda: ack_stored(stored))
        return
    except IntegrityError:
        # The same client_msg_id stored concurrently (two sockets resending): the stored
        # message is the answer.
        pass
    async with db.sessionmaker() as session:
        previous = await find_sent(
            session,
            conversation_id=conversation_id,
            sender_id=principal.user_id,
            client_msg_id=client_msg_id,
        )
    assert previous is not None
    ack_stored(Stored(previous, duplicate=True))


def _batchable_role(principal: Principal, text: str) -> str | None:
    """The role a sender writes as on the group-commit path; None: the general path.

    A seeker's words with a warning sign go the general path, so the cue flag is stored in
    the same transaction as the message (a crash cannot keep one without the other)."""
    if principal.role is Role.seeker:
        from app.risk.cues import CueMatcher, strongest

        return None if strongest(CueMatcher.default().match(text)) else Role.seeker.value
    if principal.role is Role.volunteer:
        return Role.volunteer.value
    return None


async def send_carefully(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    client_msg_id: str,
    text: str,
    now: datetime,
) -> Stored:
    """The general path: every check spelled out, for supervisors and for refusals."""
    session = uow.session
    previous = await find_sent(
        session,
        conversation_id=conversation_id,
        sender_id=principal.user_id,
        client_msg_id=client_msg_id,
    )
    if previous is not None:
        return Stored(previous, duplicate=True)
    conversation, access = await get_for(session, principal, conversation_id)
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("this conversation has ended", code="conversation_closed")
    if not access.can_write:
        raise Forbidden("you are observing this conversation")
    if conversation.status == ConversationStatus.waiting and access.role is not Role.seeker:
        raise Forbidden("the conversation has not started")
    role = access.role
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    )
    assert seq is not None
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender_id=principal.user_id,
        sender_role=role.value,
        sender_alias=principal.alias,
        client_msg_id=client_msg_id,
        text=text,
        sent_at=now,
    )
    session.add(message)
    await session.flush()
    await _announce(uow, message, now=now)
    return Stored(message, duplicate=False)


async def _announce(uow: UnitOfWork, message: Message, *, now: datetime) -> None:
    """Queue the message's delivery (after commit) and screen a seeker's words for cues."""
    uow.publish(
        conversation_channel(message.conversation_id),
        Event("chat.message", message_frame(message), message.conversation_id, message.seq),
    )
    if message.sender_role == Role.seeker.value:
        from app.risk import service as risk_service

        await risk_service.check_cues(uow, message.conversation_id, message, now=now)


async def mark_read(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, seq: int
) -> int:
    conversation, access = await get_for(uow.session, principal, conversation_id)
    role = access.role
    seq = min(seq, conversation.last_seq)
    if role is Role.seeker:
        conversation.seeker_read_seq = max(conversation.seeker_read_seq, seq)
    else:
        conversation.volunteer_read_seq = max(conversation.volunteer_read_seq, seq)
    uow.publish(
        conversation_channel(conversation_id),
        Event(
            "chat.read",
            protocol.dumps(
                {
                    "type": "chat.read",
                    "conversation_id": conversation_id,
                    "reader_role": role.value,
                    "seq": seq,
                }
            ),
            conversation_id,
            exclude=principal.user_id,
        ),
    )
    return seq


def ended_frame(conversation: Conversation) -> str:
    return protocol.dumps(
        {
            "type": "conversation.ended",
            "conversation_id": conversation.id,
            "by": conversation.ended_by,
            "reason": conversation.end_reason,
            "status": conversation.status,
            "ended_at": conversation.ended_at,
        }
    )


async def close(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    target: ConversationStatus,
    by: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Move a conversation to ``ended`` or ``abandoned`` (guarded) and tell everyone in it."""
    CONVERSATION_LIFECYCLE.check(ConversationStatus(conversation.status), target)
    conversation.status = target.value
    conversation.ended_at = now
    conversation.ended_by = by
    conversation.end_reason = reason
    await uow.session.flush()
    frame = ended_frame(conversation)
    uow.publish(
        conversation_channel(conversation.id),
        Event("conversation.ended", frame, conversation.id),
    )
    uow.publish(QUEUE_CHANNEL, Event("queue.changed", ""))
    if target is ConversationStatus.ended and conversation.volunteer_id is not None:
        from app.escalation import service as escalation_service

        await escalation_service.after_conversation_ended(uow, conversation, now=now)


async def end(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    reason: str | None,
    now: datetime,
) -> Conversation:
    conversation, access = await get_for(uow.session, principal, conversation_id, lock=True)
    role = access.role
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("this conversation has ended", code="conversation_closed")
    if conversation.status == ConversationStatus.waiting:
        raise Conflict(
            "the conversation has not started; use queue.leave", code="invalid_transition"
        )
    if role is Role.volunteer:
        from app.escalation import service as escalation_service

        await escalation_service.check_volunteer_may_end(uow.session, conversation)
    await close(
        uow,
        conversation,
        target=ConversationStatus.ended,
        by=role.value,
        reason=reason,
        now=now,
    )
    return conversation


async def write_note(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, text: str
) -> None:
    conversation, access = await get_for(uow.session, principal, conversation_id)
    if access.role is not Role.volunteer:
        raise Forbidden("only the conversation's volunteer writes the wrap-up note")
    conversation.wrapup_note = text


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
    """A conversation's messages after ``after_seq`` in order, as rows (see ``StoredMessage``)."""
    params: dict[str, Any] = {"conversation_id": conversation_id, "after_seq": after_seq}
    if limit is None:
        return list(await session.execute(_MESSAGES_AFTER, params))
    params["limit"] = limit
    return list(await session.execute(_MESSAGES_AFTER_LIMITED, params))


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

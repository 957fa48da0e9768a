"""Chat rules: who may act in a conversation, storing messages, ending and resuming.

Invariants:
- A message is stored at most once per (conversation, sender, client_msg_id); a resend gets
  the original seq back.
- ``seq`` is gap-free: it comes from ``conversations.last_seq``, incremented in the same
  transaction that inserts the message.
- Nobody writes into an ended or abandoned conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bus import Event
from app.chat import protocol
from app.chat.models import Conversation, Message
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound
from app.identity.models import Role
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
    session: AsyncSession, conversation: Conversation, principal: Principal
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


def ack_frame(message: Message, *, duplicate: bool, ref: str | None) -> str:
    return protocol.dumps(
        {
            "type": "chat.ack",
            "conversation_id": message.conversation_id,
            "client_msg_id": message.client_msg_id,
            "seq": message.seq,
            "sent_at": message.sent_at,
            "duplicate": duplicate,
            "ref": ref,
        }
    )


def message_frame(message: Message) -> str:
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


class _Duplicate(Exception):
    """Raised inside the unit of work so the seq increment rolls back."""


async def send(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    client_msg_id: str,
    text: str,
    now: datetime,
) -> Stored:
    """Store one message (or find the one already stored) and queue its delivery.

    The hot path is two statements: an UPDATE … RETURNING that allocates the next seq and
    returns who may write, and an INSERT … ON CONFLICT DO NOTHING that stores the message
    unless this client_msg_id is already stored. Anything unusual (a supervisor, a closed
    or unknown conversation, a duplicate) rolls back and takes the careful path, so a
    refused or repeated send never consumes a seq.
    """
    session = uow.session
    row = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status.in_(OPEN_STATUSES))
            .values(last_seq=Conversation.last_seq + 1)
            .returning(
                Conversation.last_seq,
                Conversation.seeker_id,
                Conversation.volunteer_id,
                Conversation.lead_staff_id,
                Conversation.status,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    role = _writer_role(row, principal) if row is not None else None
    if row is None or role is None:
        raise _SlowPath()
    seq = row[0]
    table = Message.__table__
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "sender_id": principal.user_id,
        "sender_role": role.value,
        "sender_alias": principal.alias,
        "client_msg_id": client_msg_id,
        "text": text,
        "sent_at": now,
    }
    insert = _insert_for(session)(table).values(**values)
    insert = insert.on_conflict_do_nothing(
        index_elements=["conversation_id", "sender_id", "client_msg_id"]
    ).returning(table.c.id)
    if (await session.execute(insert)).first() is None:
        raise _Duplicate()
    message = Message(**values)
    await _announce(uow, message, now=now)
    return Stored(message, duplicate=False)


class _SlowPath(Exception):
    """The fast path cannot decide; roll back and explain the refusal precisely."""


def _writer_role(row: Any, principal: Principal) -> Role | None:
    """The role a caller writes as, from the conversation row; None: ask the slow path."""
    _, seeker_id, volunteer_id, lead_staff_id, status = row
    if principal.role is Role.seeker:
        return Role.seeker if seeker_id == principal.user_id else None
    if status == ConversationStatus.active and principal.user_id == volunteer_id:
        return Role.volunteer if lead_staff_id is None else None
    return None


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


async def send_with_retry(
    db: Any,
    principal: Principal,
    *,
    conversation_id: str,
    client_msg_id: str,
    text: str,
    now: datetime,
    on_commit: Any,
) -> Stored:
    """``send`` in its own unit of work, with the duplicate and slow paths handled.

    ``on_commit(stored)`` runs after the commit and before the fan-out, so the sender's ack
    goes out ahead of the message's own delivery.
    """
    for attempt in (send, send_carefully):
        try:
            async with db.unit_of_work() as uow:
                stored = await attempt(
                    uow,
                    principal,
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    text=text,
                    now=now,
                )
                uow.after_commit.append(lambda stored=stored: on_commit(stored))
            return stored
        except _SlowPath:
            continue
        except (_Duplicate, IntegrityError):
            # IntegrityError: the same client_msg_id stored concurrently (two sockets
            # resending); either way the stored message is the answer.
            break
    async with db.sessionmaker() as session:
        previous = await find_sent(
            session,
            conversation_id=conversation_id,
            sender_id=principal.user_id,
            client_msg_id=client_msg_id,
        )
    assert previous is not None
    stored = Stored(previous, duplicate=True)
    on_commit(stored)
    return stored


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


async def messages_after(
    session: AsyncSession, *, conversation_id: str, after_seq: int, limit: int | None = None
) -> list[Message]:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(await session.scalars(stmt))


def _mine(principal: Principal):  # type: ignore[no-untyped-def]
    """The conversations that are the caller's own: a seeker's, or a volunteer's assigned."""
    if principal.role is Role.seeker:
        return Conversation.seeker_id == principal.user_id
    return Conversation.volunteer_id == principal.user_id


async def open_conversations(session: AsyncSession, principal: Principal) -> list[Conversation]:
    stmt = (
        select(Conversation)
        .where(_mine(principal), Conversation.status.in_(OPEN_STATUSES))
        .order_by(Conversation.queued_at)
    )
    return list(await session.scalars(stmt))


async def list_for(session: AsyncSession, principal: Principal) -> list[Conversation]:
    stmt = (
        select(Conversation)
        .where(_mine(principal))
        .order_by(Conversation.queued_at.desc())
        .limit(100)
    )
    return list(await session.scalars(stmt))

"""Sending in a conversation: messages, read marks and typing.

Invariants:
- A message is stored at most once per (conversation, sender, client_msg_id); a resend gets
  the original seq back.
- ``seq`` is gap-free: it comes from ``conversations.last_seq``, incremented in the same
  transaction that inserts the message.
- Nobody writes into an ended or abandoned conversation (``app.chat.policy``).
- The sender hears ``chat.ack`` before its own ``chat.message``, on either path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.chat import access as chat_access
from app.chat import policy
from app.chat import queries as chat_queries
from app.chat.events import MessagesRead, MessageStored, Typing
from app.chat.models import Conversation, Message
from app.chat.writer import SLOW, MessageWriter, Pending
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden
from app.identity.models import Role
from app.identity.service import Principal
from app.outbound import frames
from app.risk import service as risk_service
from app.risk.cues import CueMatch, CueMatcher, strongest


@dataclass(frozen=True, slots=True)
class Stored:
    message: Message
    duplicate: bool


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
    general path. Either way the ack is sent after the commit and before the fan-out. A
    seeker's words are screened for cues once, here.
    """
    cues: Sequence[CueMatch] = ()
    if principal.role is Role.seeker:
        cues = CueMatcher.default().match(text)
    role = _batchable_role(principal, cues)
    if role is not None:
        stamp = frames.iso(now)  # once for the ack and the message

        def ack(seq: int) -> None:
            reply(
                frames.ack_frame(
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    seq=seq,
                    sent_at=stamp,
                    duplicate=False,
                    ref=ref,
                )
            )

        def announce(seq: int) -> MessageStored:
            return MessageStored(
                conversation_id, seq, role, principal.alias, text, stamp, client_msg_id
            )

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
            frames.ack_frame(
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
                cues=cues,
            )
            uow.after_commit.append(lambda: ack_stored(stored))
        return
    except IntegrityError:
        # The same client_msg_id stored concurrently (two sockets resending): the stored
        # message is the answer.
        pass
    async with db.sessionmaker() as session:
        previous = await chat_queries.find_sent(
            session,
            conversation_id=conversation_id,
            sender_id=principal.user_id,
            client_msg_id=client_msg_id,
        )
    assert previous is not None
    ack_stored(Stored(previous, duplicate=True))


def _batchable_role(principal: Principal, cues: Sequence[CueMatch]) -> str | None:
    """The role a sender writes as on the group-commit path; None: the general path.

    A seeker's words with a warning sign go the general path, so the cue flag is stored in
    the same transaction as the message (a crash cannot keep one without the other)."""
    if principal.role is Role.seeker:
        return None if strongest(cues) else Role.seeker.value
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
    cues: Sequence[CueMatch] = (),
) -> Stored:
    """The general path: every check spelled out, for supervisors and for refusals.
    ``cues``: what the matcher found in a seeker's ``text`` (screened by the caller)."""
    session = uow.session
    previous = await chat_queries.find_sent(
        session,
        conversation_id=conversation_id,
        sender_id=principal.user_id,
        client_msg_id=client_msg_id,
    )
    if previous is not None:
        return Stored(previous, duplicate=True)
    conversation, access = await chat_access.get_for(session, principal, conversation_id)
    refusal = policy.write_refusal(
        writer=access.writer,
        status=conversation.status,
        taken_over=conversation.lead_staff_id is not None,
        joined=access.can_write,
    )
    if refusal is policy.WriteRefusal.closed:
        raise Conflict("this conversation has ended", code="conversation_closed")
    if refusal is policy.WriteRefusal.observing:
        raise Forbidden("you are observing this conversation")
    if refusal is policy.WriteRefusal.not_started:
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
    uow.record(
        MessageStored(
            message.conversation_id,
            message.seq,
            message.sender_role,
            message.sender_alias,
            message.text,
            message.sent_at,
            message.client_msg_id,
        )
    )
    if role is Role.seeker and cues:
        await risk_service.flag_cues(uow, conversation_id, seq=seq, cues=cues, now=now)
    return Stored(message, duplicate=False)


async def mark_read(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, seq: int
) -> int:
    conversation, access = await chat_access.get_for(uow.session, principal, conversation_id)
    role = access.role
    seq = min(seq, conversation.last_seq)
    if not access.can_write:
        # An observer (a supervisor who has not joined, a volunteer whose chat was taken
        # over) reading is not the writing side reading: the seeker's "seen" mark stays.
        return seq
    if role is Role.seeker:
        conversation.seeker_read_seq = max(conversation.seeker_read_seq, seq)
    else:
        conversation.volunteer_read_seq = max(conversation.volunteer_read_seq, seq)
    uow.record(MessagesRead(conversation_id, principal.user_id, role.value, seq))
    return seq


def typing(principal: Principal, *, conversation_id: str, typing: bool) -> Typing:
    """The (unstored) fact that the caller is typing, for the others in the conversation."""
    role = {Role.seeker: "seeker", Role.volunteer: "volunteer"}.get(principal.role, "supervisor")
    return Typing(conversation_id, principal.user_id, role, typing)

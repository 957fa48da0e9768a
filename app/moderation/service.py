"""Reporting and blocking a seeker (rules in ``app.moderation.policy``).

Invariants:
- A report changes nothing in the conversation; it is audited (``seeker.reported``) and
  alerts supervisors.
- A block closes every open conversation of the seeker and revokes their token in one
  transaction; their sockets then close with 4401 on every process. Audited
  (``seeker.blocked``). Blocking twice finds nothing open and the token already dead.
- "The seeker" is every session their return code links (the one that made it and each one
  opened with it: the same young person, by their own choice). In the same transaction the
  code is deleted with its plan copy and links, so its words open nothing again and get the
  answer any wrong code gets; the seeker is never told why. The audit of the block names
  the codes and the other sessions (never the words).
- An emergency-share request any of those sessions had not answered is withdrawn
  (``deleted_reason`` ``blocked``): with their tokens dead it can never be answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app import audit
from app.chat import access as chat_access
from app.chat import lifecycle as chat_lifecycle
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES, ConversationStatus
from app.db import UnitOfWork
from app.emergency_share import service as emergency_share_service
from app.errors import Forbidden, NotFound
from app.identity import service as identity_service
from app.identity.events import SessionRevoked
from app.identity.models import Role
from app.identity.service import Principal
from app.moderation import policy
from app.moderation.events import SeekerBlocked, SeekerReported
from app.return_code import service as return_code_service
from app.transfer.models import handed_from

# The ``deleted_reason`` of an emergency-share request a block withdrew.
BLOCKED_REASON = "blocked"


async def report(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, note: str | None
) -> None:
    try:
        _, access = await chat_access.get_for(uow.session, principal, conversation_id)
        role: Role | None = access.role
    except NotFound:
        # A volunteer the chat was handed on from (often because of how the seeker treated
        # them) reports it as its volunteer did: their part of it is theirs to report.
        if principal.role is not Role.volunteer:
            raise
        if await uow.session.scalar(handed_from(conversation_id, principal.user_id)) is None:
            raise
        role = Role.volunteer
    if not policy.may_report(role):
        raise Forbidden("only the conversation's staff report its seeker")
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="seeker.reported",
        conversation_id=conversation_id,
        detail={"note": note},
    )
    uow.record(SeekerReported(conversation_id, principal.role.value))


@dataclass(frozen=True, slots=True)
class Blocked:
    """What a block did: the conversations it closed, the sessions whose tokens it revoked
    (the blocked one first, then those its return code linked) and the codes it deleted."""

    closed: list[str]
    sessions: list[str]
    return_codes: list[str]


async def _close_open(uow: UnitOfWork, seeker_ids: set[str], *, now: datetime) -> list[str]:
    conversations = await uow.session.scalars(
        select(Conversation)
        .where(Conversation.seeker_id.in_(seeker_ids), Conversation.status.in_(OPEN_STATUSES))
        .order_by(Conversation.queued_at, Conversation.id)
        .with_for_update()
    )
    closed = []
    for conversation in conversations:
        target = policy.closing_status(ConversationStatus(conversation.status))
        if target is None:
            continue
        await chat_lifecycle.close(
            uow,
            conversation,
            target=target,
            by=policy.BLOCKED_BY,
            reason=policy.BLOCK_REASON,
            now=now,
        )
        uow.record(SeekerBlocked(conversation.id, conversation.volunteer_id))
        closed.append(conversation.id)
    return closed


async def block(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    note: str | None,
    now: datetime,
) -> Blocked:
    """Block the seeker of this conversation, and every session their return code links."""
    if not policy.may_block(principal.role):
        raise Forbidden("only a supervisor or an admin blocks a seeker")
    session = uow.session
    seeker_id = await session.scalar(
        select(Conversation.seeker_id).where(Conversation.id == conversation_id)
    )
    if seeker_id is None:
        raise NotFound("no such conversation")
    # Locks in the order every other writer takes them: conversations, then seeker rows
    # (a return code's ``create`` locks its seeker first), then codes (``redeem``). Deleting
    # the codes after the tokens are revoked also catches a code made in the moment before;
    # a session that redeemed a code meanwhile is blocked in the next round.
    pending = {seeker_id} | await return_code_service.linked_sessions(session, seeker_id)
    revoked: set[str] = set()
    closed: list[str] = []
    return_codes: list[str] = []
    while pending:
        closed += await _close_open(uow, pending, now=now)
        for each in sorted(pending):
            await identity_service.revoke_seeker_token(session, seeker_id=each, now=now)
            uow.record(SessionRevoked(each))
        revoked |= pending
        forgotten, linked = await return_code_service.forget_for_block(session, seeker_ids=revoked)
        return_codes += forgotten
        pending = linked - revoked
    # Their tokens are dead: a request for an emergency share they had not answered never
    # can be, and the supervisor who asked must not be left waiting on it.
    await emergency_share_service.withdraw_unanswerable(
        uow, seeker_ids=sorted(revoked), now=now, reason=BLOCKED_REASON
    )
    others = sorted(revoked - {seeker_id})
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="seeker.blocked",
        conversation_id=conversation_id,
        detail={
            "note": note,
            "closed": closed,
            "return_codes": return_codes,
            "linked_sessions": others,
        },
    )
    return Blocked(closed=closed, sessions=[seeker_id, *others], return_codes=return_codes)

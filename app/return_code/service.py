"""Make, redeem, read and forget return codes; keep the plan copy; tell a volunteer.

Invariants:
- The words are never stored, logged or audited: only ``words.code_hash`` of them. A code is
  shown once, in the answer that made it.
- A wrong code, a code that was forgotten or deleted by retention, and anything that is not
  five known words get the same answer (``return_code_invalid``, 401): nobody can learn
  whether a code exists. (Text that is not five words of the public list is refused without
  a lookup; that tells nothing about any code.) Redeeming is rate-limited per client and
  globally (``Door.return_code``) before the code is looked at.
- A seeker session is linked to at most one code. Making a code again from a linked session
  gives new words to the same code (the old words stop working, the plan copy stays).
- The plan copy follows the seeker's latest plan: it is taken when the code is made and
  replaced whenever a linked session's plan is opened or edited.
- A code is deleted ``RETURN_CODE_KEEP_DAYS`` after it was last used (made, redeemed, a chat
  started with it, its plan edited), or at once when a linked session forgets it. Every
  creation, redeem and forgetting is audited (``return_code.*``), never with the words.
- A block (``app.moderation``) deletes every code the blocked sessions are linked to in its
  own transaction (audited as part of ``seeker.blocked``), so a blocked seeker's words then
  get the answer any wrong code gets. No code is made for a session whose token is dead:
  ``create`` takes the seeker's row lock before the code's (the order a block takes them
  in), so it either commits before the block, which then deletes the code, or is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat import access as chat_access
from app.chat.models import Conversation
from app.chat.policy import ConversationStatus
from app.config import Settings
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.identity import service as identity_service
from app.identity.models import Role, Seeker
from app.identity.service import Principal
from app.return_code import words
from app.return_code.events import ReturningView
from app.return_code.models import ReturnCode, ReturningSeeker
from app.safety_plan.models import SafetyPlan

INVALID_MESSAGE = "That return code did not match. Check the five words and try again."


def _seeker_only(principal: Principal) -> None:
    if principal.role is not Role.seeker:
        raise Forbidden("return codes are for seekers")


async def code_of(
    session: AsyncSession, seeker_id: str, *, lock: bool = False
) -> ReturnCode | None:
    query = (
        select(ReturnCode)
        .join(ReturningSeeker, ReturningSeeker.return_code_id == ReturnCode.id)
        .where(ReturningSeeker.seeker_id == seeker_id)
    )
    if lock:
        query = query.with_for_update(of=ReturnCode)
    return await session.scalar(query)


def plan_copy(plan: SafetyPlan) -> dict[str, Any]:
    return {
        "template_id": plan.template_id,
        "template_version": plan.template_version,
        "entries": dict(plan.entries or {}),
        "helplines": list(plan.helplines or []),
    }


async def create(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    secret_key: str,
    now: datetime,
) -> tuple[ReturnCode, str]:
    """A code for the seeker of this ended chat: (the row, the words, shown once)."""
    _seeker_only(principal)
    session = uow.session
    conversation, _ = await chat_access.get_for(session, principal, conversation_id, lock=True)
    if conversation.status != ConversationStatus.ended.value or conversation.started_at is None:
        raise Conflict(
            "a return code is offered at the end of a chat with a volunteer",
            code="invalid_transition",
        )
    # The token was checked before this transaction; a block may have revoked it since.
    if not await identity_service.lock_live_seeker(session, seeker_id=principal.user_id, now=now):
        raise Unauthorized("invalid or expired token")
    code = words.new_code()
    digest = words.code_hash(code, secret_key)
    plan = await session.scalar(
        select(SafetyPlan).where(SafetyPlan.conversation_id == conversation_id)
    )
    row = await code_of(session, principal.user_id, lock=True)
    if row is None:
        row = ReturnCode(
            code_hash=digest,
            language=conversation.language,
            plan=None,
            chats=1,
            created_at=now,
            last_used_at=now,
        )
        session.add(row)
        await session.flush()
        session.add(
            ReturningSeeker(seeker_id=principal.user_id, return_code_id=row.id, linked_at=now)
        )
        action = "return_code.created"
    else:
        row.code_hash = digest
        row.last_used_at = now
        action = "return_code.renewed"
    if plan is not None:
        row.plan = plan_copy(plan)
    await session.flush()
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=Role.seeker.value,
        action=action,
        conversation_id=conversation_id,
        detail={"return_code_id": row.id, "with_plan": row.plan is not None},
    )
    return row, code


async def redeem(
    uow: UnitOfWork, *, settings: Settings, typed: str, language: str, now: datetime
) -> tuple[Seeker, str, ReturnCode]:
    """A new anonymous session linked to the code: (the seeker, its token, the code)."""
    session = uow.session
    normalised = words.normalise(typed)
    row = None
    if normalised is not None:
        digest = words.code_hash(normalised, settings.secret_key)
        row = await session.scalar(
            select(ReturnCode).where(ReturnCode.code_hash == digest).with_for_update()
        )
    if row is None:
        raise Unauthorized(INVALID_MESSAGE, code="return_code_invalid")
    seeker, token = await identity_service.create_seeker(
        session, settings=settings, language=language, age_band=None, topics=[], now=now
    )
    session.add(ReturningSeeker(seeker_id=seeker.id, return_code_id=row.id, linked_at=now))
    row.last_used_at = now
    await session.flush()
    audit.record(
        session,
        actor_id=seeker.id,
        actor_role=Role.seeker.value,
        action="return_code.redeemed",
        detail={"return_code_id": row.id},
    )
    return seeker, token, row


async def mine(session: AsyncSession, principal: Principal) -> ReturnCode:
    _seeker_only(principal)
    row = await code_of(session, principal.user_id)
    if row is None:
        raise NotFound("this session has no return code", code="not_found")
    return row


async def forget(uow: UnitOfWork, principal: Principal, *, now: datetime) -> None:
    """Delete the code this session is linked to, its plan copy and every link to it."""
    row = await mine(uow.session, principal)
    session = uow.session
    await session.execute(delete(ReturningSeeker).where(ReturningSeeker.return_code_id == row.id))
    await session.execute(delete(ReturnCode).where(ReturnCode.id == row.id))
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=Role.seeker.value,
        action="return_code.forgotten",
        detail={"return_code_id": row.id},
    )


async def linked_sessions(session: AsyncSession, seeker_id: str) -> set[str]:
    """Every session linked to the same code as this one, itself included (empty when it
    has none): one young person, by their own choice."""
    code_ids = select(ReturningSeeker.return_code_id).where(ReturningSeeker.seeker_id == seeker_id)
    return set(
        await session.scalars(
            select(ReturningSeeker.seeker_id).where(
                ReturningSeeker.return_code_id.in_(code_ids.scalar_subquery())
            )
        )
    )


async def forget_for_block(
    session: AsyncSession, *, seeker_ids: set[str]
) -> tuple[list[str], set[str]]:
    """A block: every code these sessions are linked to is deleted now, with its plan copy
    and every link to it. Returns (the codes' ids, every session that was linked to them).
    Not audited here: the block's own audit names the codes.

    The codes are locked first, so a redeem in flight has either committed (its session is
    among those returned) or, once the block commits, finds no code."""
    if not seeker_ids:
        return [], set()
    locked = await session.scalars(
        select(ReturnCode.id)
        .join(ReturningSeeker, ReturningSeeker.return_code_id == ReturnCode.id)
        .where(ReturningSeeker.seeker_id.in_(seeker_ids))
        .order_by(ReturnCode.id)
        .with_for_update(of=ReturnCode)
    )
    code_ids = sorted(set(locked))
    if not code_ids:
        return [], set()
    linked = set(
        await session.scalars(
            select(ReturningSeeker.seeker_id).where(ReturningSeeker.return_code_id.in_(code_ids))
        )
    )
    await session.execute(
        delete(ReturningSeeker)
        .where(ReturningSeeker.return_code_id.in_(code_ids))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(ReturnCode)
        .where(ReturnCode.id.in_(code_ids))
        .execution_options(synchronize_session=False)
    )
    return code_ids, linked


async def keep_plan(
    session: AsyncSession, *, seeker_id: str, plan: SafetyPlan, now: datetime
) -> None:
    """A linked session's plan was opened or edited: the code keeps that version."""
    row = await code_of(session, seeker_id)
    if row is not None:
        row.plan = plan_copy(plan)
        row.last_used_at = now


async def on_started(
    session: AsyncSession, conversation: Conversation, *, now: datetime
) -> tuple[ReturningView | None, SafetyPlan | None]:
    """A volunteer took this conversation. For a seeker who came back with a code: what the
    volunteer is told, and the conversation's plan made from the code's copy (when the code
    has one and the conversation has none)."""
    row = await code_of(session, conversation.seeker_id)
    if row is None:
        return None, None
    returning = ReturningView(since=row.created_at, chats_before=row.chats)
    row.chats += 1
    row.last_used_at = now
    copy = row.plan
    if not copy:
        return returning, None
    existing = await session.scalar(
        select(SafetyPlan).where(SafetyPlan.conversation_id == conversation.id)
    )
    if existing is not None:
        return returning, None
    plan = SafetyPlan(
        conversation_id=conversation.id,
        template_id=copy["template_id"],
        template_version=copy["template_version"],
        entries=dict(copy.get("entries") or {}),
        helplines=list(copy.get("helplines") or []),
        revision=1,
        opened_by=audit.SYSTEM,
        opened_at=now,
        updated_at=now,
        updated_by_role=Role.seeker.value,
    )
    session.add(plan)
    await session.flush()
    audit.record(
        session,
        actor_id=None,
        actor_role=audit.SYSTEM,
        action="safety_plan.brought_back",
        conversation_id=conversation.id,
        detail={"plan_id": plan.id, "return_code_id": row.id},
    )
    return returning, plan


async def returning_for(session: AsyncSession, conversation: Any) -> ReturningView | None:
    """For staff resuming a conversation: whether its seeker came back with a code (the
    session was linked before the chat started, so not the chat the code was made in), and
    how many chats the code has opened besides this one."""
    found = (
        await session.execute(
            select(ReturnCode.created_at, ReturnCode.chats, ReturningSeeker.linked_at)
            .join(ReturningSeeker, ReturningSeeker.return_code_id == ReturnCode.id)
            .where(ReturningSeeker.seeker_id == conversation.seeker_id)
        )
    ).first()
    started_at = conversation.started_at
    if found is None or started_at is None or started_at < found.linked_at:
        return None
    return ReturningView(since=found.created_at, chats_before=max(found.chats - 1, 0))


def keep_for(settings: Settings) -> timedelta:
    return timedelta(days=settings.return_code_keep_days)


async def forget_unused(session: AsyncSession, *, before: datetime) -> int:
    """Delete codes last used before ``before`` (their plan copy and links with them)."""
    stale = select(ReturnCode.id).where(ReturnCode.last_used_at < before)
    await session.execute(
        delete(ReturningSeeker)
        .where(ReturningSeeker.return_code_id.in_(stale.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        delete(ReturnCode)
        .where(ReturnCode.last_used_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Record a seeker's answers without a trace back to them; count them; forget comments.

Invariants:
- An ``Outcome`` row never holds a conversation id, a seeker id or a time finer than the
  ISO week, and recording one writes no audit row (its time and actor would be the link).
- A conversation is answered at most once (``outcome_recorded``), by its own seeker, after
  it ended, within the answer window (``SEEKER_TOKEN_TTL_S`` after it ended).
- Supervisors see only ``policy.summarise``'s figures; comments are for admins, from
  released cells only, and each read is audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.access import ConversationStatus, get_for
from app.chat.models import Conversation
from app.chat.protocol import MAX_TEXT_CHARS
from app.config import Settings
from app.db import UnitOfWork
from app.errors import BadRequest, Conflict, Forbidden, InvalidTransition
from app.identity.models import Role
from app.identity.service import Principal
from app.outcomes import policy
from app.outcomes.models import Outcome


def _comment(text: str | None) -> str | None:
    """The chat's text rules: trimmed, at most ``MAX_TEXT_CHARS``; blank means none."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"comment is over {MAX_TEXT_CHARS} characters", code="text_too_long")
    return text


async def record(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    answer: policy.Answer,
    comment: str | None,
    now: datetime,
    window: timedelta,
) -> None:
    if principal.role is not Role.seeker:
        raise Forbidden("only the seeker answers the feedback questions")
    conversation, _ = await get_for(uow.session, principal, conversation_id, lock=True)
    if (
        conversation.status != ConversationStatus.ended.value
        or conversation.started_at is None
        or conversation.ended_at is None
    ):
        raise InvalidTransition("feedback is for a chat that took place and has ended")
    if conversation.outcome_recorded:
        raise Conflict("this chat's feedback was already given", code="outcome_recorded")
    if not policy.answer_window_open(ended_at=conversation.ended_at, now=now, window=window):
        raise Conflict("feedback for this chat is closed", code="outcome_closed")
    text = _comment(comment)
    uow.session.add(
        Outcome(
            week_start=policy.week_start(conversation.ended_at),
            language=conversation.language,
            risk_bucket=policy.risk_bucket(conversation.risk_level),
            mood_start=answer.mood_start,
            mood_end=answer.mood_end,
            heard=answer.heard,
            come_back=answer.come_back,
            comment=text,
        )
    )
    conversation.outcome_recorded = True
    await uow.session.flush()


async def _chats(session: AsyncSession, first: date, last: date) -> dict[policy.CellKey, int]:
    """Chats that took place and ended in the weeks ``first``..``last`` (Mondays), by cell."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=7)
    rows = await session.execute(
        select(Conversation.ended_at, Conversation.language, Conversation.risk_level).where(
            Conversation.status == ConversationStatus.ended.value,
            Conversation.started_at.is_not(None),
            Conversation.ended_at >= start,
            Conversation.ended_at < end,
        )
    )
    chats: dict[policy.CellKey, int] = {}
    for ended_at, language, level in rows:
        key = (policy.week_start(ended_at), language, policy.risk_bucket(level))
        chats[key] = chats.get(key, 0) + 1
    return chats


async def _cells(session: AsyncSession, first: date, last: date) -> dict[policy.CellKey, Any]:
    answers = await session.scalars(
        select(Outcome).where(Outcome.week_start >= first, Outcome.week_start <= last)
    )
    return policy.build_cells(
        await _chats(session, first, last),
        (
            (
                (row.week_start, row.language, row.risk_bucket),
                policy.Answer(row.mood_start, row.mood_end, row.heard, row.come_back),
            )
            for row in answers
        ),
    )


def answer_window(settings: Settings) -> timedelta:
    """A seeker may answer while they can come back to the chat (``SEEKER_TOKEN_TTL_S``)."""
    return timedelta(seconds=settings.seeker_token_ttl_s)


async def summary(
    session: AsyncSession, *, settings: Settings, now: datetime, weeks: int
) -> dict[str, Any]:
    """The aggregates over the ``weeks`` latest released weeks (``policy.summarise``)."""
    window = answer_window(settings)
    first, last = policy.released_weeks(now=now, window=window, weeks=weeks)
    cells = await _cells(session, first, last)
    figures = policy.summarise(cells, min_group=settings.outcomes_min_group)
    return {"from_week": policy.week_label(first), "to_week": policy.week_label(last), **figures}


async def comments(
    uow: UnitOfWork, principal: Principal, *, now: datetime, window: timedelta, min_group: int
) -> list[dict[str, Any]]:
    """Comments still kept, of released weeks, from cells of at least ``min_group`` chats:
    newest week first, in no order within a week. The read is audited."""
    _, last = policy.released_weeks(now=now, window=window, weeks=1)
    rows = list(
        await uow.session.scalars(
            select(Outcome)
            .where(Outcome.comment.is_not(None), Outcome.week_start <= last)
            .order_by(Outcome.week_start.desc(), Outcome.id)
        )
    )
    shown: list[dict[str, Any]] = []
    if rows:
        cells = await _cells(uow.session, min(r.week_start for r in rows), last)
        for row in rows:
            cell = cells.get((row.week_start, row.language, row.risk_bucket))
            if cell is not None and cell.chats >= min_group:
                shown.append(
                    {
                        "week": policy.week_label(row.week_start),
                        "language": row.language,
                        "comment": row.comment,
                    }
                )
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="outcomes.comments_read",
        detail={"count": len(shown)},
    )
    return shown


async def forget_comments(uow: UnitOfWork, *, today: date, retention_days: int) -> int:
    """Delete the comments ``policy.comment_expired`` says are due; the numbers stay."""
    cutoff = policy.comment_cutoff(today=today, retention_days=retention_days)
    if cutoff is None:
        return 0
    result = await uow.session.execute(
        update(Outcome)
        .where(Outcome.comment.is_not(None), Outcome.week_start <= cutoff)
        .values(comment=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Retention, a leader-run job (``app/jobs.py``): forget what was written, keep what happened.

``RETENTION_DAYS`` after a conversation ended or was abandoned, its text is deleted: the
messages, the staff whispers, the safety plan, the volunteer's wrap-up note, the handover
notes of its transfers, a reason
typed when ending it (``conversation.end`` takes free text; machine reasons such as
``left_queue`` stay), and every other free text about it (``clear_free_text``). The
conversation row (times, language, level, who ended it), escalations, referrals, risk answers
and the audit trail stay, for outcome figures and reviews, without their free text.

Volunteers' debrief notes (``app/wellbeing``) go ``RETENTION_DAYS`` after they were
written; seekers' feedback comments (``app/outcomes``) go ``RETENTION_DAYS`` after the start
of the week their chat ended in; the answers' numbers stay. A seeker's intake tags (copied
into the conversation's topics) are emptied with its text, and ``RETENTION_DAYS`` after the
session expired for a seeker who never had a conversation (``forget_seeker_tags``).

A conversation whose escalation is unresolved or whose referral is still open keeps its text
until that is settled: a supervisor may still need to read it.

Work is done in batches of ``RETENTION_BATCH_SIZE`` rows, one short transaction each, so
retention never holds SQLite's single writer for long; a tick runs at most
``MAX_BATCHES_PER_RUN`` of them and the next tick carries on.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, delete, exists, func, select, update

from app import audit
from app.chat import retention_rules
from app.chat.models import Conversation, Message
from app.chat.policy import ConversationStatus
from app.db import UnitOfWork, utcnow
from app.escalation import views as escalation_views
from app.escalation.models import Escalation, Whisper
from app.identity.models import Seeker
from app.jobs import Job
from app.outcomes import service as outcomes_service
from app.referrals.models import Referral
from app.referrals.service import FINAL as FINAL_REFERRAL_STATUSES
from app.risk.models import CueMark
from app.safety_plan.models import SafetyPlan
from app.transfer.models import ConversationTransfer
from app.wellbeing import service as wellbeing_service

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.runtime import Runtime

# At the default batch size, 10,000 rows per run: far more than a day's chats produce in
# a run's interval, and each batch gives other writers their turn.
MAX_BATCHES_PER_RUN = 20


def _referral_open(conversation_id):  # type: ignore[no-untyped-def]
    return exists().where(
        Referral.conversation_id == conversation_id,
        Referral.status.not_in(FINAL_REFERRAL_STATUSES),
        Referral.closed_reason.is_(None),
    )


async def delete_text_batch(
    uow: UnitOfWork, *, ended_before: datetime, now: datetime, batch: int
) -> int:
    """Delete at most ``batch`` rows of text from conversations that ended before
    ``ended_before``; mark those left with no text. Returns rows deleted + conversations
    marked (0: nothing is due)."""
    session = uow.session
    due = list(
        await session.scalars(
            select(Conversation.id)
            .where(
                Conversation.text_deleted_at.is_(None),
                Conversation.ended_at < ended_before,
                ~escalation_views.unresolved_in(Conversation.id),
                ~_referral_open(Conversation.id),
            )
            .order_by(Conversation.ended_at)
            .limit(batch)
        )
    )
    if not due:
        return 0
    budget = batch
    for table in (Message, Whisper, SafetyPlan):
        victims = (
            select(table.id).where(table.conversation_id.in_(due)).order_by(table.id).limit(budget)
        )
        result = await session.execute(
            delete(table)
            .where(table.id.in_(victims.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        budget -= int(result.rowcount or 0)  # type: ignore[attr-defined]
        if budget <= 0:
            return batch
    emptied = list(
        await session.scalars(
            select(Conversation.id).where(
                Conversation.id.in_(due),
                ~exists().where(Message.conversation_id == Conversation.id),
                ~exists().where(Whisper.conversation_id == Conversation.id),
                ~exists().where(SafetyPlan.conversation_id == Conversation.id),
            )
        )
    )
    if emptied:
        await clear_free_text(session, emptied, now=now)
    return batch - budget + len(emptied)


async def clear_free_text(
    session: AsyncSession, conversation_ids: list[str], *, now: datetime
) -> None:
    """Every free-text column of these conversations that can hold what a seeker said (or
    a staff member wrote about them) is emptied, and the conversations marked: those listed
    in ``retention_rules.FREE_TEXT_COLUMNS`` (a typed end reason only: machine reasons stay;
    a referral's early-closing reason becomes ``retention_rules.DELETED``, since a referral
    closed early is known by it) and the free-text keys of audit details
    (``retention_rules.AUDIT_FREE_TEXT``)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .values(
            text_deleted_at=now,
            wrapup_note=None,
            topics=[],
            end_reason=case(
                (
                    (Conversation.status == ConversationStatus.ended.value)
                    & (Conversation.ended_by != audit.SYSTEM),
                    None,
                ),
                else_=Conversation.end_reason,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    # The seeker's intake tags (free text, up to 10 of 40 characters) were copied into the
    # conversation's topics: they go with them.
    await session.execute(
        update(Seeker)
        .where(
            Seeker.id.in_(
                select(Conversation.seeker_id)
                .where(Conversation.id.in_(conversation_ids))
                .scalar_subquery()
            )
        )
        .values(topics=[])
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ConversationTransfer)
        .where(ConversationTransfer.conversation_id.in_(conversation_ids))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Escalation)
        .where(Escalation.conversation_id.in_(conversation_ids))
        .values(reason=None, outcome_note=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Referral)
        .where(Referral.conversation_id.in_(conversation_ids), Referral.closed_reason.is_not(None))
        .values(closed_reason=retention_rules.DELETED)
        .execution_options(synchronize_session=False)
    )
    # A cue mark points at a message that is now gone: not yet paraphrased, it can no longer
    # be reviewed (its counts per family and pattern stay: they hold no text).
    await session.execute(
        update(CueMark)
        .where(
            CueMark.conversation_id.in_(conversation_ids),
            CueMark.status.in_(retention_rules.CUE_MARKS_REVIEWABLE),
        )
        .values(status=retention_rules.CUE_MARK_EXPIRED)
        .execution_options(synchronize_session=False)
    )
    events = await session.execute(
        select(audit.AuditEvent.id, audit.AuditEvent.action, audit.AuditEvent.detail).where(
            audit.AuditEvent.conversation_id.in_(conversation_ids),
            audit.AuditEvent.action.in_(tuple(retention_rules.AUDIT_FREE_TEXT)),
        )
    )
    for event_id, action, detail in events.all():
        cleared = retention_rules.without_free_text(action, detail or {})
        if cleared != detail:
            await session.execute(
                update(audit.AuditEvent)
                .where(audit.AuditEvent.id == event_id)
                .values(detail=cleared)
                .execution_options(synchronize_session=False)
            )


async def forget_seeker_tags(uow: UnitOfWork, *, expired_before: datetime, batch: int) -> int:
    """Empty the intake tags of seekers whose session expired before ``expired_before`` (a
    seeker who never had a conversation keeps none past retention either). At most
    ``batch`` seekers; the next run carries on."""
    session = uow.session
    ids = list(
        await session.scalars(
            select(Seeker.id)
            .where(
                Seeker.token_expires_at < expired_before,
                func.json_array_length(Seeker.topics) > 0,
            )
            .limit(batch)
        )
    )
    if ids:
        await session.execute(
            update(Seeker)
            .where(Seeker.id.in_(ids))
            .values(topics=[])
            .execution_options(synchronize_session=False)
        )
    return len(ids)


async def run(runtime: Runtime) -> int:
    settings = runtime.settings
    done = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        now = utcnow()
        async with runtime.db.unit_of_work() as uow:
            n = await delete_text_batch(
                uow,
                ended_before=now - timedelta(days=settings.retention_days),
                now=now,
                batch=settings.retention_batch_size,
            )
        if n == 0:
            break
        done += n
        await asyncio.sleep(0)  # let the writers queued behind this batch go first
    async with runtime.db.unit_of_work() as uow:
        done += await outcomes_service.forget_comments(
            uow, today=utcnow().date(), retention_days=settings.retention_days
        )
        done += await wellbeing_service.forget_notes(
            uow, before=utcnow() - timedelta(days=settings.retention_days)
        )
        done += await forget_seeker_tags(
            uow,
            expired_before=utcnow() - timedelta(days=settings.retention_days),
            batch=settings.retention_batch_size,
        )
    return done


def job(runtime: Runtime) -> Job | None:
    """The retention job, or None when RETENTION_DAYS is 0 (keep forever)."""
    settings = runtime.settings
    if settings.retention_days == 0:
        return None
    return Job("retention", settings.retention_interval_s, run)

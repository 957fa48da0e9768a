"""Risk rules in a conversation: the checklist, the level, cues, and what they set off.

Invariants:
- A conversation's ``risk_level`` only goes up; every answer, level and change is audited
  with who and when.
- The seeker never receives checklist frames, cue frames or assessments: those go to the
  conversation's staff channel only.
- A cue raises the queue priority and prompts a screen; it never sets a level.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import AuditEvent
from app.chat import access as chat_access
from app.chat.access import ConversationView
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden
from app.escalation import paging
from app.escalation.machine import EscalationSource, PageTier
from app.identity.models import Role
from app.identity.service import Principal
from app.matching.events import QueueChanged
from app.referrals import service as referral_service
from app.risk import cue_response, feedback
from app.risk.checklist import load_checklist
from app.risk.cues import CueClass, CueMatch, strongest
from app.risk.events import (
    ChecklistProgress,
    CueFlagged,
    CueMarked,
    MethodCueAlerted,
    MethodCueEnded,
    MethodCueScreened,
    MethodCueView,
    RiskAssessed,
)
from app.risk.models import RiskAssessment
from app.risk.scoring import RiskLevel, max_level, routing_for, score


def _progress(conversation: ConversationView, assessment: RiskAssessment) -> ChecklistProgress:
    checklist = load_checklist(assessment.checklist_id)
    item = checklist.next_item(assessment.answers)
    position, about = checklist.progress(assessment.answers)
    return ChecklistProgress(
        conversation_id=conversation.id,
        assessment_id=assessment.id,
        item=item.render(conversation.language) if item is not None else None,
        answers=dict(assessment.answers),
        answered=checklist.answered(assessment.answers, conversation.language),
        position=position,
        about_total=about,
        provisional_level=score(assessment.answers).level.value,
    )


async def _staff_access(uow: UnitOfWork, principal: Principal, conversation_id: str):  # type: ignore[no-untyped-def]
    conversation, access = await chat_access.get_for(uow.session, principal, conversation_id)
    if not access.is_staff:
        raise Forbidden("only staff run the checklist")
    if not access.can_write:
        # A supervisor who only observes (or was made an observer by acknowledging) watches
        # silently; joining is what lets them act in the chat (docs/protocol.md). A volunteer
        # whose chat a supervisor took over reads along: the supervisor leads now, and two
        # people answering one checklist would overwrite each other's answers.
        if access.role is Role.volunteer:
            raise Forbidden("a supervisor took this conversation over: they lead it now")
        raise Forbidden("join the conversation to run the checklist")
    if conversation.status not in chat_access.OPEN_STATUSES:
        raise Conflict("this conversation has ended", code="conversation_closed")
    return conversation


async def _in_progress(session: AsyncSession, conversation_id: str) -> RiskAssessment | None:
    return await session.scalar(
        select(RiskAssessment).where(
            RiskAssessment.conversation_id == conversation_id,
            RiskAssessment.status == "in_progress",
        )
    )


async def start(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, now: datetime
) -> ChecklistProgress:
    """Begin (or continue) the checklist; returns where it stands."""
    conversation = await _staff_access(uow, principal, conversation_id)
    assessment = await _in_progress(uow.session, conversation_id)
    if assessment is None:
        assessment = RiskAssessment(
            conversation_id=conversation_id,
            checklist_id=load_checklist().id,
            answers={},
            started_by=principal.user_id,
            started_at=now,
        )
        uow.session.add(assessment)
        await uow.session.flush()
        audit.record(
            uow.session,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="risk.started",
            conversation_id=conversation_id,
            detail={"assessment_id": assessment.id, "checklist": assessment.checklist_id},
        )
    return _progress(conversation, assessment)


async def answer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    item_id: str,
    value: str,
    now: datetime,
) -> ChecklistProgress:
    conversation = await _staff_access(uow, principal, conversation_id)
    assessment = await _in_progress(uow.session, conversation_id)
    if assessment is None:
        raise Conflict("start the checklist first (risk.start)", code="invalid_transition")
    checklist = load_checklist(assessment.checklist_id)
    previous = assessment.answers.get(item_id)
    answers = {k: v for k, v in assessment.answers.items() if k != item_id}
    canonical = checklist.validate_answer(item_id, value, answers=answers)
    answers[item_id] = canonical
    # Changing an earlier answer can make later ones unaskable: drop those.
    kept: dict[str, str] = {}
    for item in checklist.items:
        if item.id in answers and item.ask_if.holds(kept, {}):
            kept[item.id] = answers[item.id]
    assessment.answers = kept
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="risk.answer",
        conversation_id=conversation_id,
        detail={
            "assessment_id": assessment.id,
            "item_id": item_id,
            "value": canonical,
            # A changed answer (the volunteer went back) keeps what it replaced.
            **({"previous": previous} if previous is not None else {}),
            **({"dropped": sorted(set(answers) - set(kept))} if set(answers) - set(kept) else {}),
        },
    )
    await uow.session.flush()
    return _progress(conversation, assessment)


async def submit(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, now: datetime, scale: float
) -> RiskLevel:
    conversation = await _staff_access(uow, principal, conversation_id)
    assessment = await _in_progress(uow.session, conversation_id)
    if assessment is None:
        raise Conflict("no checklist in progress", code="invalid_transition")
    screened_before = await _screened(uow.session, conversation_id)
    result = score(assessment.answers)
    assessment.status = "submitted"
    assessment.level = result.level.value
    assessment.reasons = result.reasons
    assessment.rules_version = result.rules_version
    assessment.submitted_at = now
    after = await apply_level(
        uow,
        principal,
        conversation,
        level=result.level,
        reasons=result.reasons,
        source=EscalationSource.CHECKLIST,
        note=None,
        now=now,
        scale=scale,
    )
    # Only a first screen can answer an alert: no need to read the cues after that.
    cues = set() if screened_before else await _cue_classes(uow.session, conversation_id)
    if cue_response.screen_answers_alert(cues, screened_before=screened_before):
        uow.record(MethodCueScreened(conversation.id, after.value))
    return after


async def _screened(session: AsyncSession, conversation_id: str) -> bool:
    """Whether a screen was already submitted in the conversation."""
    found = await session.scalar(
        select(RiskAssessment.id).where(
            RiskAssessment.conversation_id == conversation_id,
            RiskAssessment.status == "submitted",
        )
    )
    return found is not None


async def _cue_classes(session: AsyncSession, conversation_id: str) -> set[CueClass]:
    """The classes of the cues flagged in the conversation so far (its ``risk.cue`` audit)."""
    details = await session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.conversation_id == conversation_id, AuditEvent.action == "risk.cue"
        )
    )
    return {CueClass(detail["cue_class"]) for detail in details}


async def unscreened_method_cues(
    session: AsyncSession, *, conversation_id: str | None = None
) -> list[MethodCueView]:
    """The chats whose supervisors' method-cue alert still stands, oldest first by their
    newest flag (the last is the one a desk listening all along was alerted about last);
    with ``conversation_id``, that chat only (an empty list when its alert does not stand).

    A chat is listed while it is open (active, or waiting again after a volunteer had it), a
    seeker message in it was flagged with a cue that alerts supervisors before a screen (a
    method or an attempt; flagged while the seeker waited too), and no screen has been
    submitted in it. A seeker who never left the queue is not listed: the group of flagged
    seekers waiting (``flagged.waiting``) is how supervisors hear of them. Reads the database
    only, so every process gives the same answer. Holds no message text.
    """
    listed = select(Conversation.id, Conversation.risk_level, Conversation.status).where(
        Conversation.status.in_(chat_access.OPEN_STATUSES),
        Conversation.started_at.is_not(None),
        ~exists().where(
            RiskAssessment.conversation_id == Conversation.id,
            RiskAssessment.status == "submitted",
        ),
    )
    if conversation_id is not None:
        listed = listed.where(Conversation.id == conversation_id)
    conversations = {row.id: row for row in await session.execute(listed)}
    if not conversations:
        return []
    newest: dict[str, tuple[int, datetime]] = {}
    for cid, detail, at in await session.execute(
        select(AuditEvent.conversation_id, AuditEvent.detail, AuditEvent.at).where(
            AuditEvent.action == "risk.cue", AuditEvent.conversation_id.in_(list(conversations))
        )
    ):
        cue_class = CueClass(detail["cue_class"])
        if not cue_response.alerts_supervisors(cue_class, screened=False):
            continue
        seq = int(detail["seq"])
        if cid not in newest or seq > newest[cid][0]:
            newest[cid] = (seq, at)
    views = [
        MethodCueView(
            conversation_id=cid,
            seq=seq,
            flagged_at=at,
            level=conversations[cid].risk_level,
            status=conversations[cid].status,
        )
        for cid, (seq, at) in newest.items()
    ]
    return sorted(views, key=lambda v: (v.flagged_at, v.conversation_id))


async def end_standing_method_cue(uow: UnitOfWork, *, conversation_id: str) -> None:
    """The chat is closing (ended or abandoned; called before its status changes): when its
    method-cue alert stands (``unscreened_method_cues``), every supervisor and admin is told
    once the close is committed that it no longer does, so a desk that stays open takes down
    an alert about a chat that is over."""
    if await unscreened_method_cues(uow.session, conversation_id=conversation_id):
        uow.record(MethodCueEnded(conversation_id))


async def alert_standing_method_cue(uow: UnitOfWork, *, conversation_id: str) -> None:
    """A volunteer has just taken this chat (from the queue: a first take, or a take after a
    hand-back): when its method-cue alert stands (``unscreened_method_cues``: a method or an
    attempt flagged on a seeker message, no screen yet), every on-call supervisor and admin
    is alerted once, about the newest such message, as a live ``method_cue`` alert.

    A seeker flagged while they waited counted in the group of flagged seekers waiting, and
    leaves it at the take: without this alert a desk that stays open would never hear of a
    high-risk chat that nobody has screened. A chat already screened alerts nobody.
    """
    standing = await unscreened_method_cues(uow.session, conversation_id=conversation_id)
    if not standing:
        return
    targets = await paging.on_call_targets(uow.session, PageTier.ALL)
    uow.record(MethodCueAlerted(conversation_id, standing[-1].seq, tuple(targets)))


async def concern(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    level: RiskLevel,
    reason: str,
    now: datetime,
    scale: float,
) -> RiskLevel:
    """Clinical judgment: raise the level (never lower it)."""
    conversation = await _staff_access(uow, principal, conversation_id)
    return await apply_level(
        uow,
        principal,
        conversation,
        level=level,
        reasons=["clinical_judgment"],
        source=EscalationSource.VOLUNTEER,
        note=reason,
        now=now,
        scale=scale,
    )


async def apply_level(
    uow: UnitOfWork,
    principal: Principal,
    conversation: Conversation,
    *,
    level: RiskLevel,
    reasons: list[str],
    source: EscalationSource,
    note: str | None,
    now: datetime,
    scale: float,
) -> RiskLevel:
    """Set the conversation's level to the higher of old and new, tell staff, and route."""
    before = RiskLevel(conversation.risk_level)
    after = max_level(before, level)
    conversation.risk_level = after.value
    routing = routing_for(after)
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="risk.assessed",
        conversation_id=conversation.id,
        detail={
            "assessed": level.value,
            "before": before.value,
            "level": after.value,
            "reasons": reasons,
            "source": source.value,
        },
    )
    uow.record(
        RiskAssessed(
            conversation.id, after.value, level.value, tuple(reasons), tuple(routing.actions), note
        )
    )
    if routing.notifies or routing.pages:
        await paging.open_or_raise(
            uow,
            conversation,
            level=after,
            source=source,
            reason=note or ", ".join(reasons),
            now=now,
            scale=scale,
        )
    if after.rank >= RiskLevel.HIGH.rank:
        await referral_service.ensure_urgent_referral(
            uow, principal, conversation, level=after, now=now
        )
    return after


async def flag_cues(
    uow: UnitOfWork,
    conversation_id: str,
    *,
    seq: int,
    cues: Sequence[CueMatch],
    now: datetime,
) -> None:
    """Act on the warning signs found in a seeker's message ``seq`` (``cues``, matched once
    by the sender's path): flag for a human, never decide."""
    top = strongest(cues)
    if top is None:
        return
    conversation = await uow.session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        return
    cue_class = top.cue_class
    conversation.priority = cue_response.queue_priority(conversation.priority, cue_class)
    if conversation.status == "waiting":
        if conversation.flagged_at is None:
            conversation.flagged_at = now
        uow.record(QueueChanged())
    audit.record(
        uow.session,
        actor_id=None,
        actor_role="system",
        action="risk.cue",
        conversation_id=conversation.id,
        detail={
            "seq": seq,
            "cue_class": cue_class.value,
            "patterns": [m.pattern_ref for m in cues],
            "families": sorted({m.family for m in cues if m.family}),
        },
    )
    families = tuple(sorted({m.family for m in cues if m.family}))
    uow.record(CueFlagged(conversation.id, seq, cue_class.value, families))
    if conversation.status == "waiting":
        # A seeker still waiting is paged about in the one group of flagged seekers waiting
        # (a method or an attempt counts there at once: app/escalation/flagged.py), so a
        # flood of scripted seekers cannot page the supervisors once each.
        return
    if not cue_response.alerts_supervisors(cue_class, screened=False):
        return  # this class never alerts: no need to read whether a screen was done
    screened = await _screened(uow.session, conversation.id)
    if cue_response.alerts_supervisors(cue_class, screened=screened):
        targets = await paging.on_call_targets(uow.session, PageTier.ALL)
        uow.record(MethodCueAlerted(conversation.id, seq, tuple(targets)))


async def progress(
    session: AsyncSession, conversation: ConversationView
) -> list[CueFlagged | RiskAssessed | ChecklistProgress | CueMarked]:
    """For a staff member resuming: the cues so far, the level, and the checklist in
    progress (partial answers survive a reconnect)."""
    facts: list[CueFlagged | RiskAssessed | ChecklistProgress | CueMarked] = [
        CueFlagged(conversation.id, e.detail["seq"], e.detail["cue_class"])
        for e in await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.conversation_id == conversation.id, AuditEvent.action == "risk.cue")
            .order_by(AuditEvent.id)
        )
    ]
    if conversation.risk_level != RiskLevel.NONE.value:
        level = RiskLevel(conversation.risk_level)
        facts.append(
            RiskAssessed(
                conversation.id,
                level.value,
                level.value,
                (),
                tuple(routing_for(level).actions),
                None,
            )
        )
    assessment = await _in_progress(session, conversation.id)
    if assessment is not None:
        facts.append(_progress(conversation, assessment))
    facts += await feedback.marks(session, conversation.id)
    return facts

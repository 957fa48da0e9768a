"""Open, edit and read a conversation's safety plan.

Invariants:
- Only the conversation's writing staff (its volunteer, or a supervisor who joined or took
  over) open a plan, only while the chat is active, and only when the level's routing says
  ``offer_safety_plan``. Opening twice gives the same plan.
- The seeker and the writing staff edit it while the conversation is open; observers see it.
  An edit replaces one step's entries (the last edit of a step wins).
- Every opening and edit is audited (which step and how many entries, never the words).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat import access as chat_access
from app.chat.access import OPEN_STATUSES, ConversationStatus, ConversationView
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound
from app.identity.models import Role
from app.identity.service import Principal
from app.referrals import service as referral_service
from app.referrals.directory import Directory
from app.return_code import service as return_code_service
from app.risk.scoring import routing_for
from app.safety_plan.events import SafetyPlanChanged, SafetyPlanView
from app.safety_plan.models import SafetyPlan
from app.safety_plan.plan import load_plan

OFFER = "offer_safety_plan"


def view(
    conversation: ConversationView,
    plan: SafetyPlan,
    directory: Directory,
    language: str | None = None,
) -> SafetyPlanView:
    """The plan as its people see it, in the conversation's language unless ``language``."""
    template = load_plan()
    language = language or conversation.language
    steps = []
    for step in template.steps:
        rendered = step.render(language)
        rendered["items"] = list(plan.entries.get(step.id, []))
        steps.append(rendered)
    lines = []
    for helpline_id in plan.helplines:
        try:
            lines.append(directory.get(helpline_id).render(language))
        except KeyError:  # removed from the directory since: not shown
            continue
    return SafetyPlanView(
        conversation_id=conversation.id,
        plan_id=plan.id,
        template=f"{plan.template_id}/{plan.template_version}",
        language=language,
        intro=template.intro.get(language) or template.intro["en"],
        steps=tuple(steps),
        helplines=tuple(lines),
        revision=plan.revision,
        updated_at=plan.updated_at,
        updated_by_role=plan.updated_by_role,
    )


async def _plan(session: AsyncSession, conversation_id: str) -> SafetyPlan | None:
    return await session.scalar(
        select(SafetyPlan).where(SafetyPlan.conversation_id == conversation_id)
    )


async def open_plan(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, now: datetime
) -> tuple[SafetyPlanView, bool]:
    """(the plan, whether it was opened just now)."""
    session = uow.session
    conversation, access = await chat_access.get_for(session, principal, conversation_id, lock=True)
    if not access.is_staff or not access.can_write:
        raise Forbidden("the chat's volunteer, or a supervisor who joined, opens the plan")
    if conversation.status != ConversationStatus.active.value:
        raise Conflict("the conversation is not active", code="conversation_closed")
    directory = await referral_service.current_directory(session)
    existing = await _plan(session, conversation_id)
    if existing is not None:
        return view(conversation, existing, directory), False
    if OFFER not in routing_for(conversation.risk_level).actions:
        raise Conflict(
            f"the level ({conversation.risk_level}) does not call for a safety plan",
            code="safety_plan_not_offered",
        )
    template = load_plan()
    lines = directory.automatic(conversation.risk_level, conversation.language)
    plan = SafetyPlan(
        conversation_id=conversation_id,
        template_id=template.id,
        template_version=template.version,
        entries={},
        helplines=[line.id for line in lines],
        revision=1,
        opened_by=principal.user_id,
        opened_at=now,
        updated_at=now,
        updated_by_role=access.role.value,
    )
    session.add(plan)
    await session.flush()
    await return_code_service.keep_plan(
        session, seeker_id=conversation.seeker_id, plan=plan, now=now
    )
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=access.role.value,
        action="safety_plan.opened",
        conversation_id=conversation_id,
        detail={"plan_id": plan.id, "template": f"{template.id}/{template.version}"},
    )
    shown = view(conversation, plan, directory)
    uow.record(SafetyPlanChanged(shown))
    return shown, True


async def update(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    step: str,
    items: list[str],
    now: datetime,
) -> SafetyPlanView:
    session = uow.session
    conversation, access = await chat_access.get_for(session, principal, conversation_id, lock=True)
    if not access.can_write:
        raise Forbidden("observers see the plan; only the people in the chat edit it")
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("the conversation has ended", code="conversation_closed")
    plan = await _plan(session, conversation_id)
    if plan is None:
        raise Conflict("no safety plan is open in this chat", code="invalid_transition")
    template = load_plan()
    template.step(step)
    cleaned = template.clean_items(items)
    plan.entries = {**plan.entries, step: cleaned}
    plan.revision += 1
    plan.updated_at = now
    plan.updated_by_role = access.role.value
    await return_code_service.keep_plan(
        session, seeker_id=conversation.seeker_id, plan=plan, now=now
    )
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=access.role.value,
        action="safety_plan.updated",
        conversation_id=conversation_id,
        detail={
            "plan_id": plan.id,
            "step": step,
            "entries": len(cleaned),
            "revision": plan.revision,
        },
    )
    shown = view(conversation, plan, await referral_service.current_directory(session))
    uow.record(SafetyPlanChanged(shown))
    return shown


async def announce(uow: UnitOfWork, conversation: Conversation, plan: SafetyPlan) -> None:
    """Tell everyone in the conversation about a plan made for it by another domain (a
    return code brought it back)."""
    directory = await referral_service.current_directory(uow.session)
    uow.record(SafetyPlanChanged(view(conversation, plan, directory)))


async def current(session: AsyncSession, conversation: ConversationView) -> SafetyPlanView | None:
    """For a socket resuming the conversation: the plan, if one was opened and is kept."""
    plan = await _plan(session, conversation.id)
    if plan is None:
        return None
    return view(conversation, plan, await referral_service.current_directory(session))


async def read(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, language: str | None = None
) -> SafetyPlanView:
    """The plan over REST: for the conversation's people, and for any supervisor or admin
    (each such read is audited, as a transcript read is); in ``language`` when asked (a
    seeker's page switched language after the chat ended)."""
    session = uow.session
    if principal.role in (Role.supervisor, Role.admin):
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
    else:
        conversation, _ = await chat_access.get_for(session, principal, conversation_id)
    plan = await _plan(session, conversation_id)
    if plan is None:
        raise NotFound("no safety plan in this conversation")
    if principal.role in (Role.supervisor, Role.admin):
        audit.record(
            session,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="safety_plan.read",
            conversation_id=conversation_id,
            detail={"plan_id": plan.id},
        )
    return view(conversation, plan, await referral_service.current_directory(session), language)

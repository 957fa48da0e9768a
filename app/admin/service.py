"""What the admin console reads: the audit log, filtered, and the active data versions.

Invariants:
- The audit log is read by admins only, and every read is itself audited
  (``audit.read``, with the filters used).
- Entries come newest first, in pages of at most ``MAX_PAGE``; ``before`` (an entry id)
  continues where a page ended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app import audit, yaml_data
from app.audit import AuditEvent
from app.db import UnitOfWork
from app.escalation import machine
from app.identity.models import StaffUser
from app.identity.service import Principal
from app.outbound.frames import iso
from app.referrals import directory
from app.risk import checklist, scoring
from app.risk.cues import learned, lists
from app.safety_plan import plan as safety_plan

MAX_PAGE = 200
DEFAULT_PAGE = 50


async def read_audit_log(
    uow: UnitOfWork,
    principal: Principal,
    *,
    actor_id: str | None,
    action: str | None,
    conversation_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> dict[str, Any]:
    """Audit entries matching every filter given (``since`` inclusive, ``until``
    exclusive), newest first, with the actor's username where the actor is staff."""
    session = uow.session
    query = (
        select(AuditEvent, StaffUser.username, StaffUser.alias)
        .outerjoin(StaffUser, StaffUser.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit + 1)
    )
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action:
        # "conversation." matches every action of that family; otherwise an exact action.
        if action.endswith("."):
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if conversation_id:
        query = query.where(AuditEvent.conversation_id == conversation_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="audit.read",
        detail={
            "filters": {
                name: value
                for name, value in (
                    ("actor_id", actor_id),
                    ("action", action),
                    ("conversation_id", conversation_id),
                    ("since", iso(since) if since else None),
                    ("until", iso(until) if until else None),
                    ("before", before),
                )
                if value is not None
            },
            "entries": len(rows),
        },
    )
    return {
        "entries": [
            {
                "id": event.id,
                "at": event.at,
                "actor_id": event.actor_id,
                "actor_role": event.actor_role,
                "actor_username": username,
                "actor_alias": alias,
                "action": event.action,
                "conversation_id": event.conversation_id,
                "detail": event.detail or {},
            }
            for event, username, alias in rows
        ],
        "next_before": rows[-1][0].id if more and rows else None,
    }


def _cue_list_version(name: str) -> dict[str, Any]:
    raw = yaml_data.load((lists.LISTS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return {"id": name, "language": raw.get("language"), "version": raw.get("version")}


def active_versions() -> dict[str, Any]:
    """The data files the service runs on now, by id and version (read-only)."""
    rules = scoring.load_rules()
    questions = checklist.load_checklist(rules.checklist)
    policy = machine.load_policy()
    helplines = directory.load_directory()
    catalogue = yaml_data.load(lists.CATALOGUE.read_text(encoding="utf-8"))
    scorer = learned.load()
    template = safety_plan.load_plan()
    return {
        "checklist": {"id": questions.id, "version": questions.version},
        "rules": {"id": rules.id, "version": rules.version},
        "paging_policy": {"id": policy.id, "version": policy.version},
        "cue_lists": [_cue_list_version(name) for name in lists.DEFAULT_LISTS],
        "cue_families": {"id": "families", "version": catalogue.get("version")},
        "cue_scorer": (
            {"id": "learned", "version": scorer.version} if scorer is not None else None
        ),
        "helplines": {"id": helplines.id, "version": helplines.version},
        "safety_plan": {"id": template.id, "version": template.version},
    }

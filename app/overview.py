"""The supervisors' live overview: queue, chats, volunteers, escalations, acknowledgements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from app.chat.models import Conversation
from app.db import utcnow
from app.deps import RuntimeDep, SupervisorPrincipal
from app.escalation import views as escalation_views
from app.identity.models import Role, StaffUser
from app.matching import policy
from app.matching import service as matching_service
from app.outcomes import service as outcomes_service
from app.risk import feedback

api = APIRouter(prefix="/api/v1", tags=["overview"])
# The overview's outcomes cover this many released weeks (as GET /api/v1/outcomes?weeks=12).
OUTCOME_WEEKS = 12


@api.get("/overview")
async def overview(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    now = utcnow()
    async with runtime.db.sessionmaker() as session:
        waiting = await matching_service.waiting_snapshot(session)
        load = dict(
            (
                await session.execute(
                    select(Conversation.volunteer_id, func.count())
                    .where(Conversation.status == "active")
                    .group_by(Conversation.volunteer_id)
                )
            ).all()
        )
        online = (
            await session.execute(
                select(StaffUser.id, StaffUser.alias, StaffUser.capacity).where(
                    StaffUser.role == Role.volunteer.value,
                    StaffUser.active.is_(True),
                    StaffUser.available.is_(True),
                )
            )
        ).all()
        escalations = await escalation_views.list_unresolved(session, now=now)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        acks = await escalation_views.ack_metrics(session, since=midnight)
        cue_feedback = await feedback.counts(session, since=midnight)
        outcomes = await outcomes_service.summary(
            session, settings=runtime.settings, now=now, weeks=OUTCOME_WEEKS
        )
    by_level: dict[str, int] = {}
    for e in escalations:
        by_level[e["level"]] = by_level.get(e["level"], 0) + 1
    summary = policy.summarize(waiting, now=now, volunteers_online=len(online))
    return {
        "waiting": summary["waiting"],
        "oldest_wait_s": summary["oldest_wait_s"],
        "waiting_by_language": summary["by_language"],
        "active_chats": sum(load.values()),
        "volunteers_online": [
            {"alias": alias, "active_chats": load.get(vid, 0), "capacity": capacity}
            for vid, alias, capacity in online
        ],
        "open_escalations_by_level": by_level,
        "time_to_ack_today": acks,
        "cue_feedback_today": cue_feedback,
        "outcomes": outcomes,
        "as_of": now,
        "window_start": midnight,
    }

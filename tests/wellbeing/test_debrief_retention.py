"""Retention forgets a debrief's note and keeps that it was given (real database, no server)."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.wellbeing import service
from app.wellbeing.models import Debrief
from tests import factories


async def test_old_debrief_notes_go_and_the_rest_stays(database):
    now = utcnow()
    async with database.unit_of_work() as uow:
        volunteer = await factories.staff(uow.session)
        rows = []
        for age_days in (40, 2):
            seeker = await factories.seeker(uow.session)
            chat = await factories.conversation(
                uow.session, seeker, volunteer=volunteer, status="ended", risk_level="high"
            )
            row = Debrief(
                conversation_id=chat.id, volunteer_id=volunteer.id, level="high",
                feeling="struggling", wants=["talk"], note=f"{age_days} days ago",
                created_at=now - timedelta(days=age_days), status="open",
            )  # fmt: skip
            uow.session.add(row)
            rows.append(row)
    async with database.unit_of_work() as uow:
        assert await service.forget_notes(uow, before=now - timedelta(days=30)) >= 1
    async with database.sessionmaker() as session:
        old, recent = [await session.get(Debrief, r.id) for r in rows]
    assert old.note is None and old.feeling == "struggling" and old.wants == ["talk"]
    assert recent.note == "2 days ago"

"""Retention forgets the comments and keeps the numbers (a real database, no server)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.outcomes import service
from app.outcomes.models import Outcome


async def test_retention_deletes_comments_of_old_weeks_and_keeps_the_numbers(database):
    today = date(2026, 12, 4)
    old, recent = date(2026, 11, 2), date(2026, 11, 30)
    async with database.unit_of_work() as uow:
        for week in (old, recent):
            uow.session.add(
                Outcome(
                    week_start=week, language="zz-ret", risk_bucket="none", mood_end=3,
                    comment=f"said in {week}",
                )
            )  # fmt: skip
    async with database.unit_of_work() as uow:
        gone = await service.forget_comments(uow, today=today, retention_days=30)
    assert gone == 1
    async with database.sessionmaker() as session:
        rows = {
            r.week_start: r
            for r in await session.scalars(select(Outcome).where(Outcome.language == "zz-ret"))
        }
    assert rows[old].comment is None and rows[old].mood_end == 3
    assert rows[recent].comment == f"said in {recent}"
    async with database.unit_of_work() as uow:
        kept = await service.forget_comments(
            uow, today=today + timedelta(days=999), retention_days=0
        )
    assert kept == 0

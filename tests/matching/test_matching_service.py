"""The matching service against a real database (no server)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from app.db import Database, utcnow
from app.matching import policy
from app.matching import service as matching_service
from tests import factories


async def test_auto_assign_candidates_are_exactly_the_volunteers_the_rule_allows(
    database: Database,
):
    # The SQL filter and policy.auto_assignable over every combination that matters.
    now = utcnow()
    cooldowns = [None, now - timedelta(seconds=1), now + timedelta(minutes=5)]
    profiles = {}
    async with database.unit_of_work() as uow:
        seeker = await factories.seeker(uow.session)
        for active, available, auto_assign, trained, full, cooldown in itertools.product(
            [True, False], [True, False], [True, False], [True, False], [False, True], cooldowns
        ):
            row = await factories.staff(
                uow.session,
                active=active,
                available=available,
                auto_assign=auto_assign,
                trained=trained,
                capacity=1,
                cooldown_until=cooldown,
            )
            if full:
                await factories.conversation(uow.session, seeker, volunteer=row, status="active")
            profiles[row.id] = policy.VolunteerProfile(
                volunteer_id=row.id,
                languages=("en",),
                topics=(),
                trained=trained,
                capacity=1,
                active_chats=1 if full else 0,
                active=active,
                available=available,
                auto_assign=auto_assign,
                cooldown_until=cooldown,
            )
    async with database.reader() as session:
        candidates = set(await matching_service.auto_assign_candidates(session, now=now))
    expected = {
        vid for vid, profile in profiles.items() if policy.auto_assignable(profile, now=now)
    }
    assert expected  # the grid holds some who qualify
    assert candidates & set(profiles) == expected

"""Return codes' retention (a real database, no server): a code unused for
``RETURN_CODE_KEEP_DAYS`` goes with its plan copy and links; one in use stays."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from app.db import utcnow
from app.return_code import service
from app.return_code.models import ReturnCode, ReturningSeeker
from tests import factories


async def test_codes_unused_for_the_keep_days_are_deleted_with_their_plan_and_links(database):
    now = utcnow()
    async with database.unit_of_work() as uow:
        stale_seeker = await factories.seeker(uow.session)
        fresh_seeker = await factories.seeker(uow.session)
        stale = ReturnCode(
            code_hash=secrets.token_hex(32), language="en", plan={"entries": {"coping_alone": ["walk"]}},
            chats=3, created_at=now - timedelta(days=200), last_used_at=now - timedelta(days=91),
        )  # fmt: skip
        fresh = ReturnCode(
            code_hash=secrets.token_hex(32), language="en", plan=None, chats=1,
            created_at=now - timedelta(days=200), last_used_at=now - timedelta(days=89),
        )  # fmt: skip
        uow.session.add_all([stale, fresh])
        await uow.session.flush()
        uow.session.add_all(
            [
                ReturningSeeker(seeker_id=stale_seeker.id, return_code_id=stale.id, linked_at=now),
                ReturningSeeker(seeker_id=fresh_seeker.id, return_code_id=fresh.id, linked_at=now),
            ]
        )
        stale_id, fresh_id = stale.id, fresh.id
    async with database.unit_of_work() as uow:
        gone = await service.forget_unused(uow.session, before=now - timedelta(days=90))
    assert gone == 1
    async with database.sessionmaker() as session:
        codes = set(
            await session.scalars(
                select(ReturnCode.id).where(ReturnCode.id.in_([stale_id, fresh_id]))
            )
        )
        links = await session.scalar(
            select(func.count())
            .select_from(ReturningSeeker)
            .where(ReturningSeeker.return_code_id == stale_id)
        )
    assert codes == {fresh_id}
    assert links == 0

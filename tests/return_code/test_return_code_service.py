"""Return codes against a real database, no server: retention (a code unused for
``RETURN_CODE_KEEP_DAYS`` goes with its plan copy and links; one in use stays), and a block
racing a code being made or redeemed (nothing is left that opens the blocked seeker's
past)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.db import utcnow
from app.errors import Unauthorized
from app.identity.models import Seeker
from app.moderation import service as moderation_service
from app.return_code import service
from app.return_code.models import ReturnCode, ReturningSeeker
from tests import factories

SECRET = get_settings().secret_key


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


# -- a block and a code (app/moderation): what a race cannot leave behind ----------------


async def _ended_chat(database) -> tuple:
    """A seeker whose chat with a volunteer ended, and a supervisor: (seeker, chat, supervisor)."""
    async with database.unit_of_work() as uow:
        volunteer = await factories.staff(uow.session)
        supervisor = await factories.staff(uow.session, "supervisor")
        seeker = await factories.seeker(uow.session)
        chat = await factories.conversation(
            uow.session, seeker, volunteer=volunteer, status="ended"
        )
    return seeker, chat, supervisor


async def _ended_chat_with_code(database) -> tuple:
    """A seeker whose chat with a volunteer ended and who kept a code: (seeker, chat, words)."""
    seeker, chat, supervisor = await _ended_chat(database)
    async with database.unit_of_work() as uow:
        _, words = await service.create(
            uow,
            factories.principal_of(seeker),
            conversation_id=chat.id,
            secret_key=SECRET,
            now=utcnow(),
        )
    return seeker, chat, words, supervisor


async def _block(database, supervisor, conversation_id: str) -> moderation_service.Blocked:
    async with database.unit_of_work() as uow:
        return await moderation_service.block(
            uow,
            factories.principal_of(supervisor),
            conversation_id=conversation_id,
            note=None,
            now=utcnow(),
        )


async def _live(database, seeker_id: str) -> bool:
    async with database.sessionmaker() as session:
        expires = await session.scalar(
            select(Seeker.token_expires_at).where(Seeker.id == seeker_id)
        )
    return bool(expires and expires > utcnow())


async def _codes_of(database, seeker_ids: list[str]) -> int:
    async with database.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(ReturningSeeker)
                .where(ReturningSeeker.seeker_id.in_(seeker_ids))
            )
            or 0
        )


async def test_no_code_is_made_for_a_session_blocked_after_its_token_was_checked(database):
    seeker, chat, supervisor = await _ended_chat(database)
    checked = factories.principal_of(seeker)  # the token was good when the request came
    await _block(database, supervisor, chat.id)
    with pytest.raises(Unauthorized):
        async with database.unit_of_work() as uow:
            await service.create(
                uow, checked, conversation_id=chat.id, secret_key=SECRET, now=utcnow()
            )
    assert await _codes_of(database, [seeker.id]) == 0


async def test_a_block_waiting_on_a_code_being_made_deletes_it_once_it_is_made(database):
    seeker, chat, supervisor = await _ended_chat(database)
    # The code's transaction holds the seeker's row (PostgreSQL) or the writer (SQLite)
    # when the block starts: the block waits, then finds and deletes the code.
    async with database.unit_of_work() as uow:
        _, words = await service.create(
            uow,
            factories.principal_of(seeker),
            conversation_id=chat.id,
            secret_key=SECRET,
            now=utcnow(),
        )
        blocking = asyncio.ensure_future(_block(database, supervisor, chat.id))
        await asyncio.sleep(0.3)
        assert not blocking.done()
    blocked = await asyncio.wait_for(blocking, 10)
    assert len(blocked.return_codes) == 1
    assert await _codes_of(database, [seeker.id]) == 0
    assert not await _live(database, seeker.id)
    with pytest.raises(Unauthorized):
        async with database.unit_of_work() as uow:
            await _redeem(uow, words)


async def test_a_session_that_redeems_while_the_block_runs_is_blocked_with_it(database):
    seeker, chat, words, supervisor = await _ended_chat_with_code(database)
    # The redeem holds the code's row when the block starts: the block closes and revokes
    # what it knows, waits for the code, then finds the new session linked and blocks it.
    async with database.unit_of_work() as uow:
        newcomer, _, _ = await _redeem(uow, words)
        blocking = asyncio.ensure_future(_block(database, supervisor, chat.id))
        await asyncio.sleep(0.3)
        assert not blocking.done()
    blocked = await asyncio.wait_for(blocking, 10)
    assert blocked.sessions == [seeker.id, newcomer.id]
    assert not await _live(database, newcomer.id)
    assert await _codes_of(database, [seeker.id, newcomer.id]) == 0


async def test_a_block_leaves_other_seekers_codes_alone(database):
    blocked_seeker, chat, _, supervisor = await _ended_chat_with_code(database)
    other, _, other_words, _ = await _ended_chat_with_code(database)
    done = await _block(database, supervisor, chat.id)
    assert done.sessions == [blocked_seeker.id] and len(done.return_codes) == 1
    async with database.unit_of_work() as uow:
        back, _, _ = await _redeem(uow, other_words)
    assert await _codes_of(database, [other.id, back.id]) == 2


async def _redeem(uow, words: str):
    return await service.redeem(
        uow, settings=get_settings(), typed=words, language="en", now=utcnow()
    )

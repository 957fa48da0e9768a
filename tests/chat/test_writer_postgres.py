"""The group-commit writer on PostgreSQL, where several processes write at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from app.bus import create_bus
from app.chat.writer import MessageWriter, Pending
from app.db import Database, create_engine, utcnow
from tests.conftest import Backend
from tests.support import Server, paired


async def test_batches_crossing_the_same_conversations_do_not_deadlock(
    server: Server, backend: Backend, staff: Any
) -> None:
    if backend.name != "postgres":
        pytest.skip("row locks across processes: PostgreSQL")
    seekers = []
    for _ in range(2):
        s, v, conversation_id, seeker = await paired(server, staff)
        seekers.append((conversation_id, seeker))
        await s.close()
        await v.close()

    def send(i: int) -> Pending:
        conversation_id, seeker = seekers[i]
        return Pending(
            conversation_id,
            seeker["seeker_id"],
            "seeker",
            seeker["alias"],
            uuid.uuid4().hex,
            "hello",
            utcnow(),
        )

    engine = create_engine(backend.database_url)
    db = Database(engine, create_bus(None))
    # Two writers stand for two processes: one batch takes A then B, the other B then A.
    first, second = MessageWriter(db, db.bus), MessageWriter(db, db.bus)
    try:
        for _ in range(3):
            results = await asyncio.gather(
                first._store_postgres([send(0), send(1)]),
                second._store_postgres([send(1), send(0)]),
                return_exceptions=True,
            )
            assert not [r for r in results if isinstance(r, BaseException)], results
            # Every send stored, each conversation's seqs distinct.
            a = sorted([results[0][0], results[1][1]])
            b = sorted([results[0][1], results[1][0]])
            assert a[0] > 0 and a[1] == a[0] + 1 and b[1] == b[0] + 1
    finally:
        await first.close()
        await second.close()
        await engine.dispose()

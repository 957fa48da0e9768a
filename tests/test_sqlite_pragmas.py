"""One place owns SQLite's pragmas (app.db.SQLITE_PRAGMAS, applied by app.db.connect_sqlite):
the engine's writer connection and the chat writer's own connection both get them, read back
with PRAGMA queries; the reader pool's connections get query_only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from app.bus import MemoryBus
from app.chat.writer import MessageWriter
from app.db import Database, connect_sqlite, create_engine, sqlite_pragmas

EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "wal_autocheckpoint": 0,
    "secure_delete": 1,
    "query_only": 0,
}


def read_pragmas(execute) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {name: execute(f"PRAGMA {name}") for name in EXPECTED}


async def test_the_engine_and_the_chat_writer_connections_get_the_same_pragmas(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path}/pragmas.db"
    engine = create_engine(url, sqlite_synchronous="FULL")
    reader = create_engine(url, readonly=True)
    bus = MemoryBus()
    writer = MessageWriter(Database(engine, bus, reader), bus, sqlite_synchronous="FULL")
    try:
        async with engine.connect() as conn:
            engine_side = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one() for name in EXPECTED
            }
        chat_connection = writer._sqlite_connection()
        chat_side = read_pragmas(lambda q: chat_connection.execute(q).fetchone()[0])
        assert engine_side == chat_side == EXPECTED
        async with reader.connect() as conn:
            assert (await conn.execute(text("PRAGMA query_only"))).scalar_one() == 1
    finally:
        await writer.close()
        await engine.dispose()
        await reader.dispose()


def test_the_pragmas_are_one_list_and_a_bad_synchronous_value_is_refused(tmp_path: Path):
    assert sqlite_pragmas(synchronous="normal") == (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "wal_autocheckpoint=0",
        "secure_delete=ON",
    )
    assert sqlite_pragmas(readonly=True) == ("query_only=ON",)
    with pytest.raises(ValueError, match="synchronous"):
        connect_sqlite(str(tmp_path / "x.db"), timeout=0, synchronous="NORMAL; DROP TABLE x")

"""What retention deletes and what it keeps, on a real database, batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app import audit
from app.bus import MemoryBus
from app.chat.models import Conversation, Message
from app.chat.retention import delete_text_batch
from app.cli import migrate
from app.db import Database, create_engine, new_id, utcnow
from app.escalation.models import Escalation, Whisper
from app.identity.models import Seeker
from app.referrals.models import Referral
from tests.conftest import Backend, drop_pg_database, make_backend
from tests.support import sql

NOW = utcnow()
LONG_AGO = NOW - timedelta(days=31)
CUTOFF = NOW - timedelta(days=30)


@pytest.fixture(scope="module")
def database_url(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[str]:
    b = make_backend(backend.name, tmp_path_factory, pg_available)
    migrate(b.database_url)
    yield b.database_url
    if b.name == "postgres":
        drop_pg_database(b.database_url)


async def conversation(
    db: Database,
    *,
    status: str = "ended",
    ended_at=LONG_AGO,  # type: ignore[no-untyped-def]
    ended_by: str = "seeker",
    reason: str | None = "feeling better",
    messages: int = 3,
    escalation: str | None = None,
    referral: str | None = None,
) -> str:
    """Data setup: a finished conversation with text, and what else hangs on it."""
    async with db.unit_of_work() as uow:
        seeker = Seeker(
            alias="Quiet Otter",
            language="en",
            token_hash=new_id() + new_id(),
            token_expires_at=NOW,
        )
        uow.session.add(seeker)
        await uow.session.flush()
        row = Conversation(
            seeker_id=seeker.id,
            status=status,
            language="en",
            queued_at=ended_at - timedelta(minutes=30),
            ended_at=ended_at,
            ended_by=ended_by,
            end_reason=reason,
            wrapup_note="talked about exams",
            last_seq=messages,
        )
        uow.session.add(row)
        await uow.session.flush()
        for seq in range(1, messages + 1):
            uow.session.add(
                Message(
                    conversation_id=row.id,
                    seq=seq,
                    sender_id=seeker.id,
                    sender_role="seeker",
                    sender_alias="Quiet Otter",
                    client_msg_id=str(seq),
                    text=f"words {seq}",
                )
            )
        uow.session.add(
            Whisper(
                conversation_id=row.id,
                sender_id="v",
                sender_role="volunteer",
                sender_alias="Kind Heron",
                text="ask about tonight",
            )
        )
        if escalation:
            uow.session.add(
                Escalation(
                    conversation_id=row.id,
                    level="high",
                    source="checklist",
                    status=escalation,
                    tier="primary",
                    policy_id="p",
                    policy_version=1,
                    reason="she named her school",
                    outcome_note="called her aunt in Pune",
                )
            )
        if referral:
            uow.session.add(
                Referral(
                    conversation_id=row.id,
                    helpline_ids=["tele-manas"],
                    level="high",
                    status=referral,
                    created_by="v",
                    updated_by="v",
                    closed_reason="she moved to her uncle's" if referral != "handed_over" else None,
                )
            )
            audit.record(
                uow.session,
                actor_id="sup",
                actor_role="supervisor",
                action="referral.updated",
                conversation_id=row.id,
                detail={"referral_id": "r", "status": "closed", "reason": "her uncle's house"},
            )
        return row.id


async def test_retention_deletes_old_text_in_bounded_batches_and_keeps_what_must_stay(
    database_url,
):
    engine = create_engine(database_url)
    db = Database(engine, MemoryBus())
    try:
        typed = await conversation(db)
        left_queue = await conversation(
            db, status="abandoned", reason="left_queue", messages=1, ended_by="seeker"
        )
        settled = await conversation(db, escalation="resolved", referral="completed")
        escalated = await conversation(db, escalation="acknowledged")
        referred = await conversation(db, referral="handed_over")
        recent = await conversation(db, ended_at=NOW - timedelta(days=29))

        async def text_left() -> int:
            rows = await sql(
                database_url,
                "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM whispers)",
            )
            return rows[0][0]

        while True:
            before = await text_left()
            async with db.unit_of_work() as uow:
                done = await delete_text_batch(uow, ended_before=CUTOFF, now=NOW, batch=2)
            assert before - await text_left() <= 2, "a batch deleted more rows than allowed"
            if done == 0:
                break

        rows = {
            r[0]: r[1:]
            for r in await sql(
                database_url,
                "SELECT c.id, c.text_deleted_at IS NOT NULL, c.end_reason, c.wrapup_note, "
                "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id), "
                "(SELECT count(*) FROM whispers w WHERE w.conversation_id = c.id) "
                "FROM conversations c",
            )
        }
        # Deleted: messages, whispers and the note; a typed end reason too, not a machine one.
        assert rows[typed] == (True, None, None, 0, 0)
        assert rows[left_queue] == (True, "left_queue", None, 0, 0)
        assert rows[settled] == (True, None, None, 0, 0)
        # Kept while a supervisor may still need it, and while it is recent.
        for kept in (escalated, referred, recent):
            assert rows[kept] == (False, "feeling better", "talked about exams", 3, 1)
        # The free text outside the message tables goes too (issue #16 §4), and only there.
        escalations = dict(
            (r[0], r[1:])
            for r in await sql(
                database_url, "SELECT conversation_id, reason, outcome_note FROM escalations"
            )
        )
        assert escalations[settled] == (None, None)
        assert escalations[escalated] == ("she named her school", "called her aunt in Pune")
        referrals = dict(
            await sql(database_url, "SELECT conversation_id, closed_reason FROM referrals")
        )
        assert referrals[settled] == "[deleted]"
        assert referrals[referred] is None
        details = {
            r[0]: r[1]
            for r in await sql(
                database_url,
                "SELECT conversation_id, detail FROM audit_events WHERE action = 'referral.updated'",
            )
        }

        def reason(detail: object) -> object:
            import json

            return (json.loads(detail) if isinstance(detail, str) else detail)["reason"]

        assert reason(details[settled]) is None
        assert reason(details[referred]) == "her uncle's house"
    finally:
        await engine.dispose()


def test_every_text_column_is_either_emptied_by_retention_or_kept_for_a_stated_reason():
    """A new free-text column must be put in retention's list (or kept, saying why)."""
    from sqlalchemy import JSON, String, Text

    import app.models  # noqa: F401  (every model registered on the metadata)
    from app.chat.retention_rules import DELETED_ELSEWHERE, FREE_TEXT_COLUMNS, KEPT_TEXT_COLUMNS
    from app.db import Base

    found = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            kind = column.type
            long_string = isinstance(kind, String) and (kind.length or 10_000) > 64
            if isinstance(kind, Text | JSON) or long_string:
                found.add(f"{table.name}.{column.name}")
    assert found - FREE_TEXT_COLUMNS - set(KEPT_TEXT_COLUMNS) - set(DELETED_ELSEWHERE) == set()
    assert FREE_TEXT_COLUMNS <= found and set(KEPT_TEXT_COLUMNS) <= found
    assert set(DELETED_ELSEWHERE) <= found


def test_audit_details_lose_only_their_free_text():
    from app.chat.retention_rules import without_free_text

    detail = {"referral_id": "r1", "status": "closed", "reason": "her school said"}
    assert without_free_text("referral.updated", detail) == {
        "referral_id": "r1",
        "status": "closed",
        "reason": None,
    }
    assert without_free_text("escalation.paged", {"tier": "all"}) == {"tier": "all"}


def file_holds(path: str, text: str) -> bool:
    return text.encode() in Path(path).read_bytes()


async def test_on_sqlite_deleted_text_is_not_left_in_the_database_file(database_url):
    """secure_delete: the bytes of a deleted message are overwritten, not just unlinked.

    Debian's SQLite is built with SECURE_DELETE on by default; app/db.py sets the pragma
    anyway, for builds without it. The control at the end shows this test's way of
    looking finds text that a connection without secure_delete leaves behind."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: VACUUM, see the README")
    import sqlite3

    from sqlalchemy.engine import make_url

    marker = "asha-" + new_id()
    engine = create_engine(database_url)
    db = Database(engine, MemoryBus())
    try:
        cid = await conversation(db, ended_at=NOW - timedelta(days=400))
        await sql(
            database_url,
            "UPDATE messages SET text = :t WHERE conversation_id = :c",
            t=marker,
            c=cid,
        )
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1
        while True:
            async with db.unit_of_work() as uow:
                if not await delete_text_batch(uow, ended_before=CUTOFF, now=NOW, batch=500):
                    break
    finally:
        await engine.dispose()
    path = make_url(database_url).database
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not file_holds(path, marker)
    control = "control-" + new_id()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA secure_delete=OFF")
        raw.execute("CREATE TABLE IF NOT EXISTS scratch (t TEXT)")
        raw.execute("INSERT INTO scratch VALUES (?), (?)", (control, "x" * 200))
        raw.commit()
        raw.execute("DELETE FROM scratch WHERE t = ?", (control,))
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert file_holds(path, control)


async def test_retention_deletes_the_safety_plan_with_the_messages(database_url):
    from app.safety_plan.models import SafetyPlan

    engine = create_engine(database_url)
    db = Database(engine, MemoryBus())
    try:
        old = await conversation(db)
        recent = await conversation(db, ended_at=NOW - timedelta(days=29))
        async with db.unit_of_work() as uow:
            for cid in (old, recent):
                uow.session.add(
                    SafetyPlan(
                        conversation_id=cid, template_id="stanley-brown-v1", template_version=1,
                        entries={"coping_alone": ["a walk"]}, helplines=["tele_manas"],
                        opened_by="v", updated_by_role="seeker",
                    )
                )  # fmt: skip
        while True:
            async with db.unit_of_work() as uow:
                if await delete_text_batch(uow, ended_before=CUTOFF, now=NOW, batch=500) == 0:
                    break
        plans = {r[0] for r in await sql(database_url, "SELECT conversation_id FROM safety_plans")}
        assert old not in plans and recent in plans
        deleted = await sql(
            database_url, "SELECT text_deleted_at FROM conversations WHERE id = :c", c=old
        )
        assert deleted[0][0] is not None
    finally:
        await engine.dispose()


async def test_a_seekers_intake_tags_go_with_their_conversations_or_after_their_session(
    database_url,
):
    """Tags a seeker typed at intake (POST /api/v1/seekers ``topics``) are their words too:
    they were kept on the seeker row for ever."""
    from sqlalchemy import update

    from app.chat.retention import forget_seeker_tags

    engine = create_engine(database_url)
    db = Database(engine, MemoryBus())
    try:
        old = await conversation(db)
        recent = await conversation(db, ended_at=NOW - timedelta(days=29))
        async with db.unit_of_work() as uow:
            seeker_of = {
                cid: (await uow.session.get(Conversation, cid)).seeker_id for cid in (old, recent)
            }
            await uow.session.execute(
                update(Seeker)
                .where(Seeker.id.in_(list(seeker_of.values())))
                .values(topics=["dad hits me"])
            )
            lonely = [
                Seeker(
                    alias="Still Pond",
                    language="en",
                    token_hash=new_id() + new_id(),
                    token_expires_at=expires,
                    topics=["exams", "dad hits me"],
                )
                for expires in (LONG_AGO, NOW - timedelta(days=1))
            ]
            uow.session.add_all(lonely)
            await uow.session.flush()
            gone, kept = lonely[0].id, lonely[1].id
        while True:
            async with db.unit_of_work() as uow:
                if not await delete_text_batch(uow, ended_before=CUTOFF, now=NOW, batch=100):
                    break
        async with db.unit_of_work() as uow:
            assert await forget_seeker_tags(uow, expired_before=CUTOFF, batch=100) >= 1

        import json

        tags = {
            r[0]: (json.loads(r[1]) if isinstance(r[1], str) else r[1])
            for r in await sql(database_url, "SELECT id, topics FROM seekers")
        }
        assert tags[seeker_of[old]] == []
        assert tags[seeker_of[recent]] == ["dad hits me"]
        assert tags[gone] == []
        assert tags[kept] == ["exams", "dad hits me"]
    finally:
        await engine.dispose()

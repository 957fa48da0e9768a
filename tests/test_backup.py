"""``peerline backup`` copies a SQLite database while the service writes to it, and the copy
is a working service's database."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FAST, create_pg_database, drop_pg_database, need
from tests.support import (
    Server,
    WsClient,
    env_for,
    login,
    new_seeker,
    run_cli,
    sql,
    unique_language,
)


@pytest.mark.slow
async def test_backup_of_a_live_sqlite_service_restores_with_its_data(tmp_path: Path):
    language = unique_language()
    live_env = env_for(f"sqlite:///{tmp_path}/live.db", **FAST)
    run_cli(["migrate"], live_env)
    run_cli(
        ["create-user", "--role", "volunteer", "--username", "vol", "--trained",
         "--languages", language],
        live_env,
        "volunteer-pass-1\n",
    )  # fmt: skip
    live = Server(live_env).start()
    try:
        volunteer = await login(live.base_url, "vol", "volunteer-pass-1")
        seeker = await new_seeker(live.base_url, language)
        s = await WsClient.open(live.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        cid = (await s.recv("queue.status"))["conversation_id"]
        v = await WsClient.open(live.ws_url, volunteer["access_token"])
        await v.send({"type": "queue.take"})
        await v.recv("conversation.started")
        sent = [f"message {i} before the backup" for i in range(20)]
        for i, text in enumerate(sent):
            await s.send(
                {
                    "type": "chat.send",
                    "conversation_id": cid,
                    "client_msg_id": f"m{i}",
                    "text": text,
                }
            )
            await s.recv("chat.ack")

        # Keep writing while the backup runs: the copy is a consistent snapshot all the same.
        async def keep_writing() -> None:
            for i in range(200):
                await v.send(
                    {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"w{i}",
                     "text": f"written during the backup {i}"}
                )  # fmt: skip
                await v.recv("chat.ack", timeout=10)

        writer = asyncio.create_task(keep_writing())
        copy = tmp_path / "backups" / "copy.db"
        copy.parent.mkdir()
        out = await asyncio.to_thread(run_cli, ["backup", str(copy)], live_env)
        await writer
        assert f"to {copy}" in out
        assert not (tmp_path / "backups" / "copy.db.partial").exists()
        # A backup never overwrites.
        with pytest.raises(RuntimeError, match="exists"):
            run_cli(["backup", str(copy)], live_env)
        await s.close()
        await v.close()
    finally:
        live.stop()

    restored = Server(env_for(f"sqlite:///{copy}", **FAST)).start()
    try:
        # The staff account, the seeker's token and every message stored before the backup.
        await login(restored.base_url, "vol", "volunteer-pass-1")
        s = await WsClient.open(restored.ws_url, seeker["seeker_token"])
        listed = s.auth_ok["active_conversations"]
        assert [c["conversation_id"] for c in listed] == [cid]
        await s.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
        resumed = await s.recv("conversation.resumed", timeout=10)
        texts = [
            frame["text"]
            for frame in s.pending
            if frame["type"] == "chat.message" and frame["sender_role"] == "seeker"
        ]
        assert texts == sent
        # The snapshot is whole: its seqs run 1..last_seq with no gap.
        seqs = [frame["seq"] for frame in s.pending if frame["type"] == "chat.message"]
        assert seqs == list(range(1, resumed["last_seq"] + 1))
        await s.close()
    finally:
        restored.stop()


@pytest.mark.slow
def test_the_documented_pg_dump_and_pg_restore_bring_a_database_back(pg_available: bool):
    """README, Backups: pg_dump --format=custom, then pg_restore --clean --if-exists
    --no-owner into the same database, over what was written since."""
    need(pg_available and shutil.which("pg_dump") is not None, "PostgreSQL with pg_dump")
    url = create_pg_database()
    try:
        env = env_for(url)
        run_cli(["migrate"], env)
        run_cli(["create-user", "--role", "admin", "--username", "before"], env, "x" * 12)
        dump = subprocess.run(
            ["pg_dump", "--format=custom", url], capture_output=True, check=True, timeout=120
        ).stdout
        run_cli(["create-user", "--role", "admin", "--username", "after"], env, "x" * 12)
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", url],
            input=dump, capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        names = asyncio.run(sql(url, "SELECT username FROM staff_users ORDER BY username"))
        assert [row[0] for row in names] == ["before"]
        run_cli(["migrate"], env)  # the restored schema is at head already
    finally:
        drop_pg_database(url)

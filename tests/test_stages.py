"""Benchmark mode (STAGE_TIMES_PATH, app/stages.py): a server that was told to note each
message's time by stage writes, when it stops, every stored message's stages in order, the
event loop's lateness, collections and checkpoints, and nothing that names anyone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FAST, Backend, StaffFactory
from tests.support import Server, env_for, paired


@pytest.fixture
def noting(migrated: Callable[[str], Backend], tmp_path: Path):
    backend = migrated("sqlite")
    env = env_for(
        backend.database_url, **FAST, STAGE_TIMES_PATH=str(tmp_path / "stages-{pid}.json")
    )
    srv = Server(env).start()
    yield srv, StaffFactory(backend.database_url, srv.base_url)
    srv.stop()


def only_stage_file(directory: Path) -> str:
    (path,) = directory.glob("stages-*.json")  # {pid} became the server's process id
    return path.read_text()


async def test_a_stopped_server_writes_each_messages_stages(
    noting: tuple[Server, StaffFactory], tmp_path: Path
):
    srv, staff = noting
    s, v, cid, seeker = await paired(srv, staff)
    volunteer = v.staff  # type: ignore[attr-defined]
    words = {"seeker": "exams are close and I feel tired", "volunteer": "I hear you. Go on."}
    for n in range(5):
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"s{n}",
             "text": words["seeker"]}
        )  # fmt: skip
        await v.recv("chat.message", where=lambda f, n=n: f["client_msg_id"] == f"s{n}")
        await v.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"v{n}",
             "text": words["volunteer"]}
        )  # fmt: skip
        await s.recv("chat.message", where=lambda f, n=n: f["client_msg_id"] == f"v{n}")
    await s.close()
    await v.close()
    srv.stop()

    raw = only_stage_file(tmp_path)
    summary = json.loads(raw)
    assert summary["messages"] == 10  # every message, each handed to its sockets
    assert summary["stages"] == ["queued", "batch", "committed", "published", "handed"]
    for stage in [*summary["stages"], "total"]:
        times = summary["stage_ms"][stage]
        assert times["n"] == 10
        assert 0 <= times["p50"] <= times["p99"] <= times["p99.9"] <= times["max"]
    totals = summary["stage_ms"]["total"]
    assert totals["max"] >= max(row["total"] for row in summary["slowest_ms"]) > 0
    assert summary["loop_late_ms"]["n"] > 0
    assert summary["checkpoint_ms"]["n"] >= 0
    for secret in [*words.values(), cid, seeker["seeker_token"], volunteer.token]:
        assert secret not in raw

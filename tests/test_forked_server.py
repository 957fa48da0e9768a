"""The tests' fork server (tests/forked_server.py): a forked ``peerline`` is the process it was
asked for, with its own environment, input, output and exit code, as a new process would be."""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx
import pytest

from tests import forked_server
from tests.conftest import Backend
from tests.support import ROOT, Server, env_for, login, run_cli


def test_a_variable_read_at_import_or_the_switch_makes_it_a_new_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_FORK_SERVERS", raising=False)
    env = env_for("sqlite:///unused.db")
    serve = [forked_server.PEERLINE, "serve"]
    assert forked_server.can_fork(serve, env)
    for name, value in (
        ("PYTHONHASHSEED", "7"),
        ("PYTHONMALLOC", "debug"),
        ("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics"),
        ("TZ", "Asia/Kolkata"),
        ("LC_ALL", "hi_IN.UTF-8"),
    ):
        assert not forked_server.can_fork(serve, {**env, name: value}), name
    monkeypatch.setenv("TEST_FORK_SERVERS", "0")
    assert not forked_server.can_fork(serve, env)


async def test_forked_servers_and_commands_keep_their_own_database_input_and_exit_code(
    monkeypatch: pytest.MonkeyPatch, migrated: Callable[[str], Backend]
) -> None:
    monkeypatch.delenv("TEST_FORK_SERVERS", raising=False)
    env_a = env_for(migrated("sqlite").database_url)
    env_b = env_for(migrated("sqlite").database_url)
    run_cli(["create-user", "--role", "admin", "--username", "only_in_a"], env_a, "a-pass-1234\n")
    # The password arrives on the command's input; its refusal on its error output and code.
    other = forked_server.run(
        ["set-password", "only_in_a"], env=env_b, cwd=ROOT, stdin="b-pass-1234\n", timeout=60
    )
    assert other.returncode == 1
    assert "no staff account is named 'only_in_a'" in other.stderr
    servers = [Server(env_a).start(), Server(env_b).start()]
    try:
        assert [type(s.process) for s in servers] == [forked_server.ForkedProcess] * 2
        await login(servers[0].base_url, "only_in_a", "a-pass-1234")
        async with httpx.AsyncClient(base_url=servers[1].base_url) as http:
            refused = await http.post(
                "/api/v1/auth/login", json={"username": "only_in_a", "password": "a-pass-1234"}
            )
        assert refused.status_code == 401
    finally:
        codes = [s.stop() for s in servers]
    # uvicorn ends by raising the SIGTERM it caught again, as a new process would.
    assert codes == [-signal.SIGTERM, -signal.SIGTERM]
    # Its pid is the server's own, and its output is in its own log.
    for s in servers:
        assert s.process is not None
        assert f"Started server process [{s.process.pid}]" in s.log_text()

"""The ``peerline`` command as an operator uses it: accounts, passwords, workers, backups."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app.cli import workers_refusal
from tests.support import Server, env_for, login, run_cli, run_peerline


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    env = env_for(f"sqlite:///{tmp_path}/cli.db")
    run_cli(["migrate"], env)
    return env


def test_set_password_replaces_the_password_and_create_user_on_a_taken_name_says_how(
    sqlite_env: dict[str, str],
):
    run_cli(["create-user", "--role", "admin", "--username", "ops"], sqlite_env, "first-pass-123\n")

    again = run_peerline(
        ["create-user", "--role", "admin", "--username", "ops"], sqlite_env, "x" * 12
    )
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert "peerline set-password ops" in again.stderr

    short = run_peerline(["set-password", "ops"], sqlite_env, "short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr

    nobody = run_peerline(["set-password", "nobody"], sqlite_env, "second-pass-456\n")
    assert nobody.returncode == 1 and "no staff account is named 'nobody'" in nobody.stderr

    out = run_cli(["set-password", "ops"], sqlite_env, "second-pass-456\n")
    assert "new password set for ops" in out

    server = Server(sqlite_env).start()
    try:
        r = httpx.post(
            server.base_url + "/api/v1/auth/login",
            json={"username": "ops", "password": "first-pass-123"},
        )
        assert r.status_code == 401
        # A failed sign-in makes this username wait (LOGIN_DELAY_BASE_S, 1 s) before the next.
        time.sleep(float(r.headers.get("Retry-After", "1")) + 0.2)
        body = asyncio.run(login(server.base_url, "ops", "second-pass-456"))
        assert body["role"] == "admin"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--max-chats", "0"], "--max-chats"),
        (["--max-chats", "11"], "--max-chats"),
        (["--languages", "English"], "--languages"),
        (["--languages", "en,"], None),  # an empty entry is dropped, as before
        (["--languages", ","], "--languages"),  # nothing left: no language at all
    ],
)
def test_create_user_holds_languages_and_max_chats_to_the_rest_apis_rules(
    sqlite_env: dict[str, str], args: list[str], said: str | None
):
    """README: the account follows the REST API's rules (StaffCreate), so no account exists
    that the API could not have made."""
    result = run_peerline(
        ["create-user", "--role", "volunteer", "--username", "vol", *args], sqlite_env, "p" * 12
    )
    if said is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert said in result.stderr
    # Nothing was made: the name is still free.
    assert "created volunteer vol" in run_cli(
        ["create-user", "--role", "volunteer", "--username", "vol"], sqlite_env, "p" * 12
    )


def test_demo_run_twice_points_to_a_command_that_works(sqlite_env: dict[str, str]):
    first = run_cli(["demo"], sqlite_env)
    assert "volunteer1" in first
    second = run_cli(["demo"], sqlite_env)
    assert "peerline set-password USERNAME" in second
    # ... and that command works for a demo account.
    assert "new password set" in run_cli(["set-password", "volunteer1"], sqlite_env, "n" * 12)


@pytest.mark.slow  # starts peerline processes
@pytest.mark.parametrize(
    ("database_url", "redis_url", "names"),
    [
        ("sqlite:///x.db", None, ["DATABASE_URL=postgresql://", "REDIS_URL=redis://"]),
        ("sqlite:///x.db", "redis://127.0.0.1:6379/0", ["DATABASE_URL=postgresql://"]),
        ("postgresql://u:p@127.0.0.1:5432/db", None, ["REDIS_URL=redis://"]),
    ],
)
def test_serve_with_several_workers_is_refused_without_postgres_and_redis(
    tmp_path, database_url: str, redis_url: str | None, names: list[str]
):
    env = env_for(database_url, redis_url)
    result = run_peerline(["serve", "--workers", "2", "--port", "1"], env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for name in names:
        assert name in result.stderr
    assert "--workers 1" in result.stderr


def test_several_workers_are_allowed_with_postgres_and_redis():
    assert workers_refusal(1, is_sqlite=True, redis_url=None) is None
    assert workers_refusal(4, is_sqlite=False, redis_url="redis://r:6379/0") is None
    assert workers_refusal(4, is_sqlite=False, redis_url=None) is not None


@pytest.mark.slow  # starts a peerline process
def test_backup_of_postgres_points_to_pg_dump():
    env = env_for("postgresql://u:p@127.0.0.1:5432/db")
    result = run_peerline(["backup", "/tmp/never-written.db"], env)
    assert result.returncode == 1
    assert "pg_dump --format=custom" in result.stderr
    # README, Backups: the same restore (into the same database, the service stopped).
    assert "pg_restore --clean --if-exists --no-owner" in result.stderr

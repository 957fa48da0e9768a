"""``peerline create-user`` takes the same usernames and passwords as ``POST /api/v1/staff``
(one rule, app/identity/schemas.py), so no account exists that the API would refuse."""

from __future__ import annotations

import subprocess

import pytest

from app.identity.schemas import password_problem, username_problem
from tests.conftest import Backend
from tests.support import env_for, run_peerline


@pytest.mark.parametrize(
    "username", ["ab", "has space", "naïve", "x" * 65, "semi;colon", "new\nline", ""]
)
def test_the_shared_rule_refuses_what_the_api_refuses(username):
    assert username_problem(username) is not None


def test_the_shared_rule_takes_ordinary_usernames_and_refuses_short_passwords():
    for name in ("asha", "ravi.k", "vol_2", "A-1"):
        assert username_problem(name) is None
    assert password_problem("short") is not None
    assert password_problem("long-enough-pw") is None


def create_user(
    env: dict[str, str], username: str, password: str
) -> subprocess.CompletedProcess[str]:
    return run_peerline(
        ["create-user", "--role", "volunteer", "--username", username],
        env,
        password + "\n",
        timeout=60,
    )


def test_create_user_refuses_a_username_the_api_would_refuse(backend: Backend):
    env = env_for(backend.database_url)
    bad = create_user(env, "has space", "long-enough-pw")
    assert bad.returncode != 0 and "refused" in bad.stderr
    short = create_user(env, "ok_name_cli", "short")
    assert short.returncode != 0 and "password refused" in short.stderr
    good = create_user(env, "ok_name_cli", "long-enough-pw")
    assert good.returncode == 0, good.stderr

"""Settings fail fast and normalise database URLs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import PLACEHOLDER_SECRET, Settings


def test_placeholder_secret_stops_startup_outside_development():
    with pytest.raises(ValidationError, match="SECRET_KEY is still the placeholder"):
        Settings(peerline_env="production", secret_key=PLACEHOLDER_SECRET)
    with pytest.raises(ValidationError):
        Settings(peerline_env="test", secret_key="")
    assert Settings(peerline_env="development", secret_key=PLACEHOLDER_SECRET)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_database_urls_are_normalised(given, expected):
    assert Settings(database_url=given, secret_key="s" * 40).database_url == expected


def test_default_is_embedded_sqlite_and_in_process_bus(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    s = Settings(_env_file=None, secret_key="s" * 40)
    assert s.database_url.startswith("sqlite+aiosqlite:///./var/") and s.redis_url is None


def test_a_secret_key_shorter_than_32_bytes_is_refused_outside_development():
    for env in ("production", "test"):
        with pytest.raises(ValidationError, match="at least 32") as caught:
            Settings(peerline_env=env, secret_key="s" * 24 + "-sekrit")
        assert "sekrit" not in str(caught.value)  # a refused secret is never echoed
    # Bytes, not characters: 11 Devanagari letters are 33 bytes.
    assert Settings(peerline_env="production", secret_key="क" * 11)
    assert Settings(peerline_env="production", secret_key="s" * 32)
    assert Settings(peerline_env="development", secret_key="short")


def test_the_server_refuses_to_start_with_a_short_secret(tmp_path):
    from tests.support import env_for, run_peerline

    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    env.update(PEERLINE_ENV="production", SECRET_KEY="only-twenty-bytes-ok")
    result = run_peerline(["serve", "--port", "1"], env, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is 20 bytes; at least 32" in result.stderr + result.stdout


def test_api_docs_are_on_except_in_production():
    key = "s" * 40
    assert Settings(peerline_env="development", secret_key=key).docs_enabled
    assert not Settings(peerline_env="production", secret_key=key).docs_enabled
    assert Settings(peerline_env="production", secret_key=key, api_docs=True).docs_enabled
    assert not Settings(peerline_env="test", secret_key=key, api_docs=False).docs_enabled


def test_flagged_ghosts_are_closed_only_after_the_presence_staleness():
    with pytest.raises(ValidationError, match="FLAGGED_GHOST_CLOSE_S"):
        Settings(secret_key="s" * 40, presence_interval_s=30, flagged_ghost_close_s=60)
    assert Settings(secret_key="s" * 40, presence_interval_s=30, flagged_ghost_close_s=90)
    assert Settings(secret_key="s" * 40).flagged_ghost_close_s == 300

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

"""The schema comes only from migrations, and they agree with the models."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.cli import migrate
from app.db import create_engine
from app.models import metadata
from tests.conftest import Backend


def test_empty_database_migrates_to_head_with_no_drift(backend: Backend, tmp_path):
    url = backend.database_url
    if backend.name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
        migrate(url)  # the session fixture already migrated the shared one

    async def diff() -> list:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                    )
                )
        finally:
            await engine.dispose()

    differences = asyncio.run(diff())
    assert differences == [], f"models and migrations disagree: {differences}"


@pytest.mark.parametrize("_", [0])
def test_migrating_twice_is_harmless(tmp_path, _):
    url = f"sqlite+aiosqlite:///{tmp_path}/twice.db"
    migrate(url)
    migrate(url)

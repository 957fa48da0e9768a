"""A server whose background jobs run in seconds, not minutes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.cli import migrate
from tests.conftest import Backend, Fresh, StaffFactory, drop_pg_database, make_backend
from tests.jobs.jobs_support import JOBS
from tests.support import Server, env_for


@pytest.fixture(scope="session")
def jobs_server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Fresh]:
    """One server per database kind, on a database of its own, with the JOBS settings."""
    b = make_backend(backend.name, tmp_path_factory, pg_available)
    migrate(b.database_url)
    srv = Server(env_for(b.database_url, **JOBS)).start()
    yield Fresh(srv, StaffFactory(b.database_url, srv.base_url), b.database_url)
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)

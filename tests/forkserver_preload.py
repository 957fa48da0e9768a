"""What the tests' fork server imports once, before it forks any server (tests/forked_server.py).

Everything a ``peerline serve`` imports before it answers, except ``app.main``: importing that
module builds the app from the settings, and the settings are each server's own (its
environment), so every forked server imports it itself. Nothing imported here reads the
environment as it is imported, except what ``forked_server.can_fork`` compares (Python's own
variables, the locale, prometheus-client's multiprocess directory). The clinical data files
are loaded too: their loaders cache what they read, whoever asks.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

import app
from app.clinical_data import load_clinical_data

SKIPPED = ("app.main", "app.migrations")

for found in pkgutil.walk_packages(app.__path__, "app."):
    if not found.name.startswith(SKIPPED):
        importlib.import_module(found.name)

# What uvicorn imports by name when it starts (its HTTP protocol, its loop, its lifespan).
for name in (
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "uvicorn.loops.uvloop",
    "uvicorn.loops.auto",
):
    with contextlib.suppress(ImportError):  # a renamed module costs its import, no more
        importlib.import_module(name)

load_clinical_data()

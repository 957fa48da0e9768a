"""The ``peerline`` command: serve, migrate, create-user, set-password, backup, demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sqlite3
import sys
from importlib.resources import files
from pathlib import Path

from app import metrics
from app.bus import MemoryBus
from app.config import get_settings
from app.db import Database, create_engine, utcnow
from app.errors import Conflict
from app.identity import service as identity_service
from app.identity.models import Role, StaffUser
from app.identity.schemas import (
    languages_problem,
    max_chats_problem,
    password_problem,
    username_problem,
)
from app.logs import log_config


def alembic_config(database_url: str | None = None):  # type: ignore[no-untyped-def]
    """Alembic's configuration, built here: the scripts ship inside the package
    (``app/migrations``), so an installed wheel migrates from any working directory with no
    ``alembic.ini`` beside it. (The repository's ``alembic.ini`` is for developers running
    ``alembic revision``.)"""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("app") / "migrations"))
    config.attributes["database_url"] = database_url or get_settings().database_url
    return config


def ensure_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite") and ":///" in database_url:
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def migrate(database_url: str | None = None) -> None:
    from alembic import command

    url = database_url or get_settings().database_url
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), "head")


async def _create_user(
    *,
    username: str,
    password: str,
    role: str,
    languages: list[str],
    trained: bool,
    max_chats: int,
    exist_ok: bool = False,
) -> bool:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    db = Database(engine, MemoryBus())
    try:
        async with db.unit_of_work() as uow:
            await identity_service.create_staff(
                uow.session,
                username=username,
                password=password,
                role=Role(role),
                languages=languages,
                topics=[],
                max_concurrent_chats=max_chats,
                trained=trained,
                now=utcnow(),
            )
        return True
    except Conflict:
        if exist_ok:
            return False
        raise
    finally:
        await engine.dispose()


async def _set_password(username: str, password: str) -> bool:
    """Give a staff account a new password; False when there is no such account."""
    from sqlalchemy import select

    settings = get_settings()
    engine = create_engine(settings.database_url)
    db = Database(engine, MemoryBus())
    try:
        async with db.unit_of_work() as uow:
            user_id = await uow.session.scalar(
                select(StaffUser.id).where(StaffUser.username == username)
            )
            if user_id is None:
                return False
            await identity_service.update_staff(
                uow.session, user_id=user_id, changes={"password": password}, now=utcnow()
            )
        return True
    finally:
        await engine.dispose()


def read_new_password() -> str:
    """A new password from stdin, held to the REST API's rule."""
    password = read_password()
    if (problem := password_problem(password)) is not None:
        raise SystemExit(f"password refused: {problem}")
    return password


def read_password(prompt: str = "Password: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


DEMO_ACCOUNTS = (
    ("admin", "admin", ["en", "hi"], False),
    ("supervisor", "supervisor", ["en", "hi"], True),
    ("volunteer1", "volunteer", ["en", "hi"], True),
    ("volunteer2", "volunteer", ["en"], True),
)


def demo() -> None:
    """Create the demo staff accounts once and print their passwords (shown only now)."""
    created = []
    for username, role, languages, trained in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        if asyncio.run(
            _create_user(
                username=username,
                password=password,
                role=role,
                languages=languages,
                trained=trained,
                max_chats=2,
                exist_ok=True,
            )
        ):
            created.append((username, role, password))
    if created:
        print("Demo staff accounts (passwords are shown only this once):")
        for username, role, password in created:
            print(f"  {role:<11} {username:<12} {password}")
    else:
        print("Demo staff accounts exist already (passwords were printed when they were made;")
        print("reset one with: peerline set-password USERNAME, the new password on stdin,")
        print("or delete ./var to start afresh).")


def workers_refusal(workers: int, *, is_sqlite: bool, redis_url: str | None) -> str | None:
    """Why ``--workers`` cannot be more than 1 here, or None when it can.

    Each worker is a process with its own in-process bus unless Redis joins them, and on
    SQLite the processes would share one file's single writer: a message sent on one worker
    would be stored but not delivered live to a socket held by another."""
    if workers <= 1:
        return None
    missing = []
    if is_sqlite:
        missing.append("DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB (not SQLite)")
    if not redis_url:
        missing.append("REDIS_URL=redis://HOST:6379/0")
    if not missing:
        return None
    return (
        f"peerline serve --workers {workers}: several worker processes need PostgreSQL and "
        "Redis, or live messages between sockets on different workers are lost. Set "
        + " and ".join(missing)
        + ", or run one worker (--workers 1)."
    )


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    settings = get_settings()
    refusal = workers_refusal(workers, is_sqlite=settings.is_sqlite, redis_url=settings.redis_url)
    if refusal:
        raise SystemExit(refusal)
    metrics.prepare_multiprocess(workers)  # the workers share their counts (app/metrics.py)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        # Never log client addresses or user agents: seekers are anonymous.
        access_log=False,
        proxy_headers=False,
        server_header=False,
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=False,
        ws="app.socket_protocol:PeerlineWebSocketProtocol",
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        log_config=log_config(),
    )


PG_BACKUP_ADVICE = (
    "peerline backup copies a SQLite database. For PostgreSQL use its own tools, e.g. "
    'pg_dump --format=custom --file=peerline.dump "$DATABASE_URL" (safe while serving); '
    "to restore, stop the service and run pg_restore --clean --if-exists --no-owner "
    "--dbname=URL peerline.dump, then start it (README, Backups)."
)


def backup(database_url: str, destination: Path) -> str:
    """Copy a live SQLite database to ``destination`` with SQLite's online backup API.

    The copy is one read transaction on its own connection: in WAL mode it never blocks the
    service's writer, and it holds every committed transaction up to its start and none
    after. It is written beside the destination and renamed into place, so a failed backup
    leaves no half-written file under that name; an existing file is never overwritten."""
    from sqlalchemy.engine import make_url

    if not database_url.startswith("sqlite"):
        raise SystemExit(PG_BACKUP_ADVICE)
    source = make_url(database_url).database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise SystemExit(f"no SQLite database at {source!r} (DATABASE_URL)")
    if destination.exists():
        raise SystemExit(f"{destination} exists; choose a new name (backups never overwrite)")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        src.execute("PRAGMA query_only=ON")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise SystemExit(f"the copy failed SQLite's check ({check}); nothing was written")
    partial.rename(destination)
    return f"backed up {source} to {destination} ({destination.stat().st_size:,} bytes)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="peerline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the service")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="migrate the database to the newest schema")
    p_user = sub.add_parser("create-user", help="create a staff account (password on stdin)")
    p_user.add_argument("--role", choices=["volunteer", "supervisor", "admin"], required=True)
    p_user.add_argument("--username", required=True)
    p_user.add_argument("--languages", default="en")
    p_user.add_argument("--trained", action="store_true")
    p_user.add_argument("--max-chats", type=int, default=2)
    p_password = sub.add_parser(
        "set-password", help="give a staff account a new password (password on stdin)"
    )
    p_password.add_argument("username")
    p_backup = sub.add_parser(
        "backup", help="copy the SQLite database to PATH while serving (PostgreSQL: pg_dump)"
    )
    p_backup.add_argument("path", type=Path)
    sub.add_parser("demo", help="create demo staff accounts and print their passwords once")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args.host, args.port, args.workers)
    elif args.command == "migrate":
        migrate()
        print("database is at the newest schema")
    elif args.command == "create-user":
        # The REST API's rules (app/identity/schemas.py), so no account exists that the
        # API could not have made.
        if (problem := username_problem(args.username)) is not None:
            raise SystemExit(f"username {args.username!r} refused: {problem}")
        languages = [x.strip() for x in args.languages.split(",") if x.strip()]
        if (problem := languages_problem(languages)) is not None:
            raise SystemExit(f"--languages {args.languages!r} refused: {problem}")
        if (problem := max_chats_problem(args.max_chats)) is not None:
            raise SystemExit(f"--max-chats {args.max_chats} refused: {problem}")
        password = read_new_password()
        created = asyncio.run(
            _create_user(
                username=args.username,
                password=password,
                role=args.role,
                languages=languages,
                trained=args.trained,
                max_chats=args.max_chats,
                exist_ok=True,
            )
        )
        if not created:
            raise SystemExit(
                f"a staff account named {args.username!r} exists already; to give it a new "
                f"password: peerline set-password {args.username} (password on stdin)"
            )
        print(f"created {args.role} {args.username}")
    elif args.command == "set-password":
        password = read_new_password()
        if not asyncio.run(_set_password(args.username, password)):
            raise SystemExit(f"no staff account is named {args.username!r}")
        print(f"new password set for {args.username}")
    elif args.command == "backup":
        print(backup(get_settings().database_url, args.path))
    elif args.command == "demo":
        demo()


if __name__ == "__main__":
    main()

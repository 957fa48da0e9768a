"""The ``peerline`` command: serve, migrate, create-user, demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from pathlib import Path

from app import metrics
from app.bus import MemoryBus
from app.config import get_settings
from app.db import Database, create_engine, utcnow
from app.errors import Conflict
from app.identity import service as identity_service
from app.identity.models import Role
from app.logs import log_config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
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
        print("reset one with: peerline create-user ... or delete ./var to start afresh).")


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    settings = get_settings()
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
    sub.add_parser("demo", help="create demo staff accounts and print their passwords once")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args.host, args.port, args.workers)
    elif args.command == "migrate":
        migrate()
        print("database is at the newest schema")
    elif args.command == "create-user":
        password = read_password()
        if len(password) < 10:
            raise SystemExit("the password must be at least 10 characters")
        asyncio.run(
            _create_user(
                username=args.username,
                password=password,
                role=args.role,
                languages=[x.strip() for x in args.languages.split(",") if x.strip()],
                trained=args.trained,
                max_chats=args.max_chats,
            )
        )
        print(f"created {args.role} {args.username}")
    elif args.command == "demo":
        demo()


if __name__ == "__main__":
    main()

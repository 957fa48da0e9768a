"""The ASGI application: ``app.main:app``, built by ``create_app()``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from app import logs, metrics, metrics_export, overview, stages, web
from app.admin import router as admin_router
from app.api_docs import mount_api_docs
from app.body_limit import LimitBodySize
from app.budgets.service import Budgets
from app.bus import create_bus
from app.chat import idle, retention
from app.chat import router as chat_router
from app.chat.writer import MessageWriter
from app.clinical_data import load_clinical_data
from app.config import Environment, Settings, get_settings
from app.db import Database, WalCheckpointer, create_engine
from app.emergency_share import expiry as emergency_share_expiry
from app.emergency_share import router as emergency_share_router
from app.errors import AppError, TooManyRequests, located
from app.escalation import router as escalation_router
from app.escalation import sweeper
from app.heap import HeapKeeper, settle_heap
from app.identity import login_cleanup, passwords
from app.identity import router as identity_router
from app.jobs import Job, JobRunner
from app.logs import AccessFilter, AnonymityFilter
from app.matching import housekeeping
from app.matching import router as matching_router
from app.matching import service as matching_service
from app.matching.notifier import QueueNotifier
from app.moderation import router as moderation_router
from app.outcomes import router as outcomes_router
from app.presence import PresenceTracker
from app.realtime import FrameRouter, recheck_sessions, serve_socket
from app.referrals import router as referral_router
from app.return_code import cleanup as return_code_cleanup
from app.return_code import router as return_code_router
from app.risk import router as risk_router
from app.roster import router as roster_router
from app.runtime import Runtime
from app.safe_text import RefuseUnstorableText
from app.safety_plan import router as safety_plan_router
from app.transfer import router as transfer_router
from app.transfer import sweep as transfer_sweep
from app.wellbeing import router as wellbeing_router

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Geolocation: the seeker's page may ask, only after the seeker taps "Use my location"
    # in an emergency share (app/emergency_share); never on its own.
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(self)",
    "Cache-Control": "no-store",
}


def build_frame_router() -> FrameRouter:
    frames = FrameRouter()
    for domain in (
        chat_router,
        matching_router,
        risk_router,
        escalation_router,
        referral_router,
        moderation_router,
        safety_plan_router,
        emergency_share_router,
        transfer_router,
        return_code_router,
    ):
        frames.include(domain.frames)
    return frames


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    load_clinical_data()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure(settings)
        keep_client_addresses_out_of_uvicorns_logs()
        passwords.configure(
            concurrency=settings.login_hash_concurrency,
            queue=settings.login_hash_queue,
            test_cost=settings.password_hash_test_cost,
        )
        bus = create_bus(settings.redis_url, prefix=settings.redis_channel_prefix)
        on_reset = getattr(bus, "on_reset", None)  # a Redis bus whose link came back
        if isinstance(on_reset, list):
            on_reset.append(metrics.bus_reconnected)
        on_publish_failed = getattr(bus, "on_publish_failed", None)
        if isinstance(on_publish_failed, list):
            on_publish_failed.append(metrics.bus_publish_failed)
        engine = create_engine(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        reader = create_engine(settings.database_url, readonly=True) if settings.is_sqlite else None
        checkpointer = (
            WalCheckpointer(engine.url.database or ":memory:") if settings.is_sqlite else None
        )
        runtime = Runtime(
            settings=settings,
            db=Database(engine, bus, reader),
            bus=bus,
            router=build_frame_router(),
        )
        runtime.queue_notifier = QueueNotifier(runtime)
        runtime.budgets = Budgets(settings)
        runtime.writer = MessageWriter(
            runtime.db,
            bus,
            sqlite_synchronous=settings.sqlite_synchronous,
            commit_interval_s=settings.chat_commit_interval_s,
        )
        runtime.presence = PresenceTracker(
            runtime, release_absent=matching_service.release_absent_volunteers
        )
        runtime.jobs = JobRunner(runtime, background_jobs(runtime))
        app.state.runtime = runtime
        # A revocation lost while the Redis link was down must not keep a socket open.
        bus.on_reset.append(
            lambda: runtime.spawn(recheck_sessions(runtime), name="recheck-sessions")
        )
        await bus.start()
        runtime.queue_notifier.start()
        if checkpointer is not None:
            checkpointer.start()
        runtime.spawn(runtime.presence.run(), name="presence")
        runtime.spawn(runtime.jobs.run(), name="background-jobs")
        settle_heap()
        recorder = stages.install(settings.stage_times_path)
        if recorder is not None:
            recorder.start()
        heap_keeper = HeapKeeper(
            runtime.writer.last_commit, on_thaw=recorder.thawed if recorder else None
        )
        runtime.spawn(heap_keeper.run(), name="heap-keeper")
        try:
            yield
        finally:
            runtime.accepting = False
            await runtime.stop_tasks()
            await runtime.writer.close()
            # The sockets are closed by now: record that, and hand the jobs over at once.
            for step in (runtime.presence.close, runtime.jobs.release):
                try:
                    await asyncio.wait_for(step(), timeout=2.0)
                except Exception as exc:
                    log.warning(
                        "shutdown step failed (%s)",
                        type(exc).__name__,
                        extra={"event": "server.shutdown_step_failed"},
                    )
            await bus.stop()
            await runtime.budgets.close()
            await engine.dispose()
            if reader is not None:
                await reader.dispose()
            if checkpointer is not None:
                checkpointer.stop()
            if recorder is not None:
                await recorder.stop()
            metrics.process_stopped()

    app = FastAPI(
        title="Peerline",
        version="0.1.0",
        description="Anonymous chat-based peer support. Protocol: docs/protocol.md",
        lifespan=lifespan,
        # FastAPI's own pages load assets from other hosts; app/api_docs serves ours.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    if settings.docs_enabled:
        mount_api_docs(app)

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}},
            status_code=exc.status,
            headers=exc.headers() if isinstance(exc, TooManyRequests) else None,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": located(first)}}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code
        )

    # Inside the security headers (its 422 gets them too), outside every endpoint.
    app.add_middleware(RefuseUnstorableText)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # Compress text answers (pages, CSS, modules, strings, JSON) of 500 bytes or more.
    # Middleware sees HTTP only; the chat socket goes to its handler before any of it
    # (``Peerline`` below), and its frames are never compressed (``ws_per_message_deflate``
    # is off: CPU per message).
    app.add_middleware(GZipMiddleware, minimum_size=500)
    # Outermost: a body over the limit is refused before anything reads it.
    app.add_middleware(LimitBodySize, max_bytes=settings.max_rest_body_bytes)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        database = await runtime.db.ping()
        redis = await runtime.bus.ping()
        ready = database and redis and runtime.accepting
        return JSONResponse(
            {
                "status": "ready" if ready else "not_ready",
                "database": database,
                "bus": redis,
                "accepting": runtime.accepting,
            },
            status_code=200 if ready else 503,
        )

    app.include_router(identity_router.api)
    app.include_router(chat_router.api)
    app.include_router(escalation_router.api)
    app.include_router(referral_router.api)
    app.include_router(overview.api)
    app.include_router(risk_router.api)
    app.include_router(risk_router.export_api)
    app.include_router(risk_router.method_cues_api)
    app.include_router(metrics_export.api)
    app.include_router(outcomes_router.api)
    app.include_router(wellbeing_router.api)
    app.include_router(safety_plan_router.api)
    app.include_router(emergency_share_router.api)
    app.include_router(transfer_router.api)
    app.include_router(return_code_router.api)
    app.include_router(roster_router.api)
    app.include_router(admin_router.api)
    mount_web_client(app, settings)
    return app


def keep_client_addresses_out_of_uvicorns_logs() -> None:
    """Under plain ``uvicorn app.main:app`` (not ``peerline serve``, which configures logging
    itself) uvicorn's access log and WebSocket lines carry each client's address: filter them
    at uvicorn's own loggers, whatever logging configuration the server was given. An
    access record is first cut to method, path and status (``AccessFilter``), so the
    address check keeps it instead of dropping the whole line."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessFilter) for f in access.filters):
        access.filters.insert(0, AccessFilter())  # before the address check
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AnonymityFilter) for f in logger.filters):
            logger.addFilter(AnonymityFilter())


def background_jobs(runtime: Runtime) -> list[Job]:
    """What the leader runs (app/jobs.py): one process at a time, each at its interval."""
    jobs = [
        sweeper.job(runtime),
        housekeeping.job(runtime),
        idle.job(runtime),
        retention.job(runtime),
        login_cleanup.job(runtime),
        emergency_share_expiry.job(runtime),
        transfer_sweep.job(runtime),
        return_code_cleanup.job(runtime),
    ]
    return [job for job in jobs if job is not None]


def mount_web_client(app: FastAPI, settings: Settings) -> None:
    # Versioned files are cached for a year outside development (where a file edited while
    # the server runs must show on the next reload): see app/web.py.
    immutable = settings.peerline_env != Environment.development
    web.mount(app, web.WebClient.load(settings.web_client_dir, immutable=immutable))


class Peerline:
    """The ASGI application: the chat socket goes straight to its handler, a login that
    would be refused before any password work is answered at once
    (``identity.router.refuse_early_logins``), the rest goes to FastAPI.

    A socket lives for minutes or hours, and for all that time it holds every coroutine
    between uvicorn and its handler. Through FastAPI's middleware, router and dependency
    machinery that was about 210 objects per socket; with 10,000 sockets each full garbage
    collection walked two million of them. The socket needs none of that machinery: no
    HTTP middleware applies to it and its errors are frames, not responses.
    """

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            await serve_socket(WebSocket(scope, receive, send), self.api.state.runtime)
            return
        if scope["type"] == "http" and scope["path"] == identity_router.LOGIN_PATH:
            await identity_router.refuse_early_logins(
                scope,
                receive,
                send,
                secret_key=self.api.state.runtime.settings.secret_key,
                headers=SECURITY_HEADERS,
                then=self.api,
            )
            return
        await self.api(scope, receive, send)


app = Peerline(create_app())

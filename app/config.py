"""Settings: one ``Settings`` object, read from the environment (prefix-free names).

Every field is listed in the README's configuration table with its default. Validation fails
fast: a placeholder secret outside development stops start-up with a message saying what to
set.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.budgets.clients import parse_limit, parse_trusted_proxies
from app.emergency_share.cipher import ShareKeyError, parse_keys

PLACEHOLDER_SECRET = "change-me-in-production"
# Outside development SECRET_KEY must be at least this long (UTF-8 bytes): 256 bits.
MIN_SECRET_BYTES = 32
# Missed presence refreshes after which a process is taken for dead (see app/presence.py).
PRESENCE_STALE_REFRESHES = 3


def normalise_database_url(value: str) -> str:
    """Accept the common spellings and pick the async driver."""
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    if value.startswith("postgresql://"):
        value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
    if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
        value = "sqlite+aiosqlite://" + value.removeprefix("sqlite://")
    return value


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value is never echoed (pydantic's message would quote
    # it), since a refused SECRET_KEY or EMERGENCY_SHARE_KEY is a secret, or half of one.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    peerline_env: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./var/peerline.db"
    redis_url: str | None = None
    # Channel prefix on Redis, so several deployments (or test runs) can share one server.
    redis_channel_prefix: str = "peerline:"
    # Used as the HMAC key for token hashes: a leaked database alone cannot be used to
    # test guessed tokens.
    secret_key: str = PLACEHOLDER_SECRET

    seeker_token_ttl_s: int = Field(24 * 3600, gt=0)
    staff_token_ttl_s: int = Field(12 * 3600, gt=0)
    # Logins (app/identity/login_delay.py): after n failed logins in a row for a username
    # (known or not), its next attempt waits min(BASE x 2^(n-1), MAX) seconds; the right
    # password after the wait always works. 1 s doubling to a minute: a person who mistypes
    # twice waits a second or two; a guesser gets about one try a minute per username. The
    # cap stays well under the hour after which a run is forgotten.
    login_delay_base_s: float = Field(1.0, gt=0)
    login_delay_max_s: float = Field(60.0, gt=0, le=3600)
    # Password hashes (argon2id: 64 MiB and a core for ~0.1 s each) running at once in a
    # process, and logins that may wait for a turn; beyond, a login gets 429 login_busy at
    # once (app/identity/passwords.py). One at a time leaves the other core of a 2-core
    # machine to the chats; four waiting absorb a shift change without refusing anyone.
    login_hash_concurrency: int = Field(1, ge=1, le=16)
    login_hash_queue: int = Field(4, ge=0, le=100)
    # ``test``: new password hashes with argon2id's least work (app/identity/passwords.py),
    # for test suites that make hundreds of accounts. Honoured only when PEERLINE_ENV=test;
    # anywhere else every hash is of the standard cost, whatever this says.
    password_hash_cost: Literal["standard", "test"] = "standard"

    # Flood budgets (app/budgets): a per-client and a global budget at each open door, in
    # ``limits``' notation. Per client: a person starting a chat needs one or two seekers
    # and a few joins (a new chat after one ends, a reload); a script needs hundreds. The
    # global budgets bound what all clients together can do to the queue and to the
    # supervisors' pages: far above the arrivals of a busy evening (a few a minute).
    seeker_limit_per_client: str = "5/minute"
    seeker_limit_global: str = "120/minute"
    queue_join_limit_per_client: str = "10/minute"
    queue_join_limit_global: str = "300/minute"
    login_limit_per_client: str = "10/minute"
    login_limit_global: str = "60/minute"
    # Return codes tried (``POST /api/v1/return-codes/redeem``, right or wrong): a code has
    # 51 random bits, so at the global budget a given code takes tens of millions of years to
    # guess on average, and any one of a million live codes decades; the per-client budget
    # keeps one client from spending the global one.
    return_code_limit_per_client: str = "5/minute"
    return_code_limit_global: str = "60/minute"
    # A return code (and the copy of the safety plan it keeps) is deleted this many days
    # after it was last used: made, redeemed, a chat started with it, its plan edited.
    return_code_keep_days: int = Field(90, ge=1, le=3650)
    # After a block, the blocked session's client also spends from this budget at the
    # seekers and queue_join doors, for this long (at most 30 minutes: see app/budgets).
    blocked_client_limit: str = "1/5minutes"
    block_slowdown_s: int = Field(900, gt=0, le=1800)
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs); from
    # any other peer the header is ignored (anyone can send it).
    trusted_proxies: str = ""
    # Waiting seekers beyond which queue.join answers queue_full (with the helplines).
    max_waiting_seekers: int = Field(200, gt=0)
    # REST request bodies above this many bytes get 413 before they are read.
    max_rest_body_bytes: int = Field(65_536, gt=0)

    auth_timeout_s: float = Field(10.0, gt=0)
    # A text frame longer than this is refused with `frame_too_large` (connection kept);
    # uvicorn closes with 1009 above WS_MAX_FRAME_BYTES.
    ws_max_frame_chars: int = 16_384
    ws_max_frame_bytes: int = 65_536
    # Token bucket per connection: sustained frames per second and burst size. Typing
    # indicators count, so the burst allows brisk typing plus sends.
    rate_limit_per_s: float = 20.0
    rate_limit_burst: int = 40
    # Consecutive rate-limited frames after which the socket is closed with 4429.
    rate_limit_close_after: int = 50
    # Frames queued for one slow socket before it is disconnected (it can resume).
    outbox_max_frames: int = 1000
    max_sockets_per_token: int = 10
    # Chat messages are committed in groups (app/chat/writer.py); a group starts at least
    # this long after the previous one was committed. Under load one commit then carries
    # several messages (a commit's cost is mostly per commit, not per message); a lone
    # message on a quiet server waits for nothing. 0 commits as soon as the last one ends.
    # 5 ms cost 13 % less CPU than 2 ms (session 7); 7.5 ms (session 16) 5 % less than 5 ms
    # side by side, for a delivery p50 about 2 ms later and a p99 of 14-15 ms instead of
    # 10-11 at 1,000 conversations on SQLite, within the 20 ms the project holds to; 10 ms
    # brought the p99 too near it (README, Performance).
    chat_commit_interval_s: float = Field(0.0075, ge=0, le=0.05)
    # Benchmark mode (app/stages.py): a file for each chat message's time by stage, the
    # event loop's stalls, garbage collections and checkpoints, written at shutdown. Empty: off.
    stage_times_path: str = ""

    # Matching: a seeker whose position is within the free slots waits about this long for
    # a volunteer to take the chat; beyond, the average chat length per slot is used.
    take_latency_estimate_s: int = 30
    average_chat_s: int = 20 * 60
    # Queue positions and summaries are re-sent at most this often: every take moves
    # everyone's position, and once a second is plenty for a person watching a number.
    queue_broadcast_debounce_s: float = 1.0

    # Risk and escalation. ESCALATION_TIME_SCALE multiplies every acknowledgement deadline of
    # the paging policy (1.0 = DOMAIN.md's 15 min / 2 min / 60 s); tests use a small scale.
    escalation_time_scale: float = Field(1.0, gt=0)
    sweep_interval_s: float = Field(1.0, gt=0)
    # A seeker flagged by a cue who waits longer than this (at once for a method or an
    # attempt) counts in the one grouped page "N flagged seekers waiting"
    # (app/escalation/flagged.py).
    flagged_wait_page_s: float = Field(60.0, gt=0)
    # A change in that count is sent to supervisors at most this often (a page for a group
    # that grew after an acknowledgement too): a flood moves the count every second, and a
    # desk that blinks every second helps nobody.
    flagged_update_s: float = Field(10.0, gt=0)
    # A flagged waiting seeker with no socket on any process, neither queued nor seen for
    # this long, is taken out of the queue by the system (audited; an escalation the system
    # opened for them is resolved `seeker_left`). Five minutes: longer than a locked phone or
    # a switch to another app usually keeps the socket away (and than the presence staleness,
    # which Settings checks), short enough that a flood of scripted seekers who send one
    # message and vanish stops counting as people waiting within minutes. A seeker who comes
    # back later is not lost: they can join again, and their next words are screened again.
    flagged_ghost_close_s: float = Field(300.0, gt=0)
    volunteer_cooldown_s: int = Field(600, ge=0)
    # Warm transfer (app/transfer): a volunteer with no socket on any process for this long
    # has vanished, and each chat of theirs goes back to the front of the queue with its
    # history (the seeker is told, an open escalation's supervisor alerted). Three minutes:
    # longer than a phone's network switch or a page reload, short enough that a seeker in
    # distress is not left writing to nobody. At least the presence staleness (checked).
    volunteer_vanish_s: float = Field(180.0, gt=0)
    # Whether the seeker is shown a message when their chat is handed to another volunteer
    # (false: a silent hand-off, as some helplines prefer for young people; the new
    # volunteer's alias still appears on their messages). A chat back in the queue, or a
    # vanished volunteer, is always explained.
    transfer_announce: bool = True

    # Background jobs (app/jobs.py): one process at a time holds this lease and runs them; it
    # renews every third of it, so another process takes over at most this long (plus a
    # third) after the holder dies. Long enough to ride out a slow database for a few
    # seconds without two leaders, short enough that a missed escalation deadline waits
    # seconds, not minutes.
    jobs_lease_s: float = Field(10.0, gt=0)
    # Presence (app/presence.py): each process refreshes "still here" for every user it holds
    # a socket for in one UPDATE this often. A row not refreshed for PRESENCE_STALE_REFRESHES
    # intervals belongs to a process that died.
    presence_interval_s: float = Field(30.0, gt=0)
    # A waiting seeker not seen on any process for this long is moved out of the queue
    # (abandoned by "system"). Ten minutes: a phone that locks, or a seeker who switches to
    # another app, drops the socket for a few minutes and must find their place kept; a
    # volunteer who takes a chat from someone who left long ago finds nobody, and the queue
    # and wait estimates everyone else sees are wrong until the ghost goes.
    queue_abandon_after_s: float = Field(600.0, gt=0)
    housekeeping_interval_s: float = Field(30.0, gt=0)
    # An active chat in which nobody has written for this long is ended by the system
    # (app/chat/idle.py), so its text becomes due for retention; 0 never ends one. Four
    # hours: far longer than any pause in a live conversation (a seeker who steps away and
    # comes back within it finds the chat open), short enough that a chat both sides left
    # does not hold its text, and the volunteer's slot, for days.
    active_idle_end_s: float = Field(4 * 3600.0, ge=0)
    # Retention: what was written in a conversation (messages, whispers, the wrap-up note, a
    # typed end reason) is deleted this many days after it ended; 0 keeps it forever. Thirty
    # days covers supervision, a complaint or a safeguarding review of a chat; after that
    # the text only adds to what a leaked database or backup would expose of young people
    # in crisis. Conversation metadata (times, levels, outcomes) and the audit trail stay.
    retention_days: int = Field(30, ge=0)
    retention_interval_s: float = Field(300.0, gt=0)
    # Rows deleted per transaction, so retention never holds SQLite's single writer long.
    retention_batch_size: int = Field(500, gt=0)

    # Web pages that may open a chat socket (comma-separated origins such as
    # ``https://chat.example.org``); empty: the socket's own origin only (app/origins.py).
    # A handshake without ``Origin`` (not a browser) is always allowed.
    allowed_origins: str = ""

    # The OpenAPI docs (/docs, /openapi.json): None = on, except in production.
    api_docs: bool | None = None

    # Consented emergency shares (app/emergency_share): Fernet keys, comma-separated; the
    # first encrypts, each decrypts (rotate by putting a new key first, and drop the old one
    # 72 hours later, when nothing sealed with it can still exist). Required in production;
    # elsewhere, unset, a key derived from SECRET_KEY is used.
    emergency_share_key: str | None = None

    # Feedback and outcomes (app/outcomes/policy.py): a week, language and risk bucket with
    # fewer chats than this is never shown, and a figure takes a cell's answers only when at
    # least this many answered. Small numbers identify people.
    outcomes_min_group: int = Field(5, ge=2)

    shutdown_grace_s: float = 10.0

    # Operations. Logs: ``json`` (one object per line) or ``text``; unset: text in
    # development, json otherwise (app/logs.py).
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Prometheus metrics at /metrics (app/metrics_export.py). Unset: on in development and
    # test, and in production only when METRICS_TOKEN is set. With a token, a scrape must
    # send ``Authorization: Bearer <token>``.
    metrics: bool | None = None
    metrics_token: str | None = None
    web_client_dir: Path = Path(__file__).resolve().parent.parent / "web_client"

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator(
        "seeker_limit_per_client",
        "seeker_limit_global",
        "queue_join_limit_per_client",
        "queue_join_limit_global",
        "login_limit_per_client",
        "login_limit_global",
        "return_code_limit_per_client",
        "return_code_limit_global",
        "blocked_client_limit",
    )
    @classmethod
    def _one_rate_limit(cls, value: str, info: ValidationInfo) -> str:
        parse_limit(value, (info.field_name or "").upper())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        parse_trusted_proxies(value)
        return value

    @model_validator(mode="after")
    def abandon_only_the_unseen(self) -> Settings:
        if self.queue_abandon_after_s < PRESENCE_STALE_REFRESHES * self.presence_interval_s:
            raise ValueError(
                f"QUEUE_ABANDON_AFTER_S ({self.queue_abandon_after_s}) must be at least "
                f"{PRESENCE_STALE_REFRESHES} x PRESENCE_INTERVAL_S ({self.presence_interval_s}): "
                "otherwise a seeker who is still connected could be taken out of the queue "
                "between two presence refreshes."
            )
        return self

    @model_validator(mode="after")
    def close_only_flagged_ghosts(self) -> Settings:
        if self.flagged_ghost_close_s < PRESENCE_STALE_REFRESHES * self.presence_interval_s:
            raise ValueError(
                f"FLAGGED_GHOST_CLOSE_S ({self.flagged_ghost_close_s}) must be at least "
                f"{PRESENCE_STALE_REFRESHES} x PRESENCE_INTERVAL_S ({self.presence_interval_s}): "
                "otherwise a flagged seeker who is still connected could be closed between two "
                "presence refreshes."
            )
        return self

    @model_validator(mode="after")
    def requeue_only_vanished_volunteers(self) -> Settings:
        if self.volunteer_vanish_s < PRESENCE_STALE_REFRESHES * self.presence_interval_s:
            raise ValueError(
                f"VOLUNTEER_VANISH_S ({self.volunteer_vanish_s}) must be at least "
                f"{PRESENCE_STALE_REFRESHES} x PRESENCE_INTERVAL_S ({self.presence_interval_s}): "
                "otherwise a volunteer who is still connected could lose their chat between two "
                "presence refreshes."
            )
        return self

    @model_validator(mode="after")
    def refuse_placeholder_secret(self) -> Settings:
        if self.peerline_env == Environment.development:
            return self
        how = (
            "Set SECRET_KEY to a long random value "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) or set "
            "PEERLINE_ENV=development for a local run."
        )
        if self.secret_key in (PLACEHOLDER_SECRET, ""):
            raise ValueError("SECRET_KEY is still the placeholder. " + how)
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            # The HMAC key of every token hash: a short one can be guessed from a leaked
            # database, and then tokens tried offline.
            raise ValueError(
                f"SECRET_KEY is {len(self.secret_key.encode())} bytes; at least "
                f"{MIN_SECRET_BYTES} are needed outside development. " + how
            )
        return self

    @field_validator("emergency_share_key")
    @classmethod
    def _emergency_share_keys(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_keys(value)
            except ShareKeyError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def require_emergency_share_key_in_production(self) -> Settings:
        if self.peerline_env == Environment.production and not parse_keys(
            self.emergency_share_key or ""
        ):
            raise ValueError(
                "EMERGENCY_SHARE_KEY is not set: what a seeker shares in an emergency is "
                "encrypted with it, and production never falls back to a derived key. Set it "
                "to a Fernet key (`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`); several, comma-separated, to rotate."
            )
        return self

    @model_validator(mode="after")
    def protect_metrics_in_production(self) -> Settings:
        if self.peerline_env == Environment.production and self.metrics and not self.metrics_token:
            raise ValueError(
                "METRICS is on in production without METRICS_TOKEN: /metrics would be open "
                "to anyone. Set METRICS_TOKEN to a long random value (Prometheus sends it "
                "as a bearer token), or METRICS=false."
            )
        return self

    @property
    def metrics_enabled(self) -> bool:
        if self.metrics is not None:
            return self.metrics
        return self.peerline_env != Environment.production or bool(self.metrics_token)

    sqlite_synchronous: str = "NORMAL"

    @property
    def docs_enabled(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.peerline_env != Environment.production

    @property
    def password_hash_test_cost(self) -> bool:
        """New password hashes of the test cost: asked for, and in the test environment."""
        return self.password_hash_cost == "test" and self.peerline_env == Environment.test

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

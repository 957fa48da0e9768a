"""Password hashing, bounded: argon2id in threads of its own, a few at a time per process.

One argon2id hash (the library's recommended parameters) holds 64 MiB and keeps a core busy
for about 0.1 s. Run for every login that arrives, 150 logins at once took a process from
102 to 490 MiB and chat pings to 2.5 s (issue #16). So at most ``LOGIN_HASH_CONCURRENCY``
hashes run at once in a process, in a thread pool of that size (not the event loop's default
executor, which other work shares), and at most ``LOGIN_HASH_QUEUE`` more wait for a turn. A
login beyond that is refused at once (``login_busy``, 429 with ``Retry-After``) without
hashing anything: a flood of logins costs the process a core and 64 MiB per hash slot, not
memory without bound, and the chats keep the other core.

Work that only an authenticated staff member or an admin can start (a new password, a new
account) waits for its turn instead of being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app import metrics
from app.config import get_settings
from app.errors import TooManyRequests

_hasher = PasswordHasher()  # argon2id, the library's recommended parameters
# PASSWORD_HASH_COST=test, honoured only when PEERLINE_ENV=test: new hashes are still argon2id
# but with the least work (one pass over 1 MiB, about a millisecond), so a test suite that
# makes hundreds of staff accounts does not spend minutes of CPU hashing their passwords.
# Checking a password follows the parameters stored in its hash, whatever this says.
_test_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# A hash to verify against when the username is unknown, so timing does not tell. Always
# of the standard cost: a flood of unknown usernames costs a test server what it costs a real
# one (the tests of the hashing turns rely on it). Made once, ahead (``_hasher.hash(
# "not-a-real-password")``): hashing it at import cost every server start and every CLI
# command 0.1-0.2 s of a core. It matches no account (a login needs a user first), and
# tests/identity/test_passwords.py checks it keeps ``_hasher``'s parameters.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$P9YfPoaUWU9x0ejy6vK/1g"
    "$BeGJWustD8q2DlgnFGJh28J4hqWyhJrN1i2Scfad7Tc"
)
# What a refused login is told to wait: a turn frees up in about a hash's time.
BUSY_RETRY_AFTER_S = 1
# The hashing threads' nice value. argon2id runs its four lanes in threads it starts from
# ours, which inherit it (Linux keeps a nice value per thread). Measured with 150 clients
# sending bad logins on 2 cores: at the event loop's priority the lanes took the CPU from the
# chats (delivery p99 in the hundreds of ms); lowered, the chats go first and a hash takes the
# CPU they leave. 10, not 19: under full chat load a hash still gets about a tenth of a core,
# so a supervisor can still sign in within seconds.
HASHING_NICE = 10


def _lower_priority() -> None:
    """Runs in each hashing thread as it starts (Linux: only that thread changes)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


class PasswordHashing:
    """At most ``concurrency`` hashes at once, ``queue`` more waiting; thread-safe counts (a
    hash that its caller stopped waiting for still runs to the end and still counts)."""

    def __init__(self, concurrency: int = 1, queue: int = 4, *, test_cost: bool = False) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.test_cost = test_cost
        self._hasher = _test_hasher if test_cost else _hasher
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Hashes running or waiting now."""
        return self._admitted

    @property
    def full(self) -> bool:
        """Every turn is taken: a login now would be refused."""
        return self._admitted >= self.concurrency + self.queue

    def refuse_when_full(self) -> None:
        """``login_busy`` now if no turn is free: a flood is answered before it costs a
        database read (``verify`` checks again when it takes the turn)."""
        if self.full:
            raise busy_error()

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    async def _run(self, refuse_when_busy: bool, fn: Any, *args: Any) -> Any:
        with self._lock:
            if refuse_when_busy and self._admitted >= self.concurrency + self.queue:
                raise busy_error()
            self._admitted += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    async def verify(self, password_hash: str, password: str, *, refuse_when_busy: bool) -> bool:
        """Whether the password matches; ``login_busy`` when every turn is taken and
        ``refuse_when_busy``."""
        return bool(await self._run(refuse_when_busy, _verify, password_hash, password))

    async def hash(self, password: str) -> str:
        """A new hash; waits for a turn, never refused."""
        return str(await self._run(False, self._hasher.hash, password))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def busy_error() -> TooManyRequests:
    """The refusal of a login when every turn is taken (counted as door ``login_busy``)."""
    metrics.rate_limit_refused("login_busy")
    return TooManyRequests(
        "The service is busy signing people in; try again in a moment.",
        code="login_busy",
        retry_after_s=BUSY_RETRY_AFTER_S,
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# One per process: app.main's lifespan sets it up from the settings (``configure``); tools
# that hash outside the server (the CLI, tests' factories) get one from the settings on first
# use.
_hashing: PasswordHashing | None = None


def configure(*, concurrency: int, queue: int, test_cost: bool = False) -> PasswordHashing:
    global _hashing
    wanted = (concurrency, queue, test_cost)
    if _hashing is None or wanted != (_hashing.concurrency, _hashing.queue, _hashing.test_cost):
        if _hashing is not None:
            _hashing.shutdown()
        _hashing = PasswordHashing(concurrency, queue, test_cost=test_cost)
    return _hashing


def hashing() -> PasswordHashing:
    if _hashing is None:
        settings = get_settings()
        return configure(
            concurrency=settings.login_hash_concurrency,
            queue=settings.login_hash_queue,
            test_cost=settings.password_hash_test_cost,
        )
    return _hashing

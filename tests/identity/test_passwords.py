"""Bounded password hashing (app/identity/passwords.py): real argon2id, no server."""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher, extract_parameters

from app.config import Settings
from app.errors import TooManyRequests
from app.identity.passwords import BUSY_RETRY_AFTER_S, DUMMY_HASH, PasswordHashing


async def test_beyond_the_running_and_waiting_turns_a_login_is_refused_at_once():
    hashing = PasswordHashing(concurrency=1, queue=1)
    stored = await hashing.hash("a-long-password")
    first = asyncio.create_task(hashing.verify(stored, "wrong", refuse_when_busy=True))
    second = asyncio.create_task(hashing.verify(stored, "a-long-password", refuse_when_busy=True))
    await asyncio.sleep(0)  # both admitted: one hashing, one waiting
    assert hashing.admitted == 2
    with pytest.raises(TooManyRequests) as refused:
        await hashing.verify(stored, "a-long-password", refuse_when_busy=True)
    assert refused.value.code == "login_busy"
    assert refused.value.headers() == {"Retry-After": str(BUSY_RETRY_AFTER_S)}
    assert await first is False and await second is True
    assert hashing.admitted == 0
    assert await hashing.verify(stored, "a-long-password", refuse_when_busy=True) is True


async def test_authenticated_work_waits_for_a_turn_instead_of_being_refused():
    hashing = PasswordHashing(concurrency=1, queue=0)
    stored = await hashing.hash("a-long-password")
    busy = asyncio.create_task(hashing.verify(stored, "x", refuse_when_busy=True))
    await asyncio.sleep(0)
    new_hash, same = await asyncio.gather(
        hashing.hash("another-password"),
        hashing.verify(stored, "a-long-password", refuse_when_busy=False),
    )
    assert new_hash.startswith("$argon2id$") and same is True
    assert await busy is False


async def test_a_caller_that_stops_waiting_still_holds_its_turn_until_the_hash_ends():
    """The thread cannot be stopped: counting the turn free early would let a flood of
    requests that hang up run any number of hashes at once."""
    hashing = PasswordHashing(concurrency=1, queue=0)
    started, finish = threading.Event(), threading.Event()

    def slow_hash() -> bool:
        started.set()
        finish.wait(10)
        return False

    task = asyncio.create_task(hashing._run(True, slow_hash))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0)
    with pytest.raises(TooManyRequests):
        await hashing.verify("-", "x", refuse_when_busy=True)
    finish.set()
    for _ in range(200):
        if hashing.admitted == 0:
            break
        await asyncio.sleep(0.01)
    assert hashing.admitted == 0


async def test_hashes_run_one_at_a_time_in_their_own_threads():
    hashing = PasswordHashing(concurrency=1, queue=10)

    seen: set[str] = set()
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            seen.add(threading.current_thread().name)
        try:
            from app.identity.passwords import _hasher

            return _hasher.hash("pw-" + str(running))
        finally:
            with lock:
                running -= 1

    await asyncio.gather(*(hashing._run(True, work) for _ in range(5)))
    assert most == 1
    assert all(name.startswith("argon2") for name in seen)


async def test_the_test_cost_hashes_with_the_least_work_and_checks_follow_each_hash():
    cheap, standard = PasswordHashing(test_cost=True), PasswordHashing()
    cheap_hash = await cheap.hash("a-long-password")
    standard_hash = await standard.hash("a-long-password")
    assert cheap_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert standard_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # Either process checks either hash: the parameters are read from the hash.
    for hashing in (cheap, standard):
        for stored in (cheap_hash, standard_hash):
            assert await hashing.verify(stored, "a-long-password", refuse_when_busy=True)
            assert not await hashing.verify(stored, "a-long-passwore", refuse_when_busy=True)


def test_the_test_cost_is_honoured_only_in_the_test_environment():
    secret = "s" * 40
    for env in ("production", "development"):
        settings = Settings(peerline_env=env, secret_key=secret, password_hash_cost="test")
        assert not settings.password_hash_test_cost
    assert Settings(
        peerline_env="test", secret_key=secret, password_hash_cost="test"
    ).password_hash_test_cost
    assert not Settings(
        peerline_env="test", secret_key=secret, password_hash_cost="standard"
    ).password_hash_test_cost
    # The unknown-username hash keeps the standard cost in every environment.
    assert DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # Written out in the source: the same parameters as every new standard hash, and a
    # real hash (of the phrase its comment names).
    assert extract_parameters(DUMMY_HASH) == extract_parameters(PasswordHasher().hash("x"))
    assert PasswordHasher().verify(DUMMY_HASH, "not-a-real-password")

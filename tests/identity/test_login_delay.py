"""The login delay rule (app/identity/login_delay.py): pure, no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.identity.login_delay import FORGET_AFTER_S, FailureRun, LoginDelayPolicy, forget_before

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = LoginDelayPolicy(base_s=1.0, max_s=60.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_delay_doubles_from_the_base_up_to_the_cap():
    assert [POLICY.delay_after(n) for n in range(0, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert POLICY.delay_after(10_000) == 60  # no overflow however many failures


def test_no_failures_means_no_wait():
    assert POLICY.wait_s(None, T0) == 0


def test_after_failures_the_next_attempt_waits_from_the_last_failure():
    run = None
    for _ in range(3):
        run = POLICY.after_failure(run, T0)
    assert run == FailureRun(failures=3, last_failure_at=T0)
    assert POLICY.wait_s(run, at(0)) == 4
    assert POLICY.wait_s(run, at(1.5)) == 2.5
    assert POLICY.wait_s(run, at(4)) == 0  # after the wait the attempt is checked


def test_the_fifth_wrong_password_is_not_a_lockout_of_minutes():
    """The old rule refused even the right password for 300 s after five failures."""
    run = None
    for i in range(5):
        run = POLICY.after_failure(run, at(i * 100))
    assert POLICY.wait_s(run, at(400)) == 16
    assert POLICY.wait_s(run, at(416)) == 0


def test_however_many_failures_the_wait_is_at_most_the_cap():
    run = FailureRun(failures=500, last_failure_at=T0)
    assert POLICY.wait_s(run, T0) == 60
    assert POLICY.wait_s(run, at(60)) == 0


def test_a_run_is_forgotten_an_hour_after_its_last_failure():
    run = FailureRun(failures=9, last_failure_at=T0)
    assert POLICY.after_failure(run, at(FORGET_AFTER_S - 1)).failures == 10
    assert POLICY.after_failure(run, at(FORGET_AFTER_S)) == FailureRun(1, at(FORGET_AFTER_S))
    assert POLICY.wait_s(run, at(FORGET_AFTER_S)) == 0
    assert forget_before(at(FORGET_AFTER_S)) == T0


def test_failures_checked_out_of_order_keep_the_latest_time():
    """Two attempts checked at once on two processes: both count, the later time stays."""
    run = POLICY.after_failure(None, at(5))
    run = POLICY.after_failure(run, at(4))
    assert run == FailureRun(failures=2, last_failure_at=at(5))


def test_other_settings_scale_the_same_way():
    policy = LoginDelayPolicy(base_s=0.5, max_s=3)
    assert [policy.delay_after(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_a_process_remembers_who_must_wait_only_until_then_and_within_bounds():
    from app.identity.service import KnownWaits

    waits = KnownWaits()
    waits.remember("k", at(10))
    assert waits.wait_s("k", at(4)) == 6
    assert waits.wait_s("k", at(10)) == 0 and waits.wait_s("k", at(4)) == 0  # gone once due
    waits.remember("k", at(10))
    waits.forget("k")  # the right password: nothing to wait for
    assert waits.wait_s("k", at(0)) == 0
    for i in range(KnownWaits.MAX_KEYS + 1):
        waits.remember(f"k{i}", at(10))
    assert len(waits._until) <= KnownWaits.MAX_KEYS

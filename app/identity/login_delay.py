"""When the next login for a username may be tried: a growing delay, never a lockout.

Rules (pure: state and ``now`` in, a decision out; tests/identity/test_login_delay.py):

- After ``n`` failed logins in a row for a username, the next attempt for it waits
  ``min(LOGIN_DELAY_BASE_S x 2^(n-1), LOGIN_DELAY_MAX_S)`` seconds after the last failure:
  1 s, 2 s, 4 s, ... 60 s with the defaults.
- An attempt during the wait is refused (``login_throttled``, with the seconds left) before
  any password is looked at, and does not count as a failure: it cannot make the wait longer,
  and it says nothing about the password.
- An attempt after the wait is checked as usual: the right password always works and clears
  the count (so five wrong passwords never lock the real owner out for minutes, as a lockout
  did); a wrong one counts.
- A count is forgotten ``FORGET_AFTER_S`` after its last failure.
- The rule sees a key, never a username or whether an account exists: an unknown username
  gets exactly the same delays and answers as a known one, so the answers cannot be used to
  find out which usernames exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# How long a run of failures is remembered. An hour is long past the longest delay (the
# setting is capped at it), so an attacker who pauses to let the count go gains nothing: the
# fresh run's short delays add up to about the cap before they reach it again. A staff member
# who mistyped twice in the morning starts the afternoon at no delay.
FORGET_AFTER_S = 3600.0


@dataclass(frozen=True, slots=True)
class LoginDelayPolicy:
    base_s: float
    max_s: float

    def delay_after(self, failures: int) -> float:
        """Seconds the next attempt waits after ``failures`` failures in a row."""
        if failures <= 0:
            return 0.0
        # 2**60 would be a huge float; the cap is reached long before.
        return min(self.base_s * 2.0 ** min(failures - 1, 60), self.max_s)

    def wait_s(self, state: FailureRun | None, now: datetime) -> float:
        """Seconds until an attempt may be checked (0: now)."""
        if state is None or _forgotten(state, now):
            return 0.0
        next_at = state.last_failure_at + timedelta(seconds=self.delay_after(state.failures))
        return max(0.0, (next_at - now).total_seconds())

    def after_failure(self, state: FailureRun | None, now: datetime) -> FailureRun:
        """The run once an attempt checked at ``now`` has failed."""
        if state is None or _forgotten(state, now):
            return FailureRun(failures=1, last_failure_at=now)
        return FailureRun(
            failures=state.failures + 1, last_failure_at=max(now, state.last_failure_at)
        )


@dataclass(frozen=True, slots=True)
class FailureRun:
    """Failed logins in a row for one key, and when the last one was."""

    failures: int
    last_failure_at: datetime


def _forgotten(state: FailureRun, now: datetime) -> bool:
    return (now - state.last_failure_at).total_seconds() >= FORGET_AFTER_S


def forget_before(now: datetime) -> datetime:
    """Runs whose last failure is older than this are forgotten (and may be deleted)."""
    return now - timedelta(seconds=FORGET_AFTER_S)

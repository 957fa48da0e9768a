"""The transfer rules, pure: who may receive a chat, the priority of a chat handed back, and
when a volunteer has vanished."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.transfer import policy

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
FREE = policy.Candidate(
    volunteer_id="b",
    role="volunteer",
    active=True,
    available=True,
    trained=True,
    languages=("en", "hi"),
    capacity=2,
    active_chats=1,
)


def refusal(candidate: policy.Candidate, language: str = "hi") -> str | None:
    return policy.refusal(candidate, language=language, current_volunteer_id="a", now=NOW)


def test_an_available_volunteer_sharing_the_language_with_a_free_slot_may_receive_it():
    assert refusal(FREE) is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"volunteer_id": "a"}, "same_volunteer"),
        ({"role": "supervisor"}, "target_unavailable"),
        ({"active": False}, "target_unavailable"),
        ({"available": False}, "target_unavailable"),
        ({"trained": False}, "target_unavailable"),
        ({"cooldown_until": NOW + timedelta(minutes=5)}, "target_unavailable"),
        ({"languages": ("en",)}, "target_language"),
        ({"active_chats": 2}, "target_at_capacity"),
    ],
)
def test_who_may_not_receive_a_chat_and_why(change, code):
    assert refusal(replace(FREE, **change)) == code


def test_a_cool_down_that_ended_does_not_refuse():
    assert refusal(replace(FREE, cooldown_until=NOW - timedelta(seconds=1))) is None


def test_a_chat_handed_back_is_served_before_every_cue_and_never_lowered():
    from app.risk.cue_response import CUE_PRIORITY

    assert policy.requeued_priority(0) > max(CUE_PRIORITY.values())
    assert policy.requeued_priority(90) == 90


@pytest.mark.parametrize(
    ("seen_ago", "started_ago", "connected", "taken_over", "vanished"),
    [
        (200, 600, False, False, True),
        (None, 600, False, False, True),  # never seen by any process since it took the chat
        (100, 600, False, False, False),  # gone, but not for long enough yet
        (200, 600, True, False, False),  # a socket on a live process
        (200, 600, False, True, False),  # a supervisor took the chat over
        (None, 60, False, False, False),  # took the chat a minute ago
    ],
)
def test_when_a_volunteer_has_vanished(seen_ago, started_ago, connected, taken_over, vanished):
    assert (
        policy.vanished(
            last_seen_at=None if seen_ago is None else NOW - timedelta(seconds=seen_ago),
            started_at=NOW - timedelta(seconds=started_ago),
            connected=connected,
            taken_over=taken_over,
            now=NOW,
            vanish_s=180,
        )
        is vanished
    )

"""The matching policy, as pure functions: no database, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.matching import policy
from app.matching.policy import LanguageSupply, VolunteerProfile, WaitingSeeker

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seeker(cid: str, *, lang: str = "en", priority: int = 0, wait_s: int = 0, topics=()):
    return WaitingSeeker(cid, "s-" + cid, lang, priority, T0 - timedelta(seconds=wait_s), topics)


def volunteer(*, langs=("en",), topics=(), trained=True, capacity=2, active=0):
    return VolunteerProfile("v", tuple(langs), tuple(topics), trained, capacity, active)


def test_longest_waiting_eligible_seeker_is_chosen():
    waiting = [seeker("a", wait_s=10), seeker("b", wait_s=50), seeker("c", wait_s=30)]
    assert policy.choose_seeker(volunteer(), waiting).conversation_id == "b"


def test_higher_priority_beats_longer_wait():
    waiting = [seeker("old", wait_s=500), seeker("flagged", priority=10, wait_s=5)]
    assert policy.choose_seeker(volunteer(), waiting).conversation_id == "flagged"


def test_a_seeker_who_is_here_is_served_before_flagged_ones_who_have_gone():
    ghosts = [replace(seeker(f"g{i}", priority=20, wait_s=60), gone=True) for i in range(20)]
    waiting = [*ghosts, seeker("here", wait_s=1)]
    assert policy.choose_seeker(volunteer(), waiting).conversation_id == "here"
    # With nobody here, a gone seeker is still served (they may come back to find a chat).
    assert policy.choose_seeker(volunteer(), ghosts).conversation_id == "g0"


def test_no_shared_language_means_nobody_eligible():
    assert policy.choose_seeker(volunteer(langs=("hi",)), [seeker("a", lang="en")]) is None


def test_topic_overlap_breaks_a_tie():
    waiting = [seeker("plain", wait_s=5), seeker("match", wait_s=5, topics=("exams",))]
    chosen = policy.choose_seeker(volunteer(topics=("exams",)), waiting)
    assert chosen.conversation_id == "match"


def test_untrained_or_full_volunteer_takes_nobody():
    waiting = [seeker("a")]
    assert policy.refusal(volunteer(trained=False)) == "not_trained"
    assert policy.choose_seeker(volunteer(trained=False), waiting) is None
    assert policy.refusal(volunteer(capacity=2, active=2)) == "at_capacity"
    assert policy.choose_seeker(volunteer(capacity=2, active=2), waiting) is None


def test_positions_are_per_language_in_service_order():
    waiting = [
        seeker("e1", wait_s=30),
        seeker("e2", wait_s=60),
        seeker("h1", lang="hi", wait_s=1),
        seeker("e3", wait_s=5, priority=5),
    ]
    assert policy.queue_positions(waiting) == {"e3": 1, "e2": 2, "e1": 3, "h1": 1}


def test_estimate_is_none_when_nobody_can_answer():
    assert (
        policy.estimate_wait_s(1, LanguageSupply(), take_latency_s=30, average_chat_s=600) is None
    )


def test_estimate_grows_with_position_beyond_free_slots():
    supply = LanguageSupply(online=2, free_slots=1, total_slots=4)
    kw = {"take_latency_s": 30, "average_chat_s": 600}
    assert policy.estimate_wait_s(1, supply, **kw) == 30
    assert policy.estimate_wait_s(2, supply, **kw) == 630
    assert policy.estimate_wait_s(6, supply, **kw) == 1230


def test_summary_counts_by_language_and_oldest_wait():
    waiting = [seeker("a", wait_s=10), seeker("b", lang="hi", wait_s=70)]
    summary = policy.summarize(waiting, now=T0, volunteers_online=3)
    assert summary["waiting"] == 2 and summary["oldest_wait_s"] == 70
    assert summary["by_language"] == {
        "en": {"waiting": 1, "oldest_wait_s": 10},
        "hi": {"waiting": 1, "oldest_wait_s": 70},
    }


def auto(**fields):  # type: ignore[no-untyped-def]
    base = {"auto_assign": True, "available": True}
    return replace(volunteer(), **{**base, **fields})


def test_auto_assignment_needs_an_available_active_volunteer_who_asked_for_it():
    assert policy.auto_assignable(auto(), now=T0)
    assert not policy.auto_assignable(auto(auto_assign=False), now=T0)
    assert not policy.auto_assignable(auto(available=False), now=T0)
    assert not policy.auto_assignable(auto(active=False), now=T0)
    assert not policy.auto_assignable(auto(trained=False), now=T0)
    assert not policy.auto_assignable(auto(capacity=1, active_chats=1), now=T0)


def test_no_chat_is_given_unasked_during_the_cool_down_after_high_risk():
    resting = auto(cooldown_until=T0 + timedelta(minutes=10))
    assert not policy.auto_assignable(resting, now=T0)
    assert not policy.auto_assignable(resting, now=T0 + timedelta(minutes=10))
    assert policy.auto_assignable(resting, now=T0 + timedelta(minutes=10, microseconds=1))
    # The cool-down only stops auto-assignment: the volunteer may still take a chat.
    assert policy.refusal(resting) is None

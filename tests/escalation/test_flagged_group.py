"""The grouped page for flagged seekers waiting, and the ghost rule: pure, no clock."""

from datetime import UTC, datetime, timedelta

from app.escalation import flagged
from app.escalation.flagged import GroupState

T0 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
UPDATE_S = 10.0
REPAGE_S = 120.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tick(state: GroupState, count: int, now: float) -> flagged.GroupDecision | None:
    return flagged.on_tick(state, count=count, now=at(now), update_s=UPDATE_S, repage_s=REPAGE_S)


def run(counts: list[tuple[float, int]], state: GroupState | None = None) -> list[tuple]:
    """Feed (time, count) ticks; return the frames sent as (time, count, alert)."""
    state = state or GroupState()
    sent = []
    for now, count in counts:
        decision = tick(state, count, now)
        if decision is None:
            continue
        state = decision.state
        if decision.send:
            sent.append((now, decision.state.count, decision.alert))
    return sent


def test_the_first_flagged_seeker_pages_at_once():
    decision = tick(GroupState(), 1, 0)
    assert decision is not None and decision.alert and decision.send
    assert (decision.state.count, decision.state.pages) == (1, 1)


def test_nothing_waiting_sends_nothing():
    assert tick(GroupState(), 0, 0) is None


def test_a_flood_is_one_page_and_a_few_quiet_updates_not_one_page_each():
    # 300 scripted seekers arrive over 8 s, swept every second, watched for a minute.
    ticks = [(t, min(300, int(t * 300 / 8) + 1)) for t in range(0, 60)]
    sent = run(ticks)
    assert [s for s in sent if s[2]] == [(0, 1, True)]
    quiet = [s for s in sent if not s[2]]
    assert len(quiet) <= 60 / UPDATE_S + 1
    assert sent[-1][1] == 300  # the desk ends up with the true count


def test_an_unacknowledged_group_is_paged_again_after_the_repage_interval():
    sent = run([(0, 5), (REPAGE_S - 1, 5), (REPAGE_S, 5), (2 * REPAGE_S, 5)])
    assert sent == [(0, 5, True), (REPAGE_S, 5, True), (2 * REPAGE_S, 5, True)]


def test_an_acknowledgement_stops_repaging_until_the_count_grows():
    paged = tick(GroupState(), 5, 0)
    assert paged is not None
    acked = flagged.acknowledge(paged.state, count=5, now=at(1), by="sup")
    assert tick(acked, 5, REPAGE_S * 3) is None  # no re-page while nothing new
    # One more flagged seeker: a page (not sooner than UPDATE_S after the last frame).
    assert tick(acked, 6, 2) is None
    grown = tick(acked, 6, 1 + UPDATE_S)
    assert grown is not None and grown.alert
    assert grown.state.acknowledged_at is None  # that page needs its own acknowledgement


def test_after_the_count_falls_a_new_flagged_seeker_pages_again():
    paged = tick(GroupState(), 300, 0)
    assert paged is not None
    acked = flagged.acknowledge(paged.state, count=300, now=at(1), by="sup")
    fell = tick(acked, 10, 20)  # the ghosts were closed
    assert fell is not None and not fell.alert and fell.state.known == 10
    grew = tick(fell.state, 11, 40)
    assert grew is not None and grew.alert


def test_a_fall_between_two_frames_is_remembered():
    paged = tick(GroupState(), 300, 0)
    assert paged is not None
    acked = flagged.acknowledge(paged.state, count=300, now=at(1), by="sup")
    fell = tick(acked, 10, 2)  # too soon to send: remembered, not sent
    assert fell is not None and not fell.send and fell.state.known == 10
    grew = tick(fell.state, 11, 1 + UPDATE_S)
    assert grew is not None and grew.alert


def test_unacknowledged_growth_is_a_quiet_update_the_page_is_still_outstanding():
    paged = tick(GroupState(), 1, 0)
    assert paged is not None
    grown = tick(paged.state, 40, UPDATE_S)
    assert grown is not None and grown.send and not grown.alert


def test_the_group_ends_when_nobody_flagged_waits_and_the_next_one_pages_at_once():
    paged = tick(GroupState(), 3, 0)
    assert paged is not None
    acked = flagged.acknowledge(paged.state, count=3, now=at(1), by="sup")
    ended = tick(acked, 0, 2)  # good news is not debounced
    assert ended is not None and ended.send and not ended.alert
    assert ended.state.count == 0 and ended.state.acknowledged_by is None
    assert tick(ended.state, 0, 3) is None
    again = tick(ended.state, 1, 4)
    assert again is not None and again.alert and again.state.pages == 1


def test_who_counts_in_the_group():
    def counts(**overrides: object) -> bool:
        facts: dict = {
            "status": "waiting",
            "flagged_at": at(0),
            "priority": 20,
            "now": at(60),
            "wait_s": 60,
        }
        return flagged.counts_in_group(**{**facts, **overrides})

    assert counts()
    assert not counts(now=at(59))  # still within the wait
    assert counts(now=at(1), priority=30)  # a method or an attempt counts at once
    assert not counts(flagged_at=None)
    assert not counts(status="active")  # a volunteer took it: its own escalation path


def test_a_gone_flagged_seeker_is_a_ghost_after_the_close_time_only():
    def closes(**overrides: object) -> bool:
        facts: dict = {
            "status": "waiting",
            "flagged_at": at(0),
            "queued_at": at(0),
            "last_seen_at": at(5),
            "connected": False,
            "human_escalation": False,
            "now": at(306),
            "close_after_s": 300,
        }
        return flagged.ghost_closes(**{**facts, **overrides})

    assert closes()
    assert closes(last_seen_at=None)  # never written as present: queued long ago
    assert not closes(now=at(305))  # seen 300 s ago: not yet
    assert not closes(connected=True)  # still has a socket somewhere
    assert not closes(flagged_at=None)  # unflagged seekers: QUEUE_ABANDON_AFTER_S
    assert not closes(status="active")
    assert not closes(human_escalation=True)  # a supervisor's to close
    assert not closes(queued_at=at(10), last_seen_at=None)  # joined too recently
    assert flagged.ghost_cutoff(at(300), 300) == at(0)

"""A volunteer's activity as counts (app/wellbeing/activity.py): pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.wellbeing.activity import ChatSpan, summarise

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # a Friday


def test_counts_chats_hours_high_risk_and_debriefs_per_window():
    chats = [
        ChatSpan(NOW - timedelta(days=1, hours=2), NOW - timedelta(days=1), "high"),
        ChatSpan(NOW - timedelta(days=10, hours=1), NOW - timedelta(days=10), "none"),
        ChatSpan(NOW - timedelta(minutes=30), None, "low"),  # still going
        ChatSpan(NOW - timedelta(days=40), NOW - timedelta(days=40) + timedelta(hours=1), "high"),
    ]
    found = summarise(chats, [NOW - timedelta(days=1)], now=NOW)
    assert found["windows"]["7d"] == {
        "chats": 2,
        "hours": 2.5,
        "high_risk_chats": 1,
        "debriefs": 1,
    }
    assert found["windows"]["30d"]["chats"] == 3 and found["windows"]["30d"]["hours"] == 3.5
    assert found["last_high_risk_at"] == NOW - timedelta(days=1)


def test_a_chat_across_the_window_edge_counts_only_its_part_inside():
    start = NOW - timedelta(days=7, hours=1)
    found = summarise([ChatSpan(start, start + timedelta(hours=3), "none")], [], now=NOW)
    assert found["windows"]["7d"] == {
        "chats": 1,
        "hours": 2.0,
        "high_risk_chats": 0,
        "debriefs": 0,
    }


def test_weeks_run_monday_to_sunday_the_current_one_last():
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    chats = [
        ChatSpan(monday + timedelta(hours=9), monday + timedelta(hours=10), "imminent"),
        ChatSpan(monday - timedelta(hours=2), monday - timedelta(hours=1), "none"),
    ]
    weeks = summarise(chats, [], now=NOW)["by_week"]
    assert len(weeks) == 8
    assert weeks[-1]["week"] == "2026-W49" and weeks[-1]["high_risk_chats"] == 1
    assert weeks[-2]["week"] == "2026-W48" and weeks[-2]["chats"] == 1
    assert sum(w["chats"] for w in weeks) == 2


def test_nobody_with_no_chats_has_zeros_and_no_last_high_risk():
    found = summarise([], [], now=NOW)
    assert found["windows"]["30d"] == {
        "chats": 0,
        "hours": 0.0,
        "high_risk_chats": 0,
        "debriefs": 0,
    }
    assert found["last_high_risk_at"] is None


def test_a_chat_handed_away_and_back_counts_once_with_both_parts_hours():
    """A volunteer who handed a chat on and had it back had two parts of one chat: one chat,
    high-risk if it was, and the hours of both parts (not of the other volunteer's between)."""
    first = ChatSpan(NOW - timedelta(hours=5), NOW - timedelta(hours=4), "high", "c1")
    again = ChatSpan(NOW - timedelta(hours=2), NOW - timedelta(hours=1), "high", "c1")
    other = ChatSpan(NOW - timedelta(hours=3), NOW - timedelta(hours=2, minutes=30), "none", "c2")
    found = summarise([first, again, other], [], now=NOW)
    assert found["windows"]["7d"] == {
        "chats": 2,
        "hours": 2.5,
        "high_risk_chats": 1,
        "debriefs": 0,
    }

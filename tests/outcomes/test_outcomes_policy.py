"""What may be shown of the seekers' answers (app/outcomes/policy.py): pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.outcomes import policy
from app.outcomes.policy import Answer

MON = date(2026, 11, 16)  # ISO week 2026-W47


def cells(*specs: tuple[date, str, str, int, list[Answer]]) -> dict:
    chats = {(w, lang, bucket): n for w, lang, bucket, n, _ in specs}
    answers = [((w, lang, bucket), a) for w, lang, bucket, _, given in specs for a in given]
    return policy.build_cells(chats, answers)


def test_risk_levels_are_coarsened_into_three_buckets():
    assert [policy.risk_bucket(x) for x in ("none", "low", "moderate", "high", "imminent")] == [
        "none",
        "low_moderate",
        "low_moderate",
        "high_imminent",
        "high_imminent",
    ]
    assert policy.risk_bucket(None) == "none"


def test_week_is_the_iso_monday_and_label():
    assert policy.week_start(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)) == MON
    assert policy.week_start(datetime(2026, 11, 16, 0, 0, tzinfo=UTC)) == MON
    assert policy.week_label(MON) == "2026-W47"
    assert policy.week_label(date(2027, 1, 4)) == "2027-W01"


def test_only_weeks_whose_answer_window_has_passed_are_released():
    window = timedelta(days=1)
    # Monday 00:30 of W48: W47's last chats may still be answered until Monday 23:59.
    first, last = policy.released_weeks(
        now=datetime(2026, 11, 23, 0, 30, tzinfo=UTC), window=window, weeks=2
    )
    assert (first, last) == (MON - timedelta(days=14), MON - timedelta(days=7))
    first, last = policy.released_weeks(
        now=datetime(2026, 11, 24, 0, 30, tzinfo=UTC), window=window, weeks=1
    )
    assert first == last == MON


def test_a_cell_of_fewer_chats_than_the_minimum_has_no_row():
    found = policy.summarise(
        cells(
            (MON, "en", "none", 5, [Answer(2, 4, "yes", "yes")] * 5),
            (MON, "hi", "none", 4, [Answer(1, 1, "no", "no")] * 4),
        ),
        min_group=5,
    )
    assert set(found["by_language"]) == {"en"}
    assert found["overall"]["chats"] == 5 and found["withheld_chats"] == 4
    assert found["overall"]["mood_change"] == {"n": 5, "mean": 2.0, "better_share": 1.0}


def test_no_row_at_all_when_every_cell_is_small():
    found = policy.summarise(cells((MON, "en", "none", 4, [])), min_group=5)
    assert found["overall"] is None and found["by_week"] == [] and found["by_language"] == {}


def test_a_figure_takes_a_cell_only_when_enough_answered_it():
    found = policy.summarise(
        cells(
            (MON, "en", "none", 10, [Answer(2, 3, "yes", None)] * 5 + [Answer(None, 5)] * 1),
            (MON, "en", "high_imminent", 6, [Answer(1, 2, "no", "yes")] * 2),
        ),
        min_group=5,
    )
    row = found["by_language"]["en"]
    assert (row["chats"], row["responses"]) == (16, 8)
    assert row["response_rate"] == 0.5
    # The high bucket's two answers are counted as responses, never as figures.
    assert row["mood_start"] == {"n": 5, "mean": 2.0}
    assert row["mood_end"] == {"n": 6, "mean": 3.33}
    assert row["heard"] == {"n": 5, "yes_share": 1.0}
    assert row["come_back"] == {"n": 0, "yes_share": None}
    assert found["by_risk"]["high_imminent"]["heard"]["n"] == 0


def test_any_difference_between_shown_figures_is_a_whole_cell():
    """Overall minus one language is the other languages' released cells, never one seeker."""
    found = policy.summarise(
        cells(
            (MON, "en", "none", 5, [Answer(3, 4)] * 5),
            (MON, "hi", "none", 5, [Answer(1, 5)] * 5),
            (MON, "ta", "none", 1, [Answer(5, 1)]),
        ),
        min_group=5,
    )
    overall = found["overall"]["mood_change"]
    en, hi = (found["by_language"][k]["mood_change"] for k in ("en", "hi"))
    assert overall["n"] == en["n"] + hi["n"] == 10
    assert "ta" not in found["by_language"]


def test_weeks_are_rows_in_order_with_labels():
    found = policy.summarise(
        cells(
            (MON, "en", "none", 5, []),
            (MON - timedelta(days=7), "en", "none", 7, []),
        ),
        min_group=5,
    )
    assert [(w["week"], w["chats"]) for w in found["by_week"]] == [
        ("2026-W46", 7),
        ("2026-W47", 5),
    ]


def test_a_comment_expires_with_the_retention_of_its_week():
    assert policy.comment_expired(week=MON, today=MON + timedelta(days=30), retention_days=30)
    assert not policy.comment_expired(week=MON, today=MON + timedelta(days=29), retention_days=30)
    assert not policy.comment_expired(week=MON, today=MON + timedelta(days=999), retention_days=0)

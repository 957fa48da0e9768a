"""Honest numbering and going back in the checklist: numbers count only the questions
actually asked, and an answer can be changed (pure, no database)."""

from __future__ import annotations

from app.risk.checklist import load_checklist


def walk(answers_by_item: dict[str, str]) -> list[tuple[str, int, int]]:
    """Answer whatever comes next; (item, position, about_total) as each was shown."""
    checklist = load_checklist()
    answers: dict[str, str] = {}
    shown = []
    while (item := checklist.next_item(answers)) is not None:
        position, about = checklist.progress(answers)
        shown.append((item.id, position, about))
        answers[item.id] = answers_by_item.get(item.id, "no")
    return shown


def test_a_negative_screen_is_numbered_one_to_four_of_four():
    shown = walk({})
    assert [(p, t) for _, p, t in shown] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_numbers_never_jump_and_end_at_the_number_asked():
    shown = walk({"asq1": "yes", "asq3": "yes", "asq4": "yes", "asq5": "yes"})
    positions = [p for _, p, _ in shown]
    assert positions == list(range(1, len(shown) + 1))
    assert shown[-1][2] == len(shown)  # "question n of about n" at the last one
    assert all(p <= t for _, p, t in shown)


def test_answered_lists_each_answer_in_the_order_asked():
    checklist = load_checklist()
    answers = {"asq1": "yes", "asq2": "no"}
    answered = checklist.answered(answers, "hi")
    assert [(a["item_id"], a["value"]) for a in answered] == [("asq1", "yes"), ("asq2", "no")]
    assert answered[0]["language"] == "hi" and answered[0]["options"]

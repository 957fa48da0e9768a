"""Checklist data, branching and answer validation."""

import pytest
import yaml

from app.errors import BadRequest
from app.risk.checklist import (
    CHECKLISTS_DIR,
    ChecklistError,
    load_checklist,
    load_checklist_file,
    parse_checklist,
)

ASQ_EN = {
    "asq1": "In the past few weeks, have you wished you were dead?",
    "asq2": "In the past few weeks, have you felt that you or your family would be better off "
    "if you were dead?",
    "asq3": "In the past week, have you been having thoughts about killing yourself?",
    "asq4": "Have you ever tried to kill yourself?",
    "asq5": "Are you having thoughts of killing yourself right now?",
}


@pytest.fixture(scope="module")
def checklist():
    return load_checklist()


def run(checklist, script):
    """Answer whatever is asked next from ``script``; return the ids asked, in order."""
    answers, asked = {}, []
    while (item := checklist.next_item(answers)) is not None:
        asked.append(item.id)
        answers[item.id] = checklist.validate_answer(
            item.id, script.get(item.id, "no"), answers=answers
        )
    return asked, answers


def test_asq_wording_is_verbatim(checklist):
    for item_id, text in ASQ_EN.items():
        assert checklist.item(item_id).text["en"] == text


def test_every_item_has_hindi_in_devanagari(checklist):
    for item in checklist.items:
        assert any("\u0900" <= ch <= "\u097f" for ch in item.text["hi"]), item.id


def test_negative_screen_stops_after_asq4_without_asking_asq5(checklist):
    asked, answers = run(checklist, {})
    assert asked == ["asq1", "asq2", "asq3", "asq4"]
    assert checklist.is_complete(answers)


def test_positive_screen_asks_acuity_then_follow_ups(checklist):
    asked, _ = run(checklist, {"asq2": "yes", "method": "yes", "plan": "yes", "timeframe": "later"})
    assert asked[:5] == ["asq1", "asq2", "asq3", "asq4", "asq5"]
    assert asked[5:] == [
        "attempt_today",
        "safe_now",
        "method",
        "plan",
        "intent",
        "means",
        "timeframe",
    ]


def test_refusal_counts_as_positive_and_asks_acuity(checklist):
    asked, _ = run(checklist, {"asq3": "declined"})
    assert "asq5" in asked


def test_attempt_asks_when_it_was(checklist):
    asked, _ = run(checklist, {"asq4": "yes", "asq4_when": "over_3_months"})
    assert asked[4:6] == ["asq4_when", "asq5"]
    assert checklist.item("asq4").follow_up is not None


def test_no_method_skips_plan_and_timeframe(checklist):
    asked, _ = run(checklist, {"asq1": "yes", "method": "no", "intent": "no"})
    assert "plan" not in asked
    assert "timeframe" not in asked


def test_invalid_value_is_rejected(checklist):
    with pytest.raises(BadRequest) as error:
        checklist.validate_answer("asq1", "maybe")
    assert error.value.code == "invalid_answer"


def test_unknown_item_is_rejected(checklist):
    with pytest.raises(BadRequest) as error:
        checklist.validate_answer("asq9", "yes")
    assert error.value.code == "invalid_answer"


def test_item_not_askable_yet_is_rejected(checklist):
    with pytest.raises(BadRequest) as error:
        checklist.validate_answer("asq5", "yes", answers={"asq1": "no"})
    assert error.value.code == "invalid_answer"


def test_answers_are_canonicalised(checklist):
    assert checklist.validate_answer("asq1", " YES ") == "yes"


def test_render_gives_the_wire_payload(checklist):
    frame = checklist.item("timeframe").render("hi")
    assert frame["item_id"] == "timeframe"
    assert frame["index"] == 13 and frame["total"] == len(checklist.items)
    assert [o["value"] for o in frame["options"]] == ["now", "days", "later", "unsure", "declined"]
    assert all(o["label"] for o in frame["options"])
    yes_no = checklist.item("asq1").render("ta")  # unknown language falls back to English
    assert yes_no["text"] == ASQ_EN["asq1"]
    assert [o["value"] for o in yes_no["options"]] == ["yes", "no", "declined", "unsure"]


def _raw():
    path = CHECKLISTS_DIR / "asq-followup-v1.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_missing_translation_fails_loudly_naming_file_and_item():
    raw = _raw()
    del raw["items"][2]["text"]["hi"]
    with pytest.raises(ChecklistError, match=r"broken\.yaml[\s\S]*asq3"):
        parse_checklist(raw, source="broken.yaml")


def test_ask_if_on_a_later_item_fails_loudly():
    raw = _raw()
    raw["items"][0]["ask_if"] = {"item": "asq5", "in": ["yes"]}
    with pytest.raises(ChecklistError, match="not an earlier item"):
        parse_checklist(raw, source="x.yaml")


def test_choice_without_declined_fails_loudly():
    raw = _raw()
    when = next(i for i in raw["items"] if i["id"] == "asq4_when")
    when["options"] = [o for o in when["options"] if o["value"] != "declined"]
    with pytest.raises(ChecklistError, match="asq4_when"):
        parse_checklist(raw, source="x.yaml")


def test_unreadable_file_fails_loudly(tmp_path):
    bad = tmp_path / "asq-bad.yaml"
    bad.write_text("items: [unclosed", encoding="utf-8")
    with pytest.raises(ChecklistError, match=r"asq-bad\.yaml"):
        load_checklist_file(bad)

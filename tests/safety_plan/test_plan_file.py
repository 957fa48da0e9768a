"""The safety plan's wording and limits (app/safety_plan/plan.py): pure."""

from __future__ import annotations

import pytest
import yaml

from app.errors import AppError
from app.risk.safe_messaging import find_unsafe
from app.safety_plan.plan import PLAN_FILE, STEP_IDS, PlanError, load_plan, parse_plan


def test_the_shipped_plan_has_the_six_steps_in_both_languages():
    plan = load_plan()
    assert tuple(step.id for step in plan.steps) == STEP_IDS
    for step in plan.steps:
        for language in ("en", "hi"):
            assert step.render(language)["title"] and step.render(language)["prompt"]
    assert [s.id for s in plan.steps if s.helplines] == ["professionals"]
    assert plan.steps[0].render("hi")["title"] != plan.steps[0].render("en")["title"]


def _texts():
    plan = load_plan()
    for language in ("en", "hi"):
        yield f"intro.{language}", plan.intro[language]
        for step in plan.steps:
            rendered = step.render(language)
            yield f"{step.id}.title.{language}", rendered["title"]
            yield f"{step.id}.prompt.{language}", rendered["prompt"]
            for i, example in enumerate(rendered["examples"]):
                yield f"{step.id}.examples[{i}].{language}", example


@pytest.mark.parametrize(("where", "text"), list(_texts()))
def test_every_text_follows_safe_messaging(where, text):
    assert find_unsafe(text) == [], where


def test_no_text_asks_the_seeker_to_promise():
    for where, text in _texts():
        assert "promise" not in text.lower() and "वादा" not in text, where


def _raw():
    return yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))


def test_a_missing_step_or_language_stops_loading_with_its_name():
    raw = _raw()
    raw["steps"] = raw["steps"][:5]
    with pytest.raises(PlanError, match="steps must be"):
        parse_plan(raw, source="broken.yaml")
    raw = _raw()
    del raw["steps"][2]["prompt"]["hi"]
    with pytest.raises(PlanError, match="distractions: prompt lacks hi"):
        parse_plan(raw, source="broken.yaml")


def test_entries_are_trimmed_blank_ones_dropped_and_limits_kept():
    plan = load_plan()
    assert plan.clean_items(["  walk  ", "", "   ", "music"]) == ["walk", "music"]
    with pytest.raises(AppError) as too_many:
        plan.clean_items([f"x{i}" for i in range(plan.max_items_per_step + 1)])
    assert too_many.value.code == "invalid_frame"
    with pytest.raises(AppError) as too_long:
        plan.clean_items(["x" * (plan.max_item_chars + 1)])
    assert too_long.value.code == "text_too_long"
    with pytest.raises(AppError):
        plan.step("reasons_to_live")

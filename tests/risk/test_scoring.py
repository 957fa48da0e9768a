"""Risk scoring implements DOMAIN.md's level table, as data."""

import copy

import pytest
import yaml

from app.escalation.machine import load_policy
from app.risk.scoring import (
    RULES_DIR,
    RiskLevel,
    RulesError,
    load_rules,
    max_level,
    parse_rules,
    routing_for,
    score,
)

NEG = {"asq1": "no", "asq2": "no", "asq3": "no", "asq4": "no"}
POS = {"asq1": "yes", "asq2": "no", "asq3": "no", "asq4": "no"}


def test_levels_have_a_total_order():
    assert [lv.rank for lv in RiskLevel] == [0, 1, 2, 3, 4]
    assert max_level(RiskLevel.LOW, RiskLevel.HIGH) is RiskLevel.HIGH
    assert max_level(RiskLevel.IMMINENT, RiskLevel.NONE) is RiskLevel.IMMINENT


def test_no_answers_is_none_without_reasons():
    assessment = score({})
    assert assessment.level is RiskLevel.NONE
    assert assessment.reasons == []


def test_negative_screen_is_none():
    assessment = score(NEG)
    assert assessment.level is RiskLevel.NONE
    assert assessment.reasons == ["asq_negative"]
    assert "rescreen_on_cue" in assessment.actions


def test_positive_without_acuity_or_plan_is_low():
    assessment = score({**POS, "asq5": "no", "plan": "no", "intent": "no", "method": "no"})
    assert assessment.level is RiskLevel.LOW
    assert assessment.reasons == ["asq_positive"]
    assert assessment.actions[-2:] == ["offer_safety_plan", "resources_card"]


@pytest.mark.parametrize("item", ["asq1", "asq2", "asq3", "asq4"])
def test_refusing_any_asq_item_makes_the_screen_positive(item):
    answers = {**NEG, item: "declined"}
    assessment = score(answers)
    assert assessment.level is RiskLevel.MODERATE
    assert "asq_positive" in assessment.reasons
    assert "answer_declined" in assessment.reasons


def test_unsure_follow_up_is_at_least_moderate():
    assessment = score({**POS, "asq5": "no", "means": "unsure"})
    assert assessment.level is RiskLevel.MODERATE
    assert "answer_unsure" in assessment.reasons


def test_declined_follow_up_is_at_least_moderate():
    assessment = score({**POS, "asq5": "no", "timeframe": "declined"})
    assert assessment.level is RiskLevel.MODERATE


def test_attempt_more_than_three_months_ago_is_moderate():
    assessment = score({**NEG, "asq4": "yes", "asq4_when": "over_3_months", "asq5": "no"})
    assert assessment.level is RiskLevel.MODERATE
    assert assessment.reasons[0] == "attempt_past"


def test_method_thought_of_is_moderate():
    assessment = score({**POS, "asq5": "no", "method": "yes", "plan": "no"})
    assert assessment.level is RiskLevel.MODERATE
    assert "method_considered" in assessment.reasons
    assert "notify_supervisor" in assessment.actions


def test_attempt_within_three_months_is_high():
    assessment = score({**NEG, "asq4": "yes", "asq4_when": "within_3_months", "asq5": "no"})
    assert assessment.level is RiskLevel.HIGH
    assert assessment.reasons[0] == "attempt_recent"


def test_acute_positive_is_high():
    assessment = score({**POS, "asq5": "yes"})
    assert assessment.level is RiskLevel.HIGH
    assert assessment.reasons == ["acute_positive", "asq_positive"]
    assert {"page_supervisor", "warm_referral", "volunteer_cannot_close"} <= set(assessment.actions)


@pytest.mark.parametrize("item", ["plan", "intent"])
def test_plan_or_intent_is_high(item):
    assessment = score({**POS, "asq5": "no", item: "yes"})
    assert assessment.level is RiskLevel.HIGH
    assert assessment.reasons[0] == item


def test_attempt_in_progress_is_imminent():
    assessment = score({**POS, "attempt_today": "yes"})
    assert assessment.level is RiskLevel.IMMINENT
    assert assessment.reasons[0] == "attempt_in_progress"


@pytest.mark.parametrize(
    ("item", "reason"),
    [("plan", "acute_with_plan"), ("intent", "acute_with_intent"), ("means", "acute_with_means")],
)
def test_acute_with_plan_intent_or_means_is_imminent(item, reason):
    assessment = score({**POS, "asq5": "yes", item: "yes"})
    assert assessment.level is RiskLevel.IMMINENT
    assert reason in assessment.reasons


def test_means_without_acuity_is_not_imminent():
    assert score({**POS, "asq5": "no", "means": "yes"}).level is RiskLevel.LOW


def test_not_safe_right_now_is_imminent():
    assessment = score({**POS, "safe_now": "no"})
    assert assessment.level is RiskLevel.IMMINENT
    assert assessment.reasons[0] == "not_safe_now"
    assert {"page_all_on_call", "emergency_guidance", "referral_until_contact"} <= set(
        assessment.actions
    )


def test_highest_matching_level_wins_and_reasons_are_ordered_by_level():
    answers = {
        **POS,
        "asq4": "yes",
        "asq4_when": "over_3_months",
        "asq5": "no",
        "intent": "yes",
        "safe_now": "no",
    }
    assessment = score(answers)
    assert assessment.level is RiskLevel.IMMINENT
    assert assessment.reasons == ["not_safe_now", "intent", "attempt_past", "asq_positive"]


def test_clinical_judgment_raises_but_never_lowers():
    raised = score(POS, judgment=RiskLevel.HIGH)
    assert raised.level is RiskLevel.HIGH
    assert raised.reasons[0] == "clinical_judgment"
    kept = score({**POS, "safe_now": "no"}, judgment=RiskLevel.LOW)
    assert kept.level is RiskLevel.IMMINENT
    assert "clinical_judgment" not in kept.reasons


def test_routing_deadlines_match_the_domain_table():
    assert routing_for("moderate").ack_deadline_s == 900
    assert routing_for(RiskLevel.HIGH).ack_deadline_s == 120
    assert routing_for(RiskLevel.IMMINENT).ack_deadline_s == 60
    assert routing_for(RiskLevel.LOW).notifies is False
    assert routing_for(RiskLevel.MODERATE).notifies and not routing_for("moderate").pages
    assert routing_for(RiskLevel.HIGH).pages


def test_escalation_policy_first_deadline_agrees_with_rules():
    policy = load_policy()
    for level, level_policy in policy.levels.items():
        assert level_policy.schedule[0].ack_within_s == routing_for(level).ack_deadline_s


def test_rules_reference_only_checklist_items_and_values():
    from app.risk.checklist import load_checklist
    from app.risk.conditions import ItemIn, walk

    checklist = load_checklist(load_rules().checklist)
    conditions = [r.when for r in load_rules().rules] + list(load_rules().conditions.values())
    for condition in conditions:
        for node in walk(condition):
            if isinstance(node, ItemIn):
                assert set(node.values) <= set(checklist.item(node.item).values)


def _raw_rules():
    return yaml.safe_load((RULES_DIR / "levels-v1.yaml").read_text(encoding="utf-8"))


def test_a_rule_with_an_unknown_level_fails_loudly():
    raw = _raw_rules()
    raw["rules"][0]["level"] = "severe"
    with pytest.raises(RulesError, match=r"levels-test\.yaml"):
        parse_rules(raw, source="levels-test.yaml")


def test_a_rule_with_an_unknown_ref_fails_loudly():
    raw = copy.deepcopy(_raw_rules())
    raw["rules"][1]["when"] = {"ref": "no_such_condition"}
    with pytest.raises(RulesError, match="no_such_condition"):
        parse_rules(raw, source="x.yaml")


def test_a_longer_ack_for_a_higher_level_is_refused():
    raw = _raw_rules()
    raw["routing"]["imminent"]["ack_deadline_s"] = 600
    with pytest.raises(RulesError, match="longer ack"):
        parse_rules(raw, source="x.yaml")

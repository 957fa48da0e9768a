"""The escalation machine: deadlines, re-page tiers, idempotent ticks, guarded moves."""

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import BadRequest, InvalidTransition
from app.escalation.machine import (
    EscalationStatus,
    Outcome,
    PageTier,
    acknowledge,
    choose_targets,
    on_tick,
    open_escalation,
    raise_level,
    resolve,
)
from app.risk.scoring import RiskLevel

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("level", "tier", "deadline"),
    [
        (RiskLevel.MODERATE, PageTier.PRIMARY, 900),
        (RiskLevel.HIGH, PageTier.PRIMARY, 120),
        (RiskLevel.IMMINENT, PageTier.ALL, 60),
    ],
)
def test_opening_pages_the_first_tier_with_the_level_deadline(level, tier, deadline):
    decision = open_escalation(level, T0, source="checklist")
    assert decision.tier is tier
    assert decision.state.status is EscalationStatus.OPEN
    assert decision.state.ack_deadline == at(deadline)


@pytest.mark.parametrize("level", [RiskLevel.NONE, RiskLevel.LOW])
def test_levels_below_moderate_do_not_escalate(level):
    with pytest.raises(BadRequest):
        open_escalation(level, T0, source="checklist")


def test_no_repage_before_the_deadline():
    state = open_escalation(RiskLevel.HIGH, T0, source="volunteer").state
    assert on_tick(state, at(119)) is None


def test_high_repages_primary_then_backup_then_all():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    to_backup = on_tick(state, at(120))
    assert to_backup.tier is PageTier.BACKUP
    assert to_backup.state.ack_deadline == at(240)
    to_all = on_tick(to_backup.state, at(240))
    assert to_all.tier is PageTier.ALL
    assert to_all.state.ack_deadline == at(360)
    again = on_tick(to_all.state, at(360))
    assert again.tier is PageTier.ALL  # keeps paging everyone until someone answers
    assert len({to_backup.page_key, to_all.page_key, again.page_key}) == 3


def test_a_tick_after_a_repage_for_the_same_tier_never_repages_twice():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    decision = on_tick(state, at(121))
    assert on_tick(decision.state, at(121)) is None
    assert on_tick(decision.state, at(200)) is None


def test_same_state_and_time_give_the_same_page_key():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    assert on_tick(state, at(130)).page_key == on_tick(state, at(130)).page_key


def test_a_late_tick_jumps_to_the_tier_the_schedule_has_reached():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    decision = on_tick(state, at(300))
    assert decision.tier is PageTier.ALL
    assert decision.skipped == (PageTier.BACKUP,)
    assert decision.state.ack_deadline == at(420)


def test_acknowledged_escalation_stops_paging():
    state = open_escalation(RiskLevel.IMMINENT, T0, source="checklist").state
    acked = acknowledge(state, at(30), "sup-1")
    assert acked.status is EscalationStatus.ACKNOWLEDGED
    assert acked.acknowledged_by == "sup-1" and acked.ack_deadline is None
    assert on_tick(acked, at(600)) is None


def test_resolve_from_open_or_acknowledged_records_outcome():
    state = open_escalation(RiskLevel.MODERATE, T0, source="cue").state
    done = resolve(state, at(10), "sup-2", Outcome.FALSE_ALARM)
    assert done.status is EscalationStatus.RESOLVED and done.outcome is Outcome.FALSE_ALARM
    acked = acknowledge(state, at(5), "sup-1")
    done = resolve(acked, at(50), "sup-1", "safe_plan_agreed")
    assert done.outcome is Outcome.SAFE_PLAN_AGREED
    assert on_tick(done, at(5000)) is None


def test_illegal_transitions_raise_naming_what_was_expected():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    acked = acknowledge(state, at(5), "sup-1")
    with pytest.raises(InvalidTransition, match="acknowledged"):
        acknowledge(acked, at(6), "sup-2")
    done = resolve(acked, at(7), "sup-1", Outcome.REFERRED_HELPLINE)
    with pytest.raises(InvalidTransition, match="final state"):
        resolve(done, at(8), "sup-1", Outcome.OTHER)
    with pytest.raises(InvalidTransition):
        acknowledge(done, at(8), "sup-1")


def test_unknown_outcome_is_refused():
    state = open_escalation(RiskLevel.HIGH, T0, source="checklist").state
    with pytest.raises(ValueError):
        resolve(state, at(1), "sup-1", "went_home")


def test_raising_the_level_restarts_paging_at_the_higher_level():
    state = open_escalation(RiskLevel.MODERATE, T0, source="checklist").state
    decision = raise_level(state, RiskLevel.IMMINENT, at(100))
    assert decision.tier is PageTier.ALL
    assert decision.state.level is RiskLevel.IMMINENT
    assert decision.state.ack_deadline == at(160)
    assert raise_level(decision.state, RiskLevel.HIGH, at(110)) is None  # never lowers


def test_raising_an_acknowledged_escalation_pages_but_keeps_the_ack():
    state = acknowledge(open_escalation(RiskLevel.HIGH, T0, source="checklist").state, at(5), "s")
    decision = raise_level(state, RiskLevel.IMMINENT, at(60))
    assert decision.tier is PageTier.ALL
    assert decision.state.status is EscalationStatus.ACKNOWLEDGED


def test_choose_targets_per_tier():
    on_call, backups, admins = ["s1", "s2"], ["s1", "b1", "b2"], ["a1", "s2"]
    assert choose_targets(PageTier.PRIMARY, on_call, backups, admins) == ["s1"]
    assert choose_targets(PageTier.BACKUP, on_call, backups, admins) == ["s1", "b1"]
    assert choose_targets(PageTier.ALL, on_call, backups, admins) == ["s1", "s2", "b1", "a1"]


def test_choose_targets_widens_when_nobody_is_on_call():
    assert choose_targets("primary", [], ["b1"], ["a1"]) == ["b1"]
    assert choose_targets("primary", [], [], ["a1"]) == ["a1"]
    assert choose_targets("all", [], [], []) == []

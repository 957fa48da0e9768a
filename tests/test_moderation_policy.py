"""Who may report and block a seeker, and what a block does (app/moderation/policy.py)."""

from __future__ import annotations

from app.chat.policy import ConversationStatus
from app.identity.models import Role
from app.moderation import policy


def test_the_conversations_staff_report_and_nobody_else():
    for role in (Role.volunteer, Role.supervisor, Role.admin):
        assert policy.may_report(role)
    assert not policy.may_report(Role.seeker)
    assert not policy.may_report(None)  # not in the conversation


def test_only_supervisors_and_admins_block():
    assert policy.may_block(Role.supervisor) and policy.may_block(Role.admin)
    assert not policy.may_block(Role.volunteer) and not policy.may_block(Role.seeker)


def test_a_block_closes_open_conversations_only_and_says_nothing_of_blocking():
    assert policy.closing_status(ConversationStatus.waiting) is ConversationStatus.abandoned
    assert policy.closing_status(ConversationStatus.active) is ConversationStatus.ended
    assert policy.closing_status(ConversationStatus.ended) is None
    assert policy.closing_status(ConversationStatus.abandoned) is None
    assert "block" not in policy.BLOCK_REASON and policy.BLOCKED_BY == "system"

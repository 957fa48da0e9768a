"""The conversation lifecycle table refuses illegal moves, naming what was expected."""

from __future__ import annotations

import pytest

from app.chat.access import CONVERSATION_LIFECYCLE, ConversationStatus
from app.errors import InvalidTransition

S = ConversationStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.waiting, S.active),
        (S.waiting, S.abandoned),
        (S.active, S.ended),
        (S.active, S.waiting),  # a warm transfer back to the queue (app/transfer)
    ],
)
def test_allowed_moves(current, target):
    assert CONVERSATION_LIFECYCLE.check(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.waiting, S.ended),
        (S.active, S.abandoned),
        (S.ended, S.active),
        (S.abandoned, S.active),
        (S.ended, S.ended),
    ],
)
def test_illegal_moves_raise_with_the_expected_states(current, target):
    with pytest.raises(InvalidTransition) as info:
        CONVERSATION_LIFECYCLE.check(current, target)
    assert info.value.code == "invalid_transition"
    assert str(current) in info.value.message

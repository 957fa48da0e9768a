"""A socket's cursors, fed events with no socket and no database (app.delivery)."""

from __future__ import annotations

from app.delivery import DUPLICATE, GAP, HOLD, NEXT, Cursors


def test_live_messages_wait_until_the_socket_anchors_the_conversation():
    cursors = Cursors()
    assert cursors.classify("c", 1) == HOLD  # not followed at all
    assert cursors.follow("c") is True  # listed in auth.ok: subscribe, no anchor yet
    assert cursors.classify("c", 5) == HOLD  # the resume's read will bring it
    assert cursors.follow("c") is False  # already subscribed
    assert cursors.resume("c", 4) == 4
    assert cursors.classify("c", 5) == NEXT


def test_in_order_messages_go_out_once():
    cursors = Cursors()
    cursors.follow("c", anchor=0)
    assert cursors.classify("c", 1) == NEXT
    cursors.advance("c", 1)
    assert cursors.classify("c", 1) == DUPLICATE
    assert cursors.classify("c", 2) == NEXT


def test_a_skipped_seq_is_a_gap_to_fill_from_the_database_first():
    cursors = Cursors()
    cursors.follow("c", anchor=3)
    assert cursors.classify("c", 6) == GAP
    # The shell reads 4..6 and sends them in order.
    for seq in (4, 5, 6):
        assert cursors.wants("c", seq)
        cursors.advance("c", seq)
    assert cursors.classify("c", 6) == DUPLICATE


def test_a_resume_never_sends_again_what_the_socket_was_given():
    cursors = Cursors()
    cursors.follow("c", anchor=0)
    cursors.advance("c", 7)
    assert cursors.resume("c", 2) == 7  # the client asked from 2; it has up to 7 here
    assert not cursors.wants("c", 7) and cursors.wants("c", 8)
    assert cursors.resume("c", 9) == 9  # the client holds more than this socket sent


def test_an_anchor_never_moves_a_conversation_already_anchored():
    cursors = Cursors()
    cursors.follow("c", anchor=5)
    assert cursors.follow("c", anchor=0) is False
    assert cursors.position("c") == 5


def test_a_bus_reset_fills_only_anchored_conversations():
    cursors = Cursors()
    cursors.follow("a", anchor=0)
    cursors.follow("b")
    assert cursors.anchored() == ["a"]
    assert sorted(cursors) == ["a", "b"] and "b" in cursors and len(cursors) == 2

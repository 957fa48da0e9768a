"""Who may write in a conversation: the rule, and the chat writer's SQL held to it."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from app.chat import writer
from app.chat.policy import ConversationStatus, Writer, WriteRefusal, write_refusal

STATUSES = [s.value for s in ConversationStatus]


@pytest.mark.parametrize("writer_", list(Writer))
@pytest.mark.parametrize("status", ["ended", "abandoned"])
def test_nobody_writes_in_a_closed_conversation(writer_: Writer, status: str):
    assert write_refusal(writer=writer_, status=status, taken_over=False) is WriteRefusal.closed


def test_a_seeker_writes_while_waiting_and_while_active():
    for status in ("waiting", "active"):
        assert write_refusal(writer=Writer.seeker, status=status, taken_over=False) is None
    # A takeover changes nothing for the seeker.
    assert write_refusal(writer=Writer.seeker, status="active", taken_over=True) is None


def test_a_volunteer_writes_in_an_active_chat_until_a_supervisor_takes_it_over():
    assert write_refusal(writer=Writer.volunteer, status="active", taken_over=False) is None
    refusal = write_refusal(writer=Writer.volunteer, status="active", taken_over=True)
    assert refusal is WriteRefusal.observing


def test_a_supervisor_writes_only_after_joining_an_active_chat():
    assert write_refusal(writer=Writer.supervisor, status="active", taken_over=True) is None
    observing = write_refusal(
        writer=Writer.supervisor, status="active", taken_over=False, joined=False
    )
    assert observing is WriteRefusal.observing
    waiting = write_refusal(writer=Writer.supervisor, status="waiting", taken_over=False)
    assert waiting is WriteRefusal.not_started


@pytest.mark.parametrize(
    ("writer_", "status", "taken_over", "own"),
    list(
        itertools.product([Writer.seeker, Writer.volunteer], STATUSES, [False, True], [True, False])
    ),
)
def test_the_writers_sql_allows_exactly_what_the_rule_allows(
    writer_: Writer, status: str, taken_over: bool, own: bool
):
    # The group-commit path decides in SQL (the same conditions on SQLite and PostgreSQL);
    # it must agree with write_refusal on every case, and refuse anyone else's conversation.
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE conversations (id TEXT, status TEXT, seeker_id TEXT, volunteer_id TEXT,"
        " lead_staff_id TEXT, last_seq INTEGER)"
    )
    db.execute(
        "INSERT INTO conversations VALUES ('c', ?, 's', 'v', ?, 0)",
        (status, "boss" if taken_over else None),
    )
    sender = ("s" if writer_ is Writer.seeker else "v") if own else "someone-else"
    changed = db.execute(writer.SQLITE_NEXT_SEQ[writer_ is Writer.seeker], ("c", sender)).rowcount
    allowed = own and write_refusal(writer=writer_, status=status, taken_over=taken_over) is None
    assert bool(changed) == allowed

"""The hand-assembled chat frames are exactly what the general encoder writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.chat.events import MessageStored
from app.outbound import frames

AWKWARD = [
    "",
    "plain words",
    'quote " and backslash \\ and slash /',
    "new\nline, tab\t, nul \x00, bell \x07, del \x7f",
    "हिंदी में लिखा, Hinglish bhi",
    "emoji 🌧️💊 and a zero-width joiner \u200d",
    "line separators \u2028 \u2029",
    "lone surrogate \ud800",
]
WHEN = datetime(2026, 12, 3, 6, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("sent_at", [WHEN, frames.iso(WHEN)])
def test_chat_message_frame_is_the_encoders_output(text: str, sent_at: datetime | str):
    fields = {
        "conversation_id": "c" + text[:5],
        "seq": 7,
        "sender_role": "seeker",
        "sender_alias": text[::-1],
        "text": text,
        "sent_at": sent_at,
        "client_msg_id": text[:3] + "-id",
    }
    frame = frames.chat_message_frame(**fields)
    assert frame == frames.dumps({"type": "chat.message", **fields})
    assert json.loads(frame)["text"] == text


@pytest.mark.parametrize("ref", [None, "r1", 'r"\\\n'])
@pytest.mark.parametrize("duplicate", [False, True])
@pytest.mark.parametrize("client_msg_id", AWKWARD)
def test_ack_frame_is_the_encoders_output(ref: str | None, duplicate: bool, client_msg_id: str):
    fields = {
        "conversation_id": "abc",
        "client_msg_id": client_msg_id,
        "seq": 12,
        "sent_at": WHEN,
        "duplicate": duplicate,
        "ref": ref,
    }
    assert frames.ack_frame(**fields) == frames.dumps({"type": "chat.ack", **fields})


@pytest.mark.parametrize("text", AWKWARD)
def test_a_stored_message_is_written_as_chat_message_frame_writes_it(text: str):
    stored = MessageStored("c1", 7, "seeker", "Quiet Otter", text, WHEN, "m-1")
    assert frames.chat_message(stored) == frames.chat_message_frame(
        conversation_id="c1",
        seq=7,
        sender_role="seeker",
        sender_alias="Quiet Otter",
        text=text,
        sent_at=WHEN,
        client_msg_id="m-1",
    )


@pytest.mark.parametrize(
    "when",
    [
        WHEN,
        WHEN.replace(microsecond=0),  # still six digits
        WHEN.replace(tzinfo=None),  # naive UTC, as SQLite gives it back
        datetime(2027, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_every_time_on_the_wire_is_utc_with_microseconds_and_z(when: datetime):
    assert frames.iso(when) == when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""The hand-assembled chat frames are exactly what the general encoder writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.chat import protocol

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
@pytest.mark.parametrize("sent_at", [WHEN, protocol.iso(WHEN)])
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
    frame = protocol.chat_message_frame(**fields)
    assert frame == protocol.dumps({"type": "chat.message", **fields})
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
    assert protocol.ack_frame(**fields) == protocol.dumps({"type": "chat.ack", **fields})

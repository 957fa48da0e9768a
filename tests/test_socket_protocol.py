"""The server's WebSocket protocol (app/socket_protocol.py): frames it writes itself, reading
that pauses only when the app falls behind, and frames that leave in order."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from app.socket_protocol import text_frame
from tests.conftest import StaffFactory
from tests.support import Server, paired


def parse(data: bytes) -> Frame:
    """What a client's parser makes of ``data`` (unmasked: a server's frame)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frames_have_the_length_form_their_size_needs(size: int):
    payload = ("é" * size).encode()[:size]
    frame = parse(text_frame(payload))
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert frame.data == payload


async def test_a_long_non_ascii_message_arrives_whole(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    text = "मुझे किसी से बात करनी है। " * 150  # 4,050 characters, ~11 KB of UTF-8
    text = text[:4000].strip()  # as stored: the white space around a text is trimmed
    frame = {"type": "chat.send", "conversation_id": cid, "client_msg_id": "l", "text": text}
    await s.send_raw(json.dumps(frame, ensure_ascii=False))  # as a browser sends it
    ack = await s.recv("chat.ack")
    own = await s.recv("chat.message", where=lambda f: f["seq"] == ack["seq"])
    got = await v.recv("chat.message", where=lambda f: f["seq"] == ack["seq"])
    assert got["text"] == own["text"] == text
    await s.close()
    await v.close()


async def test_a_burst_of_sends_is_answered_in_order(server: Server, staff: StaffFactory):
    """Thirty sends written at once. The sender gets, for each in turn, its ack and then its
    own copy of the message (written together, in that order); the volunteer gets every
    message in seq order, none missing."""
    s, v, cid, _ = await paired(server, staff)
    for i in range(30):
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"b{i}", "text": str(i)}
        )
    stream = []
    while len(stream) < 60:
        frame = json.loads(await asyncio.wait_for(s.ws.recv(), timeout=5))
        if frame["type"] in ("chat.ack", "chat.message"):
            stream.append((frame["type"], frame["seq"], frame["client_msg_id"]))
    expected = []
    for i in range(30):
        expected += [("chat.ack", i + 1, f"b{i}"), ("chat.message", i + 1, f"b{i}")]
    assert stream == expected
    seen = [await v.recv("chat.message") for _ in range(30)]
    assert [m["seq"] for m in seen] == list(range(1, 31))
    assert [m["text"] for m in seen] == [str(i) for i in range(30)]
    await s.close()
    await v.close()

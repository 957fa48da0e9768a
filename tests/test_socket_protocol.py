"""The server's WebSocket protocol (app/socket_protocol.py): frames it writes itself, reading
that pauses only when the app falls behind, and frames that leave in order."""

from __future__ import annotations

import asyncio
import json
import os
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.utils import apply_mask

from app.socket_protocol import text_frame, unmask
from tests.conftest import FAST, Backend, StaffFactory
from tests.support import Server, env_for, new_seeker, paired


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


# -- frames read past websockets' parser (PeerlineWebSocketProtocol.data_received) --------
# The client below writes raw frames on a real client's socket after the opening handshake,
# so each test decides exactly how the bytes reach the server: split, run together, odd.

PING = json.dumps({"type": "ping"}).encode()


def client_frame(payload: bytes, *, opcode: int = 1, fin: bool = True, rsv: int = 0) -> bytes:
    """A client's frame (masked, RFC 6455 §5.2), with any header bits a test wants."""
    mask = os.urandom(4)
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    size = len(payload)
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    return head + mask + unmask(payload, mask)


async def raw_client(server: Server) -> ClientConnection:
    """A real client's socket, authenticated as a new seeker."""
    seeker = await new_seeker(server.base_url, "en")
    ws = await connect(server.ws_url, open_timeout=10, compression=None, max_size=2**20)
    await ws.send(json.dumps({"type": "auth", "token": seeker["seeker_token"]}))
    assert [f["type"] for f in await texts(ws, 1)] == ["auth.ok"]
    return ws


async def texts(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(ws.recv(), timeout=5)) for _ in range(count)]


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 1000, 65536, 70000])
def test_unmasking_matches_websockets(size: int):
    payload, mask = os.urandom(size), os.urandom(4)
    assert unmask(payload, mask) == apply_mask(payload, mask)
    assert unmask(unmask(payload, mask), mask) == payload


@pytest.fixture
def unhurried(backend: Backend) -> Iterator[Server]:
    """A server that lets a socket send hundreds of frames a second."""
    srv = Server(env_for(backend.database_url, **{**FAST, "RATE_LIMIT_BURST": "5000"}))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_frames_split_anyhow_or_run_together_are_each_answered(unhurried: Server):
    """Byte by byte, or many frames and a control frame in one write, or a frame cut across
    writes at every place: every frame is answered, in order, and the WebSocket ping too."""
    ws = await raw_client(unhurried)
    one = client_frame(PING)
    for byte in one:  # a byte at a time
        ws.transport.write(bytes((byte,)))
        await asyncio.sleep(0)
    assert [f["type"] for f in await texts(ws, 1)] == ["pong"]
    ws.transport.write(one * 5)  # five at once
    assert [f["type"] for f in await texts(ws, 5)] == ["pong"] * 5
    # A text frame, a WebSocket ping, a long text frame (16-bit length), run together
    # and cut at every place.
    for cut in range(1, 600):
        bad = json.dumps({"type": "no.such", "ref": f"r{cut}", "pad": "é" * 200}).encode()
        stream = client_frame(PING) + client_frame(b"hello", opcode=9) + client_frame(bad)
        if cut >= len(stream):
            break
        ws.transport.write(stream[:cut])
        await asyncio.sleep(0.001)
        ws.transport.write(stream[cut:])
        got = await texts(ws, 2)
        assert [f["type"] for f in got] == ["pong", "error"], cut
        assert (got[1]["code"], got[1]["ref"]) == ("unknown_type", f"r{cut}")
    # A long frame (14 KB, under WS_MAX_FRAME_CHARS) in small writes, and the next frame.
    long = json.dumps({"type": "no.such", "ref": "long", "pad": "é" * 7_000}, ensure_ascii=False)
    stream = client_frame(long.encode()) + client_frame(PING)
    for start in range(0, len(stream) - 20, 997):
        ws.transport.write(stream[start : start + 997])
        await asyncio.sleep(0)
    ws.transport.write(stream[start + 997 :])
    got = await texts(ws, 2)
    assert [(f["type"], f.get("ref")) for f in got] == [("error", "long"), ("pong", None)]
    await ws.ping(b"still-there")  # the connection is usable throughout
    await ws.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_fragmented_message_is_read_whole_with_a_ping_inside(server: Server):
    ws = await raw_client(server)
    head, tail = PING[:5], PING[5:]
    ws.transport.write(
        client_frame(head, fin=False)
        + client_frame(b"", opcode=9)  # a WebSocket ping between the fragments
        + client_frame(tail[:3], opcode=0, fin=False)
        # A whole text frame right after would break the message (1002); this is the
        # last fragment, and then an ordinary frame.
        + client_frame(tail[3:], opcode=0)
        + client_frame(PING)
    )
    assert [f["type"] for f in await texts(ws, 2)] == ["pong", "pong"]
    await ws.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(b'{"type": "ping", "x": "\xff"}'), 1007),  # not UTF-8
        (client_frame(PING, rsv=4), 1002),  # a reserved bit, no extension agreed
        (client_frame(PING)[:1] + bytes((len(PING),)) + PING, 1002),  # not masked
        (client_frame(PING, fin=False) + client_frame(PING), 1002),  # a message inside one
        (client_frame(PING, opcode=0), 1002),  # a continuation of nothing
        (client_frame(b"x" * 65537), 1009),  # over ws_max_size (WS_MAX_FRAME_BYTES)
        (client_frame(b"p" * 126, opcode=9), 1002),  # a control frame over 125 bytes
        (client_frame(b"p", opcode=9, fin=False), 1002),  # a fragmented control frame
        (client_frame(b"\x03", opcode=8), 1002),  # a close frame of one byte
    ],
    ids=[
        "utf8",
        "rsv",
        "unmasked",
        "interleaved",
        "stray-cont",
        "too-big",
        "long-ping",
        "fragmented-ping",
        "short-close",
    ],
)
async def test_a_frame_that_breaks_the_protocol_closes_with_its_code(
    server: Server, frame: bytes, code: int
):
    """Each after an ordinary frame in the same write (whose answer may be cut off by the
    close: the connection is failed at once, RFC 6455 §7.1.7)."""
    ws = await raw_client(server)
    ws.transport.write(client_frame(PING) + frame)
    assert await close_code(ws) == code

"""uvicorn's WebSocket protocol, tuned for many sockets each sending small frames.

``peerline serve`` runs uvicorn with this subclass of its own sans-I/O WebSocket protocol
(``websockets-sansio``); everything not below is uvicorn's. Three changes, each measured
with ``bench/run_standard.py`` (README, Performance):

- **Reading is paused only when the app falls behind.** uvicorn pauses reading after every
  frame and resumes on the app's next ``receive``: two changes to the event loop's poller,
  one system call or more, per frame. Here reading pauses once ``READ_PAUSE_FRAMES`` frames
  wait for the app and resumes when fewer than ``READ_RESUME_FRAMES`` do, so a client that
  floods is still held back by TCP.
- **Text frames are framed here and written once per loop turn.** A server's frame is a
  two-to-ten-byte header and the payload, unmasked (RFC 6455 §5.2); going through the
  websockets protocol object and a ``write`` system call per frame cost more than the frame.
  Frames queued in one turn of the event loop leave in one write (a sender's ack and its own
  copy of the message, say). Every other write (control frames, the closing handshake,
  pongs) first flushes what is queued, so frames never change order.
- **Whole text frames are read here.** websockets' parser is a chain of generators that
  costs several times a small frame's own work (a 170-byte ``chat.send``: 3.7 µs against
  about 1 here; 3 % of a chat message's CPU side by side, 5 % on a slower machine). Once
  the opening handshake has ended exactly at the end of what the client had sent, this
  protocol finds each frame's bounds from its header (RFC 6455 §5.2) and reads a
  complete, masked, unfragmented text frame within ``ws_max_size`` itself: unmasks it and
  hands it on as uvicorn would. Every other frame (control frames, binary, fragments and
  whatever follows a fragment until its last continuation, reserved bits, an unmasked
  frame, one over the size limit), and everything once the connection is no longer open,
  goes byte for byte to websockets' parser, which therefore only ever sees whole frames and
  answers them exactly as before (a pong, a close, 1002, 1009; 1007 for text that is not
  UTF-8 is uvicorn's, on either path). Nothing here reads websockets' private state: only
  its public ``state``.
- **The app may send without a task switch.** ``scope["extensions"]["peerline.send_text"]``
  is a plain function: it queues a text frame and returns True, or returns False when the
  socket cannot take one now (closing, or the client is not reading and the transport's
  buffer is above its high-water mark). The app then uses the ordinary ASGI ``send``,
  which waits until the socket drains. See ``app.realtime.Connection``.

**Private API, pinned.** ``WebSocketsSansIOProtocol`` is uvicorn's internal class, not a
public interface: pyproject.toml pins ``uvicorn`` to 0.55.x, the version this was tested on.
What this relies on (``UVICORN_PRIVATE_PARTS``): the methods ``connection_made``,
``handle_connect``, ``send``, ``receive``, ``send_receive_event_to_app``,
``handle_parser_exception`` and ``data_received``, and the attributes ``__init__`` sets
(``config``, ``transport``, ``loop``,
``conn``, ``queue``, ``frames``, ``curr_msg_data_type``, ``read_paused``,
``handshake_complete``, ``close_sent``, ``disconnected``, ``initial_response``,
``writable``) and ``scope``, which ``handle_connect`` sets. ``check_uvicorn_protocol`` runs at
import and raises (it does not fall back) when a uvicorn outside 0.55.x is installed or one
of those parts is gone; ``tests/test_private_apis.py`` checks the same, and
``tests/test_socket_protocol.py`` checks the behaviour.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

UVICORN_TESTED = "0.55."
# (method names on the class, attributes its __init__ sets, attributes handle_connect sets)
UVICORN_PRIVATE_PARTS = (
    (
        "connection_made",
        "handle_connect",
        "send",
        "receive",
        "send_receive_event_to_app",
        "handle_parser_exception",
        "data_received",
    ),
    (
        "config",
        "transport",
        "loop",
        "conn",
        "queue",
        "frames",
        "curr_msg_data_type",
        "read_paused",
        "handshake_complete",
        "close_sent",
        "disconnected",
        "initial_response",
        "writable",
    ),
    ("scope",),
)


def _names_used_by(function: Any) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code is not None else set()


def check_uvicorn_protocol(
    base: type = WebSocketsSansIOProtocol, version: str | None = None
) -> None:
    """Raise ``RuntimeError`` naming what changed if ``base`` (uvicorn's sans-I/O WebSocket
    protocol) is not the one this module was written against."""
    version = uvicorn.__version__ if version is None else version
    problems = []
    if not version.startswith(UVICORN_TESTED):
        problems.append(f"uvicorn {version} is installed, tested on {UVICORN_TESTED}x")
    methods, init_sets, connect_sets = UVICORN_PRIVATE_PARTS
    problems += [
        f"method {name} is gone" for name in methods if not callable(getattr(base, name, None))
    ]
    init_names = _names_used_by(getattr(base, "__init__", None))
    problems += [f"__init__ no longer sets {name}" for name in init_sets if name not in init_names]
    connect_names = _names_used_by(getattr(base, "handle_connect", None))
    problems += [
        f"handle_connect no longer sets {name}"
        for name in connect_sets
        if name not in connect_names
    ]
    if problems:
        raise RuntimeError(
            "app.socket_protocol subclasses uvicorn's private WebSocketsSansIOProtocol, and it "
            "changed: " + "; ".join(problems) + ". Install uvicorn 0.55.x (pyproject.toml pins "
            "it) or update app/socket_protocol.py and tests/test_private_apis.py."
        )


check_uvicorn_protocol()

SEND_TEXT_EXTENSION = "peerline.send_text"
# Frames received but not yet taken by the app before reading pauses (and resumes below
# the second figure). The app takes each frame as it comes (a flood past the rate limit is
# refused, not queued), so the queue grows only while the app is behind, typically waiting
# for this client to read what was sent to it; then TCP holds the client back.
READ_PAUSE_FRAMES = 32
READ_RESUME_FRAMES = 8

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame (the form a server sends)."""
    size = len(payload)
    if size < 126:
        return bytes((_TEXT_FIN, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + payload


class _CorkedTransport:
    """The real transport, but every write and close first sends the queued frames.

    uvicorn writes control frames and the closing handshake straight to
    ``self.transport``; routing those through here keeps them after the data frames queued
    before them."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: PeerlineWebSocketProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        self._protocol.flush()
        self._transport.write(data)

    def close(self) -> None:
        self._protocol.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """A client's frame payload XOR its four-byte masking key, repeated (RFC 6455 §5.3)."""
    size = len(payload)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload) ^ int.from_bytes(key)).to_bytes(size)


_HANDSHAKE_END = b"\r\n\r\n"


class PeerlineWebSocketProtocol(WebSocketsSansIOProtocol):
    _queued: list[bytes] | None = None
    _raw: asyncio.Transport | None = None
    # Reading frames (``data_received``). ``_frames_here``: frame bounds are known here
    # (set when the request ended exactly at the end of the bytes handed over with it;
    # cleared for good once the connection stops being open). ``_chunk``: those bytes, for
    # ``handle_connect``. ``_partial``: the start of a frame not
    # complete yet, and ``_needed`` its length before it is read again. ``_pass``: bytes of
    # the frame being handed to websockets still to come. ``_fragmented``: a fragmented
    # message is open in websockets' parser.
    _frames_here = False
    _chunk = b""
    _partial: bytearray | None = None
    _needed = 0
    _pass = 0
    _fragmented = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._raw = self.transport
        self.transport = _CorkedTransport(self.transport, self)  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SEND_TEXT_EXTENSION] = self.send_text
            # The request ends at its first blank line (websockets reads no body). Only if
            # that is the very end of the bytes handed over with it is websockets' parser at
            # a frame's start with nothing held. (uvicorn 0.55 hands over the request alone,
            # in one call, rebuilt from its HTTP parser; should that change, this fails
            # closed: the connection is read by websockets alone.)
            end = len(self._chunk) - len(_HANDSHAKE_END)
            self._frames_here = end >= 0 and self._chunk.find(_HANDSHAKE_END) == end

    # -- sending --------------------------------------------------------------------------
    def can_send(self) -> bool:
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and self.writable.is_set()
        )

    def send_text(self, text: str) -> bool:
        """Queue a text frame for this loop turn's write; False if it cannot go now."""
        if not self.can_send():
            return False
        frame = text_frame(text.encode())
        if self._queued is None:
            self._queued = [frame]
            self.loop.call_soon(self.flush)
        else:
            self._queued.append(frame)
        return True

    def flush(self) -> None:
        queued, self._queued = self._queued, None
        if queued and self._raw is not None and not self._raw.is_closing():
            self._raw.write(b"".join(queued))

    async def send(self, message: Any) -> None:
        text = message.get("text") if message["type"] == "websocket.send" else None
        if text is None or not self.send_text(text):
            await super().send(message)

    # -- receiving ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if not self._frames_here:
            self._chunk = data  # handle_connect reads it, if this completes the request
            super().data_received(data)
            self._chunk = b""
            return
        if self._partial is not None:  # appended to, not copied: a frame may trickle in
            self._partial += data
            if len(self._partial) < self._needed:
                return
            data, self._partial = bytes(self._partial), None
        end = len(data)
        at = 0
        need = 0  # when the loop stops early: the bytes from ``at`` the next step needs
        while at < end:
            if self._pass:  # the rest of a frame websockets is reading
                step = min(self._pass, end - at)
                self._pass -= step
                super().data_received(data[at : at + step])
                at += step
                continue
            if self.conn.state is not State.OPEN:
                self._frames_here = False  # the closing handshake and after: websockets'
                super().data_received(data[at:])
                return
            if end - at < 2:
                need = 2
                break
            first, second = data[at], data[at + 1]
            size = second & 0x7F
            head = 2
            if size == 126:
                head = 4
            elif size == 127:
                head = 10
            if second & 0x80:
                head += 4
            if end - at < head:
                need = head
                break
            if size == 126:
                size = int.from_bytes(data[at + 2 : at + 4])
            elif size == 127:
                size = int.from_bytes(data[at + 2 : at + 10])
            if (
                first == _TEXT_FIN
                and second & 0x80
                and not self._fragmented
                and size <= self.config.ws_max_size
            ):
                stop = at + head + size
                if stop > end:
                    need = stop - at
                    break
                payload = unmask(data[at + head : stop], data[at + head - 4 : at + head])
                at = stop
                self.curr_msg_data_type = "text"
                self.frames = [payload]
                self.send_receive_event_to_app()
                continue
            # Anything else, whole, to websockets: note whether it opens or ends a
            # fragmented message, so that its continuations follow it there.
            opcode = first & 0x0F
            if opcode in (1, 2):
                self._fragmented = not first & 0x80
            elif opcode == 0 and first & 0x80:
                self._fragmented = False
            self._pass = head + size
        if at < end:
            self._partial, self._needed = bytearray(data[at:]), need

    def send_receive_event_to_app(self) -> None:
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return  # past our close: discard, keep reading until the peer's close reply
        if self.curr_msg_data_type == "text":
            try:
                self.queue.put_nowait({"type": "websocket.receive", "text": data.decode()})
            except UnicodeDecodeError:
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        if not self.read_paused and self.queue.qsize() >= READ_PAUSE_FRAMES:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() < READ_RESUME_FRAMES:
            self.read_paused = False
            self.transport.resume_reading()
        return message

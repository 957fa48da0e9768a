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
- **The app may send without a task switch.** ``scope["extensions"]["peerline.send_text"]``
  is a plain function: it queues a text frame and returns True, or returns False when the
  socket cannot take one now (closing, or the client is not reading and the transport's
  buffer is above its high-water mark). The app then uses the ordinary ASGI ``send``,
  which waits until the socket drains. See ``app.realtime.Connection``.

**Private API, pinned.** ``WebSocketsSansIOProtocol`` is uvicorn's internal class, not a
public interface: pyproject.toml pins ``uvicorn`` to 0.55.x, the version this was tested on.
What this relies on (``UVICORN_PRIVATE_PARTS``): the methods ``connection_made``,
``handle_connect``, ``send``, ``receive``, ``send_receive_event_to_app`` and
``handle_parser_exception``, and the attributes ``__init__`` sets (``transport``, ``loop``,
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
    ),
    (
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


class PeerlineWebSocketProtocol(WebSocketsSansIOProtocol):
    _queued: list[bytes] | None = None
    _raw: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._raw = self.transport
        self.transport = _CorkedTransport(self.transport, self)  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SEND_TEXT_EXTENSION] = self.send_text

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

"""Text that cannot be stored: NUL characters and lone surrogates.

PostgreSQL refuses both in ``text`` columns (a NUL is "invalid byte sequence for encoding
UTF8: 0x00"; a lone surrogate cannot be encoded at all), so such a value would reach the
database only to fail there, and the failure's log line used to carry the whole statement's
parameters: the message text and the ids. They are refused at the door instead, everywhere:
every string in a WebSocket frame (``invalid_frame``, the socket stays usable) and in a JSON
REST body (422 ``invalid_request``). Surrogate *pairs* written as JSON escapes
(``"\\ud83d\\ude00"``) are one character after decoding and are fine.

JSON forbids raw control characters inside strings and WebSocket text frames must be valid
UTF-8, so both can only arrive as ``\\u`` escapes: text without ``\\u`` needs no walk.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
PROBLEM = "holds a NUL character or a lone surrogate"


def unstorable_field(value: Any, where: str = "") -> str | None:
    """The path of the first string (key or value) that cannot be stored, else None."""
    if isinstance(value, str):
        return (where or "value") if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and UNSTORABLE.search(key):
                return here
            found = unstorable_field(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_field(item, f"{where}.{index}" if where else str(index))
            if found is not None:
                return found
    return None


def may_hold_unstorable(text: str | bytes) -> bool:
    """False when decoding this JSON cannot produce a NUL or a lone surrogate."""
    return (b"\\u" in text) if isinstance(text, bytes) else ("\\u" in text)


def unstorable_in_json(body: bytes) -> str | None:
    """The path of an unstorable string in a JSON body; None if there is none (or the body
    is not JSON: the endpoint's own validation answers that)."""
    if not may_hold_unstorable(body):
        return None
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    return unstorable_field(decoded)


# Bodies are buffered to be checked; the REST body limit (413) applies before this one.
MAX_CHECKED_BODY = 1 << 20
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RefuseUnstorableText:
    """ASGI middleware: a JSON REST body with a NUL or a lone surrogate anywhere gets 422
    ``invalid_request`` naming the field, before any endpoint sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"".join(chunks), receive, message), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_CHECKED_BODY:
                await _answer(send, 413, "body_too_large", "the request body is too large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        where = unstorable_in_json(body)
        if where is not None:
            await _answer(send, 422, "invalid_request", f"{where}: {PROBLEM}")
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive, then: Message | None = None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return then
        return await receive()

    return replay


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

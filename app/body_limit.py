"""REST request bodies over ``MAX_REST_BODY_BYTES`` get 413 ``body_too_large`` at once.

ASGI middleware, outermost on HTTP: a ``Content-Length`` above the limit is refused before
a byte of the body is read; a body without one (chunked) is counted as it streams and
refused the moment it passes the limit, so no request can make the process hold more than
the limit of body. (A 150 MB body once raised the process to 469 MiB.) The WebSocket is
not HTTP and has its own limits (``WS_MAX_FRAME_BYTES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CODE = "body_too_large"
# After a 413, how long the rest of a streamed body is read and dropped (see ``_linger``).
LINGER_S = 2.0


class LimitBodySize:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            # Past the limit the app is told the client went away (it stops reading), and
            # the 413 is sent from here; whatever the app then answers is dropped.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
        if refused:
            await _linger(receive)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": CODE,
                    "message": f"the request body is over {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _linger(receive: Receive) -> None:
    """Read and drop what is still coming of a refused body, for at most ``LINGER_S``.

    Closing a connection while the client is still sending makes the kernel answer with a
    reset, which can destroy the 413 before the client has read it; draining a moment first
    lets it arrive (nginx calls this a lingering close). Nothing read is kept."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_S):
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

"""The WebSocket handshake's Origin rule (app/origins.py), and the server refusing a foreign
page's handshake with HTTP 403 while a same-origin page and a client without Origin get in."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.origins import origin_allowed, parse_origins
from tests.conftest import Backend
from tests.support import Server, env_for, new_seeker, unique_language

NONE: frozenset[str] = frozenset()


def test_no_origin_is_not_a_browser_and_is_allowed():
    assert origin_allowed(None, host="chat.example.org", allowed=NONE)
    assert origin_allowed(None, host=None, allowed=parse_origins("https://a.example"))


def test_by_default_only_the_same_origin_may_open_a_socket():
    assert origin_allowed("https://chat.example.org", host="chat.example.org", allowed=NONE)
    assert origin_allowed("http://127.0.0.1:8000", host="127.0.0.1:8000", allowed=NONE)
    assert origin_allowed("HTTPS://Chat.Example.org/", host="chat.example.org", allowed=NONE)
    assert not origin_allowed("https://evil.example", host="chat.example.org", allowed=NONE)
    assert not origin_allowed("http://127.0.0.1:9000", host="127.0.0.1:8000", allowed=NONE)
    assert not origin_allowed("null", host="chat.example.org", allowed=NONE)
    assert not origin_allowed("https://chat.example.org", host=None, allowed=NONE)


def test_a_list_replaces_the_same_origin_rule():
    allowed = parse_origins(" https://chat.example.org/, https://www.example.org ")
    assert allowed == {"https://chat.example.org", "https://www.example.org"}
    assert origin_allowed("https://www.example.org", host="api.example.org", allowed=allowed)
    assert not origin_allowed("https://api.example.org", host="api.example.org", allowed=allowed)
    assert not origin_allowed("http://chat.example.org", host="x", allowed=allowed)


async def handshake(server: Server, origin: str | None) -> int:
    """The HTTP status of a handshake: 101 when the socket opened."""
    headers = {"Origin": origin} if origin is not None else {}
    try:
        async with connect(server.ws_url, additional_headers=headers, open_timeout=5):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_the_server_refuses_a_foreign_origin_with_403(server: Server):
    assert await handshake(server, None) == 101
    assert await handshake(server, f"http://127.0.0.1:{server.port}") == 101
    assert await handshake(server, "https://evil.example") == 403
    assert await handshake(server, "null") == 403
    # A refused handshake never reached authentication; the server carries on.
    seeker = await new_seeker(server.base_url, unique_language())
    assert seeker["seeker_token"]


@pytest.fixture
def listed(backend: Backend):
    srv = Server(env_for(backend.database_url, ALLOWED_ORIGINS="https://chat.example.org"))
    srv.start()
    yield srv
    srv.stop()


async def test_allowed_origins_lets_the_listed_page_in_and_no_other(listed: Server):
    assert await handshake(listed, "https://chat.example.org") == 101
    assert await handshake(listed, f"http://127.0.0.1:{listed.port}") == 403
    assert await handshake(listed, None) == 101

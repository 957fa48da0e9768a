"""Which web pages may open a chat socket: the rule for a WebSocket handshake's ``Origin``.

Browsers send the page's origin with every WebSocket handshake and, unlike ``fetch``, do not
stop a page of another site from opening one; a socket authenticates with a token in its
first frame, not a cookie, but a foreign page must still not be able to drive ours. So:

- no ``Origin`` header: not a browser (the Python client, the benchmark): allowed;
- an origin listed in ``ALLOWED_ORIGINS``: allowed;
- with no list, the same origin as the request's ``Host`` (the web client is served by the
  app itself, so this is the default that works): allowed;
- anything else, ``null`` included: refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def parse_origins(value: str) -> frozenset[str]:
    """``ALLOWED_ORIGINS``: comma-separated origins (``https://chat.example.org``)."""
    return frozenset(normalise(part) for part in value.split(",") if part.strip())


def normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str | None, *, host: str | None, allowed: frozenset[str]) -> bool:
    if origin is None:
        return True
    origin = normalise(origin)
    if allowed:
        return origin in allowed
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False
    return parts.netloc == host.strip().lower()

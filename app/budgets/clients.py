"""Who is asking, without knowing who: the client address and its rotating keyed hash.

Pure functions, no I/O and no clock of their own (``now`` is passed in); also the parsing
of the budget settings (``parse_limit``, ``parse_trusted_proxies``), so start-up refuses a
bad one.

- ``client_address`` picks the address a budget is counted against. Behind a reverse proxy
  every request arrives from the proxy, so the proxy's ``X-Forwarded-For`` names the client;
  but anyone can send that header, so it is believed only when the TCP peer is one of the
  configured trusted proxies, and then only its right-most address that is not itself a
  trusted proxy (what the last trusted hop saw). An IPv6 address counts as its /64: one
  home or phone is handed a whole /64, and a budget per address would be no budget.
- ``client_hashes`` turns that address into the keys a budget is stored under: HMAC-SHA256
  with a key that changes every ``ROTATION_S`` and is derived from ``SECRET_KEY`` and the
  window number, so every process agrees on it without storing it anywhere. The address
  itself is never stored or logged; the hash lives only in the budget's memory (or Redis)
  for minutes, and a hash from an old window cannot be matched to an address once the
  window's key is gone from every process's reach (it is recomputable only with
  ``SECRET_KEY`` and a guessed address).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The keyed hash's key changes every hour; the previous hour's is still recognised, so a
# slowdown set just before a change keeps holding after it.
ROTATION_S = 3600
# IPv6 clients are counted by their /64 (one subscriber's allocation).
IPV6_CLIENT_PREFIX = 64
# Hex characters of the HMAC kept as a key: 128 bits, plenty to keep clients apart.
HASH_CHARS = 32


def parse_trusted_proxies(value: str) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or CIDR networks. ValueError names a
    bad entry."""
    networks: list[IPNetwork] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or a CIDR network"
            ) from None
    return tuple(networks)


def parse_limit(value: str, name: str) -> RateLimitItem:
    """One limit in ``limits``' notation ("5/minute", "120 per 2 minutes"); ValueError names
    the setting."""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1:
        raise ValueError(
            f'{name}: {value!r} is not one rate limit such as "5/minute" or "120 per 2 minutes"'
        )
    return items[0]


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: tuple[IPNetwork, ...]
) -> str:
    """The address a budget is counted against.

    ``peer`` is the TCP peer; ``forwarded_for`` the values of every ``X-Forwarded-For``
    header in order. The header is used only when the peer is a trusted proxy; then the
    right-most entry that is not a trusted proxy is the client (entries left of it were
    written by the client and prove nothing). If every entry is trusted, the left-most one.
    """
    peer = peer or "unknown"
    if not trusted or not _trusted(peer, trusted):
        return normalise(peer)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if not hops:
        return normalise(peer)
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return normalise(hop)
    return normalise(hops[0])


def normalise(address: str) -> str:
    """One spelling per client: IPv4 as is (IPv4-mapped IPv6 too), IPv6 as its /64;
    anything unparseable is kept as its text (it is only ever hashed)."""
    ip = _ip(address)
    if ip is None:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


def window(now: float) -> int:
    """The number of the key window ``now`` (a Unix time) falls in."""
    return int(now // ROTATION_S)


def window_key(secret: str, window_number: int) -> bytes:
    """The hashing key of one window: HMAC(SECRET_KEY, "budget:<window>")."""
    return hmac.new(secret.encode(), f"budget:{window_number}".encode(), hashlib.sha256).digest()


def client_hash(key: bytes, address: str) -> str:
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True, slots=True)
class Client:
    """A client as the budgets know it: its keyed hash in this window and in the previous
    one (to recognise a slowdown set before the key changed). Never the address."""

    current: str
    previous: str


def client_hashes(secret: str, address: str, now: float) -> Client:
    this = window(now)
    return Client(
        current=client_hash(window_key(secret, this), address),
        previous=client_hash(window_key(secret, this - 1), address),
    )

"""Bearer tokens and friendly aliases.

A token is 192 random bits, prefixed ``sk_`` (seeker) or ``st_`` (staff) so the server knows
which table to look in. Only ``hash_token(token)`` (HMAC-SHA256 keyed by SECRET_KEY) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SEEKER_PREFIX = "sk_"
STAFF_PREFIX = "st_"

_ADJECTIVES = (
    "Quiet", "Gentle", "Brave", "Calm", "Bright", "Kind", "Steady", "Warm", "Patient", "Hopeful",
    "Soft", "Clear", "Golden", "Silver", "Evening", "Morning", "Little", "Wise", "Swift", "Misty",
)  # fmt: skip
_ANIMALS = (
    "Otter", "Heron", "Sparrow", "Panda", "Koel", "Deer", "Dolphin", "Owl", "Tiger", "Lotus",
    "Falcon", "Peacock", "Rabbit", "Turtle", "Myna", "Robin", "Fox", "Whale", "Swan", "Kingfisher",
)  # fmt: skip


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def hash_token(token: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def new_alias() -> str:
    return f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_ANIMALS)}"

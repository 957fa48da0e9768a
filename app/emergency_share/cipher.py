"""Encryption at rest of what a seeker shares (Fernet: AES-128-CBC + HMAC-SHA256).

``EMERGENCY_SHARE_KEY`` is a comma-separated list of Fernet keys: the first encrypts, every
one decrypts (``MultiFernet``), so a key is rotated by putting a new one first and dropping
the old one once no share written under it can still exist (72 hours later). Outside
production, with no key set, a key is derived from ``SECRET_KEY`` so a local run and the
tests work; production refuses to start without one (``app.config``).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from app.config import Settings

DERIVATION_LABEL = b"peerline emergency share key v1\x00"


class ShareKeyError(ValueError):
    """The configured key list is not a list of Fernet keys."""


def parse_keys(value: str) -> list[str]:
    """The keys of ``EMERGENCY_SHARE_KEY``; raises ``ShareKeyError`` naming the bad one
    by position (never echoing a key)."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ShareKeyError(
                f"EMERGENCY_SHARE_KEY entry {index} is not a Fernet key (32 url-safe base64 "
                "bytes; make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def derived_key(secret_key: str) -> str:
    """The development key: a fixed function of SECRET_KEY, the same in every process."""
    digest = hashlib.sha256(DERIVATION_LABEL + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher_for(settings: Settings) -> MultiFernet:
    configured = parse_keys(settings.emergency_share_key or "")
    keys = configured or [derived_key(settings.secret_key)]
    return _cipher(tuple(keys))


def seal(cipher: MultiFernet, text: str) -> str:
    return cipher.encrypt(text.encode()).decode("ascii")


def open_sealed(cipher: MultiFernet, token: str) -> str:
    """The plain text; raises ``InvalidToken`` when no configured key opens it."""
    return cipher.decrypt(token.encode("ascii")).decode()


__all__ = ["InvalidToken", "ShareKeyError", "cipher_for", "open_sealed", "parse_keys", "seal"]

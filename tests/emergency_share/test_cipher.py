"""What a seeker shares is sealed with the configured Fernet keys: the first key seals, any
key opens (rotation), a wrong key opens nothing, and production needs a key to start."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.config import Settings
from app.emergency_share.cipher import (
    InvalidToken,
    ShareKeyError,
    cipher_for,
    derived_key,
    open_sealed,
    parse_keys,
    seal,
)

SECRET = "s" * 40


def _settings(**extra: object) -> Settings:
    return Settings(_env_file=None, secret_key=SECRET, **extra)  # type: ignore[arg-type]


def test_sealed_text_is_not_the_text_and_opens_with_the_key():
    key = Fernet.generate_key().decode()
    cipher = cipher_for(_settings(emergency_share_key=key))
    token = seal(cipher, "+91 98765 43210")
    assert "98765" not in token
    assert open_sealed(cipher, token) == "+91 98765 43210"
    other = cipher_for(_settings(emergency_share_key=Fernet.generate_key().decode()))
    with pytest.raises(InvalidToken):
        open_sealed(other, token)


def test_a_new_key_first_seals_while_the_old_one_still_opens():
    old = Fernet.generate_key().decode()
    new = Fernet.generate_key().decode()
    before = seal(cipher_for(_settings(emergency_share_key=old)), "room 214")
    rotated = cipher_for(_settings(emergency_share_key=f"{new}, {old}"))
    assert open_sealed(rotated, before) == "room 214"
    after = seal(rotated, "room 215")
    assert open_sealed(cipher_for(_settings(emergency_share_key=new)), after) == "room 215"


def test_without_a_key_outside_production_a_key_derived_from_the_secret_is_used():
    a = cipher_for(_settings(peerline_env="test", emergency_share_key=None))
    b = cipher_for(_settings(peerline_env="test", emergency_share_key=""))
    assert open_sealed(b, seal(a, "x")) == "x"
    assert derived_key(SECRET) != derived_key(SECRET + "y")


def test_production_refuses_to_start_without_a_share_key():
    for missing in (None, "", " , "):
        with pytest.raises(ValidationError, match="EMERGENCY_SHARE_KEY is not set"):
            _settings(peerline_env="production", emergency_share_key=missing)
    assert _settings(peerline_env="production", emergency_share_key=Fernet.generate_key().decode())


def test_a_key_that_is_not_a_fernet_key_is_refused_without_echoing_it():
    good = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="entry 2 is not a Fernet key") as caught:
        _settings(emergency_share_key=f"{good},not-a-key-at-all")
    # Nowhere in the message (pydantic's own text once quoted the whole value, good key too).
    said = str(caught.value)
    assert "not-a-key-at-all" not in said and good[:8] not in said and "input_value" not in said
    with pytest.raises(ShareKeyError):
        parse_keys("short")


def test_the_server_refuses_to_start_in_production_without_a_share_key(tmp_path):
    from tests.support import env_for, run_peerline

    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    env.update(PEERLINE_ENV="production")
    del env["EMERGENCY_SHARE_KEY"]
    result = run_peerline(["serve", "--port", "1"], env, timeout=60)
    assert result.returncode != 0
    assert "EMERGENCY_SHARE_KEY is not set" in result.stderr + result.stdout

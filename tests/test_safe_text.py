"""Which strings cannot be stored (app/safe_text.py): NUL and lone surrogates, anywhere."""

from __future__ import annotations

import json

from app.safe_text import may_hold_unstorable, unstorable_field, unstorable_in_json


def test_nul_and_lone_surrogates_are_found_with_their_path():
    assert unstorable_field({"type": "chat.send", "text": "hi\x00there"}) == "text"
    assert unstorable_field({"a": [{"b": "ok"}, {"c": "x\ud800"}]}) == "a.1.c"
    assert unstorable_field({"k\udfff": 1}) == "k\udfff"
    assert unstorable_field(["fine", "\udc00"]) == "1"
    assert unstorable_field("\x00") == "value"


def test_ordinary_text_is_fine_emoji_and_hindi_included():
    assert unstorable_field({"text": "नमस्ते 😀 hello\n\ttab", "n": 3, "b": None}) is None


def test_json_escapes_decode_to_what_is_checked():
    assert unstorable_in_json(json.dumps({"text": "a\x00b"}).encode()) == "text"
    assert unstorable_in_json(json.dumps({"text": "a\ud800b"}).encode()) == "text"
    # A surrogate pair written as escapes is one emoji: fine.
    assert unstorable_in_json(b'{"text": "\\ud83d\\ude00"}') is None
    assert unstorable_in_json(b"not json \\u0000") is None  # the endpoint answers that
    assert not may_hold_unstorable('{"text": "plain"}')
    assert may_hold_unstorable(b'{"text": "\\u0000"}')

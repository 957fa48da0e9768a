"""Return codes as words (pure): enough entropy, forgiving of how people type them back,
and hashed with a key."""

from __future__ import annotations

import pytest

from app.return_code import words


def test_the_shipped_list_gives_over_fifty_bits_and_only_plain_words():
    pool = words.words()
    assert len(pool) == len(set(pool)) >= 1100
    assert words.bits(len(pool)) >= 50
    assert all(w.isalpha() and w.islower() and 3 <= len(w) <= 5 for w in pool)
    # The words a clinical lead removed stay out.
    for removed in ("rope", "slit", "drown", "grave", "hurt", "alone"):
        assert removed not in pool


def test_a_new_code_is_five_known_words_and_codes_differ():
    codes = {words.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        parts = code.split(" ")
        assert len(parts) == words.WORDS_PER_CODE
        assert words.normalise(code) == code


@pytest.mark.parametrize(
    "typed",
    [
        "  Acorn-BAGEL  cable,dance  eagle ",
        "acorn.bagel.cable.dance.eagle",
        "ACORN BAGEL CABLE DANCE EAGLE",
    ],
)
def test_how_people_write_a_code_down_is_forgiven(typed: str):
    assert words.normalise(typed) == "acorn bagel cable dance eagle"


@pytest.mark.parametrize(
    "typed",
    [
        "acorn bagel cable dance",
        "acorn bagel cable dance eagle otter",
        "acorn bagel cable dance zzzz",
        "",
        "x" * 500,
        "acorn bagel cable dance rope",
    ],
)
def test_anything_but_five_known_words_is_no_code(typed: str):
    assert words.normalise(typed) is None


def test_the_hash_is_keyed_and_never_the_words():
    code = "acorn bagel cable dance eagle"
    one = words.code_hash(code, "k" * 40)
    assert one == words.code_hash(code, "k" * 40)
    assert one != words.code_hash(code, "j" * 40)
    assert len(one) == 64 and "acorn" not in one


def test_a_short_list_is_refused(tmp_path):
    path = tmp_path / "few.txt"
    path.write_text("# comment\n" + "\n".join(f"w{'a' * i}" for i in range(50)), encoding="utf-8")
    with pytest.raises(words.WordListError):
        words.words(path)

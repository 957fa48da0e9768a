"""The README stays true: every setting is in its configuration table."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_readme_links_the_protocol_and_names_the_two_commands():
    assert "docs/protocol.md" in README
    assert "bash scripts/run" in README and "bash scripts/test" in README

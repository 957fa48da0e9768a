"""The README stays true: every setting is in its configuration table."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_readme_links_the_protocol_and_names_the_two_commands():
    assert "docs/protocol.md" in README
    assert "bash scripts/run" in README and "bash scripts/test" in README


def test_every_environment_variable_the_tests_and_scripts_read_is_documented():
    root = Path(__file__).resolve().parent.parent
    sources = [*root.glob("tests/**/*.py"), *root.glob("scripts/*")]
    read = set()
    for path in sources:
        text = path.read_text(errors="replace")
        read |= set(re.findall(r"environ(?:\.get)?[\(\[]\"([A-Z][A-Z0-9_]+)\"", text))
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", text))  # shell defaults
    undocumented = sorted(name for name in read if f"`{name}`" not in README)
    assert undocumented == []
    assert {"CI", "TEST_PG_ADMIN_URL", "TEST_REDIS_URL", "HOST", "PORT"} <= read


def test_every_peerline_command_is_documented():
    from app.cli import main

    commands = re.findall(r"add_parser\(\s*\"([a-z-]+)\"", inspect.getsource(main))
    assert {"serve", "migrate", "create-user", "set-password", "backup", "demo"} <= set(commands)
    assert [c for c in commands if f"`{c}" not in README] == []


def test_the_seeker_bundles_key_count_is_the_one_the_readme_gives():
    import json

    from app.web import WebClient

    web_client = Path(__file__).resolve().parent.parent / "web_client"
    named, total = re.search(r"only the (\d+) of ([\d,]+) keys", README).groups()
    english = json.loads((web_client / "i18n" / "en.json").read_text(encoding="utf-8"))
    bundle = json.loads(WebClient.load(web_client).bundles["seeker.en"])
    assert (int(named), int(total.replace(",", ""))) == (len(bundle), len(english))

"""A seeker switches the page's language while the socket is down. The switch said "Not sent",
and once the page was back nothing told the server (only a page's first `auth.ok` did): the
volunteer kept seeing the old language, and the seeker had to switch again. Now every
(re)authentication tells the server a chosen language the conversation does not have, once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import EN, HI, Watch, chat_in_progress, volunteer_pane
from test_journeys import DroppableSocket

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def note(languages: list[str], payload: str | bytes) -> None:
    """Add the language of a `conversation.language` frame the page sent."""
    try:
        frame = json.loads(payload)
    except ValueError:
        return
    if isinstance(frame, dict) and frame.get("type") == "conversation.language":
        languages.append(str(frame.get("language")))


def test_a_language_switched_while_reconnecting_reaches_the_volunteer_once_back(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    links: dict[str, DroppableSocket] = {}
    frames: list[str] = []

    def before_load(seeker: Page, _: Page) -> None:
        links["seeker"] = DroppableSocket(seeker, "#conn-notice")
        seeker.on("websocket", lambda ws: ws.on("framesent", lambda p: note(frames, p)))

    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser, server, watch, before_load=before_load
    )
    try:
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-meta")).to_contain_text(EN["lang.en"])
        links["seeker"].drop()
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#not-sent")).to_have_text(HI["conn.not_sent"])
        links["seeker"].allow()
        expect(seeker.locator("#not-sent")).to_be_hidden()
        expect(pane.locator(".js-meta")).to_contain_text(HI["lang.hi"])
        expect(pane.locator(".system-note", has_text="switched their page")).to_have_count(1)
        assert frames == ["hi"], frames
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

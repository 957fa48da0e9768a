"""A volunteer who handed a chat on is told, under the notice, that they can report the seeker
until they close the chat. The keyboard goes from the notice to "Close this chat", and a
screen reader read only that: closing gave up the report unwarned. The button is now described
by the line, in the page's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, expect
from test_browser import HI, Watch, chat_in_progress, desk_page, volunteer_pane
from test_transfer import hand_on_to_the_other_volunteer, second_volunteer_logs_in

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def test_close_this_chat_after_a_hand_over_says_it_ends_the_chance_to_report(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("volunteer", "vol2", "volunteer-pass-2")
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    other_ctx, other = desk_page(browser, watch)
    try:
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(volunteer.locator("html")).to_have_attribute("lang", "hi")
        second_volunteer_logs_in(other, server)
        pane = volunteer_pane(volunteer)
        hand_on_to_the_other_volunteer(pane, "Insults and threats; I need to step away.")
        expect(pane.locator(".js-handed-text")).to_be_focused()
        volunteer.keyboard.press("Tab")
        close = pane.locator(".js-handed-close")
        expect(close).to_be_focused()
        expect(close).to_have_accessible_name(HI["vol.close_tab"])
        expect(close).to_have_accessible_description(HI["transfer.released_report"])
        axe.check(volunteer, "a chat handed on, Hindi", axe.EVERY_IMPACT)
        # Closed: no chat is left, so the keyboard goes to "Take next chat" (it fell to the
        # top of the page).
        volunteer.keyboard.press("Enter")
        expect(volunteer.locator("#chat-tabs .tab")).to_have_count(0)
        expect(volunteer.locator("#take-next")).to_be_focused()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, other_ctx):
            ctx.close()
    watch.check()

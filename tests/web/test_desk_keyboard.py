"""A supervisor at the desk with the keyboard only. Acknowledge, the Resolve form's Cancel
and its submit each hid the button that had the focus, so the focus fell to the top of the
page, and the next Tab started again from the header; on a phone the page also jumped. Now
Acknowledge hands the focus to the card's Open conversation (also when the acknowledged card
moves below one still waiting), Cancel and Resolve to the card's Resolve, and a resolved card's
focus goes to the list's heading. Checked with axe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Locator, expect
from test_browser import (
    DESKTOP,
    EN,
    PHONE,
    Watch,
    device,
    escalate,
    seeker_starts,
    supervisor_logs_in,
    volunteer_logs_in,
    volunteer_takes,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def press(card: Locator, selector: str) -> None:
    """Enter on a control of ``card`` that has the focus, as a keyboard user presses it."""
    card.locator(selector).focus()
    card.page.keyboard.press("Enter")


def test_acknowledging_and_resolving_by_keyboard_keeps_the_focus_on_the_card(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with (
        device(browser, watch, PHONE) as (_, first),
        device(browser, watch, PHONE) as (_, second),
        device(browser, watch, DESKTOP) as (_, volunteer),
        device(browser, watch, PHONE) as (_, desk),
    ):
        supervisor_logs_in(desk, server)
        seeker_starts(first, server)
        seeker_starts(second, server)
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#capacity").select_option("2")
        expect(volunteer.locator("#availability-status")).to_contain_text("of 2")
        # Two escalations, one per chat. Acknowledged, the first one's card moves below the
        # one still waiting.
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        volunteer_takes(volunteer)
        escalate(risk, "says they have a plan for tonight")
        high = desk.locator("#escalations .escalation", has_text="plan for tonight")
        expect(high.locator(".js-ack")).to_be_visible()
        volunteer_takes(volunteer)
        expect(volunteer.locator("#chat-tabs .tab")).to_have_count(2)
        escalate(risk, "lonely most nights")
        other = desk.locator("#escalations .escalation", has_text="lonely most nights")
        expect(other.locator(".js-ack")).to_be_visible()

        press(high, ".js-ack")
        expect(high.locator(".js-ack")).to_be_hidden()
        expect(high.locator(".js-countdown")).to_have_text(EN["sup.acked"])
        expect(desk.locator("#escalations .escalation").first).to_contain_text("lonely")
        expect(high.locator(".js-open")).to_be_focused()

        # Resolve, then Cancel: back on Resolve.
        press(high, ".js-resolve")
        expect(high.locator(".js-outcome")).to_be_focused()
        press(high, ".js-cancel")
        expect(high.locator(".js-resolve-form")).to_be_hidden()
        expect(high.locator(".js-resolve")).to_be_focused()

        # Resolve for real: the card goes, and the focus stays with the list.
        desk.keyboard.press("Enter")
        high.locator(".js-outcome").select_option("referred_helpline")
        high.locator(".js-note").fill("Agreed to call Tele-MANAS tonight.")
        press(high, ".js-resolve-form button[type=submit]")
        expect(desk.locator("#escalations .escalation")).to_have_count(1)
        expect(desk.locator("#esc-title")).to_be_focused()
        desk.keyboard.press("Tab")
        expect(other.locator(".js-ack")).to_be_focused()
        axe.check(desk, "the desk after a keyboard acknowledge and resolve (phone)")
    watch.check()

"""A supervisor switches the desk's language while a page waits for an acknowledgement. The
page alert stayed in the language it came in, and the "(!)" left the tab's title (the title's
translation replaced it), so a desk in a background tab looked calm with a high-risk chat
unanswered. Now both follow the switch, and the mark still goes with the acknowledgement."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, expect
from test_browser import (
    EN,
    HI,
    Watch,
    chat_in_progress,
    desk_page,
    escalate,
    supervisor_acks,
    supervisor_logs_in,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_waiting_page_keeps_its_alert_and_title_mark_across_a_language_switch(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        escalate(
            volunteer.locator("#risk-area .risk-panel:not([hidden])"),
            "says they have a plan for tonight",
        )
        alert = desk.locator("#page-alert-text")
        expect(alert).to_contain_text(EN["level.high"])
        expect(desk).to_have_title(f"(!) {EN['sup.page_title']}")
        short_id = re.search(r"conversation (\w+)\.", alert.inner_text())
        assert short_id, alert.inner_text()

        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(alert).to_have_text(
            HI["sup.page_alert"]
            .replace("{level}", HI["level.high"])
            .replace("{id}", short_id.group(1))
        )
        expect(desk).to_have_title(f"(!) {HI['sup.page_title']}")
        axe.check(desk, "the desk's page alert after a switch to Hindi")

        supervisor_acks(desk, desk.locator("#escalations .escalation").first)
        expect(desk.locator("#page-alert")).to_be_hidden()
        expect(desk).to_have_title(HI["sup.page_title"])
        desk.locator('.lang-switch__option[data-lang="en"]').click()
        expect(desk).to_have_title(EN["sup.page_title"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()

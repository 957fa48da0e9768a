"""The volunteer who escalated is told when a supervisor answers. Their risk panel said
"Escalation raised. A supervisor is being paged." until they did something else there, after
a supervisor had acknowledged the escalation and after it was resolved: they could not tell
whether anyone knew. Now the line follows the escalation, in English and Hindi. Checked with
axe."""

from __future__ import annotations

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


def test_the_volunteer_sees_when_a_supervisor_acknowledges_and_resolves_their_escalation(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        status = risk.locator(".js-status")
        escalate(risk, "says they have a plan for tonight")
        expect(status).to_have_text(EN["risk.escalate_sent"])

        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)
        expect(status).to_have_text(EN["risk.escalate_acked"])
        expect(status).to_have_attribute("role", "status")  # said aloud, politely
        axe.check(volunteer, "the volunteer's risk panel once the escalation is acknowledged")
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(status).to_have_text(HI["risk.escalate_acked"])

        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("referred_helpline")
        escalation.locator(".js-note").fill("Talked it through with the volunteer.")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)
        expect(status).to_have_text(HI["risk.escalate_resolved"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()

"""The volunteer who escalated is told when a supervisor answers. Their risk panel said
"Escalation raised. A supervisor is being paged." until they did something else there, after
a supervisor had acknowledged the escalation and after it was resolved: they could not tell
whether anyone knew. Now the line follows the escalation, in English and Hindi. Checked with
axe."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect
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


def test_a_reconnect_does_not_say_a_new_escalation_was_resolved(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A resume replays the chat's escalations oldest first: an earlier, resolved one must not
    turn "A supervisor is being paged" for the new one into "resolved"."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        upstream.on_message(ws.send)
        ws.on_message(upstream.send)
        routes.append(ws)

    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(
        browser,
        server,
        watch,
        before_load=lambda _, page: page.route_web_socket(re.compile(r"/ws$"), route),
    )
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        status = risk.locator(".js-status")
        escalate(risk, "says they have a plan for tonight")
        first = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, first)
        first.locator(".js-resolve").click()
        first.locator(".js-outcome").select_option("referred_helpline")
        first.locator(".js-resolve-form button[type=submit]").click()
        expect(status).to_have_text(EN["risk.escalate_resolved"])

        escalate(risk, "the plan is back tonight")
        expect(desk.locator("#escalations .escalation .js-ack")).to_be_visible()
        expect(status).to_have_text(EN["risk.escalate_sent"])
        sockets = len(routes)
        routes[-1].close()  # the console's socket drops: it reconnects and resumes
        for _ in range(100):
            if len(routes) > sockets:
                break
            volunteer.wait_for_timeout(100)
        assert len(routes) > sockets, "the console did not reconnect"
        volunteer.wait_for_timeout(1500)  # the resume's replay
        expect(status).to_have_text(EN["risk.escalate_sent"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()

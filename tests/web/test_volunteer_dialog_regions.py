"""What the volunteer console says while its debrief dialog is open. A modal dialog hides the
rest of the page from screen readers, so the page's live regions (the messages of the chat in
sight, the connection pill, the line under "Take next chat", the availability line) went
unheard meanwhile: only the staff banner's alerts and the page's alert region were said from
the dialog. What those regions say is said again from the page's status region, which the
open dialog holds with the alert region; both go back to the page when it closes."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from test_browser import (
    EN,
    PHONE,
    Watch,
    chat_in_progress,
    device,
    seeker_sends,
    seeker_starts,
    shot,
)

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import LiveServer

pytestmark = pytest.mark.browser


def route_socket(page: Page, sockets: list[WebSocketRoute]) -> None:
    """The page's socket goes through the test (both ways), so it can be dropped or sent to."""

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/ws$"), route)


def test_what_the_console_says_while_the_debrief_is_open_is_heard(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    sockets: list[WebSocketRoute] = []
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser, server, watch, before_load=lambda _, v: route_socket(v, sockets)
    )
    try:
        volunteer.locator("#capacity").select_option("2")
        volunteer.locator("#auto-assign").check()
        expect(volunteer.locator("#availability-status")).to_contain_text("of 2")
        # After a hard chat the console offers a debrief (here sent by the test).
        sockets[-1].send(
            json.dumps(
                {
                    "type": "volunteer.cooldown",
                    "until": "2099-01-01T00:00:00Z",
                    "debrief": True,
                    "conversation_id": "an-earlier-chat",
                }
            )
        )
        volunteer.locator("#debrief-open").click()
        dialog = volunteer.locator("#debrief-dialog")
        expect(dialog).to_be_visible()
        status = dialog.locator("#sr-status")
        expect(status).to_have_count(1)
        expect(status).to_have_attribute("aria-live", "polite")
        expect(dialog.locator("#sr-alert")).to_have_count(1)

        # A message in the chat in sight: its log is a live region behind the dialog.
        seeker_sends(seeker, "are you still there")
        expect(status).to_contain_text("are you still there")

        # The connection is lost: the pill says so, and so does the dialog.
        sockets[-1].close()
        expect(status).to_contain_text(EN["conn.reconnecting_short"])
        expect(volunteer.locator("#conn-state")).to_be_hidden(timeout=45_000)  # back again

        # A new chat, assigned on its own: the line under "Take next chat" and the
        # availability line (said once, however often they are set to the same words).
        with device(browser, watch, PHONE) as (_, second):
            seeker_starts(second, server)
            took = EN["vol.took"].split("{name}")[0]
            expect(status).to_contain_text(took)
            available = {"type": "availability.ok", "available": True, "capacity": 2}
            for _ in range(2):
                sockets[-1].send(json.dumps({**available, "auto_assign": True, "active_chats": 2}))
            said = EN["vol.status_available"].format(active=2, capacity=2)
            expect(status).to_contain_text(said)
            volunteer.wait_for_timeout(200)
            assert status.inner_text().count(said) == 1
            assert status.inner_text().count(took) == 1
        axe.check(volunteer, "volunteer debrief dialog, the page's regions said from it")
        shot(volunteer, screenshots, "volunteer-debrief-regions-desktop")

        dialog.locator("#debrief-cancel").click()
        expect(dialog).to_be_hidden()
        expect(volunteer.locator("body > #sr-status")).to_have_count(1)
        expect(volunteer.locator("body > #sr-alert")).to_have_count(1)
        expect(volunteer.locator("#sr-status")).to_be_empty()
        # Closed, nothing is said twice: the page's regions speak for themselves again.
        seeker_sends(seeker, "hello again")
        expect(volunteer.locator("#chat-area .bubble--peer .bubble__text").last).to_have_text(
            "hello again"
        )
        volunteer.wait_for_timeout(200)
        expect(volunteer.locator("#sr-status")).to_be_empty()

        # Opened again before the close event of its closing came: the regions stay in it.
        volunteer.locator("#debrief-open").click()
        volunteer.evaluate(
            """() => {
              document.getElementById("debrief-cancel").click();
              document.getElementById("debrief-open").click();
            }"""
        )
        volunteer.wait_for_timeout(100)
        expect(dialog.locator("#sr-status")).to_have_count(1)
        expect(dialog.locator("#sr-alert")).to_have_count(1)
        seeker_sends(seeker, "one more")
        expect(dialog.locator("#sr-status")).to_contain_text("one more")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

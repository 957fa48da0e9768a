"""Abuse in the browser (issue #16 §5): the volunteer reports the seeker, the supervisor is
alerted, opens the chat and blocks; the seeker sees a neutral ending with the helplines and
the session is gone; the staff buttons in English and Hindi. Screenshots in docs/screenshots/.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
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
    seeker_sends,
    shot,
    supervisor_logs_in,
    volunteer_pane,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def me_status(server: LiveServer, token: str) -> int:
    request = urllib.request.Request(
        server.base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_volunteer_reports_supervisor_blocks_and_the_seeker_sees_a_neutral_end(
    browser: Browser, server: LiveServer
) -> None:
    import json

    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch(origin=server.base_url)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        token = json.loads(seeker.evaluate("localStorage.getItem('peerline.seeker')"))["token"]
        seeker_sends(seeker, "you are useless, I will find where you live")
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--peer .bubble__text").last).to_contain_text("useless")

        # The volunteer reports, with a note for the supervisor.
        pane.locator(".js-report").click()
        form = pane.locator(".js-report-form")
        expect(form).to_be_visible()
        expect(form).to_contain_text(EN["vol.report_help"])
        form.locator(".js-report-note").fill("Threats, second time tonight.")
        axe.check(volunteer, "the volunteer's report form")
        shot(volunteer, DOCS_SHOTS, "volunteer-report-abuse-desktop")
        form.locator("button[type=submit]").press("Enter")
        expect(pane.locator(".js-report-status")).to_have_text(EN["vol.report_sent"])
        expect(form).to_be_hidden()
        # Send went with its form: the focus is on what was done, not at the top of the page.
        expect(pane.locator(".js-report-status")).to_be_focused()

        # The supervisor is alerted, opens the chat from the alert and blocks.
        banner = desk.locator("#staff-alert")
        expect(banner).to_contain_text(EN["alert.seeker_reported"])
        banner.locator("#staff-alert-open").click()
        expect(desk.locator("#conv-body")).to_be_visible()
        desk.locator("#conv-block").click()
        block = desk.locator("#block-form")
        expect(block).to_be_visible()
        expect(block).to_contain_text(EN["sup.block_help"])
        desk.locator("#block-note").fill("Repeated threats to the volunteer.")
        axe.check(desk, "the supervisor's block form")
        shot(desk, DOCS_SHOTS, "supervisor-block-seeker-desktop")
        block.locator("button[type=submit]").press("Enter")
        expect(desk.locator("#conv-status")).to_have_text(EN["sup.blocked"])
        # The form went with the keyboard in it: the focus is on what was done, not at the top.
        expect(desk.locator("#conv-status")).to_be_focused()

        # The seeker sees a neutral ending with the helplines, never "blocked".
        expect(seeker.locator("#ended-title")).to_have_text(EN["ended.closed_title"])
        expect(seeker.locator("#ended-text")).to_have_text(EN["ended.closed_text"])
        expect(seeker.locator("#ended-helplines")).to_contain_text("14416")
        expect(seeker.locator("#ended-helplines")).to_contain_text("112")
        # It stays (the session closing after it does not send them back to the start).
        seeker.wait_for_timeout(1000)
        expect(seeker.locator("#ended-title")).to_have_text(EN["ended.closed_title"])
        assert "block" not in seeker.locator("[data-screen=ended]").inner_text().lower()
        axe.check(seeker, "the seeker's closed screen")
        shot(seeker, DOCS_SHOTS, "seeker-chat-closed-by-service-phone")
        assert me_status(server, token) == 401

        # The volunteer's chat has ended; they are told why.
        expect(pane.locator(".js-ended")).to_be_visible()
        expect(volunteer.locator("#staff-alert")).to_contain_text(EN["alert.seeker_blocked"])
        expect(pane.locator(".js-report")).to_be_hidden()

        # The same buttons in Hindi.
        for page in (volunteer, desk):
            page.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(desk.locator("#conv-block")).to_have_text(HI["sup.block"])
        desk.locator("#conv-block").click()
        expect(desk.locator("#block-form")).to_contain_text(HI["sup.block_help"])
        shot(desk, DOCS_SHOTS, "supervisor-block-seeker-hindi-desktop")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_the_report_button_is_there_in_hindi(browser: Browser, server: LiveServer) -> None:
    watch = Watch(origin=server.base_url)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-report")).to_have_text(HI["vol.report"])
        pane.locator(".js-report").click()
        expect(pane.locator(".js-report-form")).to_contain_text(HI["vol.report_help"])
        shot(volunteer, DOCS_SHOTS, "volunteer-report-abuse-hindi-desktop")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_a_volunteer_can_report_the_seeker_after_the_chat_ended(
    browser: Browser, server: LiveServer
) -> None:
    """Abuse is often reported at the end, and the server takes a report after it; the
    console hid Report as soon as the chat ended. It stays after an ordinary end (only a
    block takes it away, above), and the report reaches the desk."""
    watch = Watch(origin=server.base_url)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        seeker_sends(seeker, "you are useless and I know where you study")
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--peer .bubble__text").last).to_contain_text("useless")
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(pane.locator(".js-ended")).to_be_visible()
        report = pane.locator(".js-report")
        expect(report).to_be_visible()
        report.click()
        form = pane.locator(".js-report-form")
        form.locator(".js-report-note").fill("Threats just before leaving.")
        form.locator("button[type=submit]").press("Enter")
        expect(pane.locator(".js-report-status")).to_have_text(EN["vol.report_sent"])
        expect(pane.locator(".js-report-status")).to_be_focused()
        expect(desk.locator("#staff-alert")).to_contain_text(EN["alert.seeker_reported"])
        axe.check(volunteer, "the volunteer's ended chat with Report")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()

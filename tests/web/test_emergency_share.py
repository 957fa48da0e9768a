"""Issue #18 part 5 in the browser: the consented emergency share. The supervisor who
acknowledged an imminent escalation asks; the seeker sees who will see it, why and for how
long, may decline (the chat goes on) or share a phone number and, after a tap, their
browser's location; only that supervisor's desk shows it; the volunteer never sees it; it is
gone once the escalation is resolved. English and Hindi; axe-core; screenshots in
docs/screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, expect
from test_browser import (
    DESKTOP,
    EN,
    HI,
    PHONE,
    Watch,
    chat_in_progress,
    device,
    raise_concern,
    seeker_sends,
    shot,
    supervisor_logs_in,
)

from tests.support import shows_test_phone

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"
PHONE_NUMBER = "+91 98765 43210"
WHERE = "Hostel B, room 214"


def test_a_seeker_declines_then_shares_and_only_the_acknowledging_supervisor_sees_it(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    seeker_ctx.grant_permissions(["geolocation"], origin=server.base_url)
    seeker_ctx.set_geolocation({"latitude": 28.61394, "longitude": 77.20902, "accuracy": 25})
    desk_ctx = browser.new_context(viewport=DESKTOP)
    desk = watch.attach(desk_ctx.new_page())
    try:
        supervisor_logs_in(desk, server)
        # The volunteer is worried enough to raise the level to imminent.
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "imminent", "says they are not safe tonight")

        escalation = desk.locator("#escalations .escalation").first
        share_box = escalation.locator(".js-share")
        expect(share_box).to_be_hidden()  # not before acknowledging
        escalation.locator(".js-ack").click()
        expect(share_box).to_be_visible()
        expect(share_box.locator(".js-share-note")).to_have_text(EN["sup.share_note"])

        # First in Hindi: the seeker is asked, reads who/why/how long, and declines.
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        share_box.locator(".js-share-ask").click()
        dialog = seeker.locator("#share-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#share-title")).to_have_text(HI["share.title"])
        expect(dialog.locator(".js-share-facts li")).to_have_count(4)
        expect(dialog.locator(".js-share-facts li").nth(2)).to_contain_text("72")
        axe.check(seeker, "seeker emergency share request (hi)")
        shot(seeker, docs_shots, "emergency-share-seeker-hi-phone")
        dialog.locator(".js-share-decline").click()
        expect(dialog).to_be_hidden()
        expect(
            seeker.locator("#messages .system-note", has_text=HI["share.declined_note"])
        ).to_have_count(1)
        expect(share_box.locator(".js-share-status")).to_have_text(EN["sup.share_declined"])
        # The chat goes on.
        seeker_sends(seeker, "ok")
        expect(volunteer.locator(".bubble--peer .bubble__text").last).to_have_text("ok")

        # Asked again, in English: the seeker taps "Use my location", adds a number, shares.
        seeker.locator('.lang-switch__option[data-lang="en"]').click()
        share_box.locator(".js-share-ask").click()
        expect(dialog).to_be_visible()
        expect(dialog.locator("#share-title")).to_have_text(EN["share.title"])
        expect(dialog.locator(".js-share-facts li").first).to_contain_text(
            EN["share.who"].split("{name}")[0]
        )
        expect(dialog.locator("#share-location")).to_have_value("")  # nothing without a tap
        dialog.locator(".js-share-send").click()
        expect(dialog.locator("#share-status")).to_have_text(EN["share.need_one"])
        dialog.locator(".js-geo").click()
        expect(dialog.locator("#share-location")).to_have_value(
            "Location from my phone: 28.61394, 77.20902 (within about 25 m)"
        )
        dialog.locator("#share-location").press("End")
        dialog.locator("#share-location").type(f"\n{WHERE}")
        dialog.locator("#share-phone").fill(PHONE_NUMBER)
        axe.check(seeker, "seeker emergency share request (en, filled)")
        shot(seeker, docs_shots, "emergency-share-seeker-phone")
        dialog.locator(".js-share-send").click()
        expect(dialog).to_be_hidden()
        expect(
            seeker.locator(
                "#messages .system-note", has_text=EN["share.shared_note"].split("{name}")[0]
            )
        ).to_have_count(1)
        # The form kept nothing.
        assert seeker.locator("#share-phone").input_value() == ""

        expect(share_box.locator(".js-share-status")).to_contain_text("a phone number and where")
        show = share_box.locator(".js-share-show")
        show.click()
        held = share_box.locator(".js-share-held")
        expect(held).to_contain_text(PHONE_NUMBER)
        expect(held).to_contain_text(WHERE)
        expect(held.locator("a")).to_have_attribute("href", "tel:+919876543210")
        expect(show).to_have_attribute("aria-expanded", "true")
        axe.check(desk, "supervisor desk with an emergency share shown")
        escalation.scroll_into_view_if_needed()
        shot(desk, docs_shots, "emergency-share-desk-desktop")

        # The volunteer's console never shows it.
        volunteer.wait_for_timeout(300)
        assert PHONE_NUMBER not in volunteer.content()
        assert WHERE not in volunteer.content()

        with device(browser, watch, PHONE) as (_, phone_desk):
            supervisor_logs_in(phone_desk, server)
            phone_box = phone_desk.locator("#escalations .escalation .js-share").first
            expect(phone_box.locator(".js-share-status")).to_contain_text("a phone number")
            phone_box.locator(".js-share-show").click()
            expect(phone_box.locator(".js-share-held")).to_contain_text(PHONE_NUMBER)
            phone_box.scroll_into_view_if_needed()
            shot(phone_desk, docs_shots, "emergency-share-desk-phone")

        # Resolving deletes it: nothing left to read, and no copy in the database.
        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("emergency_services")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)
        with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
            rows = db.execute("SELECT status, sealed FROM emergency_shares").fetchall()
        assert sorted(rows) == [("declined", None), ("deleted", None)]
        log = server.log_path.read_text(errors="replace")
        assert not shows_test_phone(log) and "Hostel B" not in log
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()

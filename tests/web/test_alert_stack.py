"""The staff banner keeps the alerts nobody has dealt with yet (web_client/js/staff.js): it
showed one alert and a new one replaced it, so a quick exit's alert covered seconds later by
another chat's method cue was gone from the desk without a trace. It still shows one, the
newest, says how many more wait, and Dismiss brings back the next newest; the same alert
twice counts once; a method cue screened or ended meanwhile does not come back; a calm notice
is never kept. The frames are sent to the desk as the server sends them. Screenshots in
docs/screenshots at 1280x800 and 360x740."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_browser import DESKTOP, EN, HI, PHONE, Watch, device, shot, supervisor_logs_in
from test_layout import text_size
from test_method_cue_desk import _method_cue_alert, _routed_desk

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def _more(strings: dict[str, str], count: int) -> str:
    if count == 1:
        return strings["staff.alert_more_one"]
    return strings["staff.alert_more"].replace("{count}", str(count))


def _quick_exit(conversation_id: str) -> dict:
    return {"type": "staff.alert", "code": "quick_exit", "conversation_id": conversation_id,
            "level": "low", "message": "A seeker at risk used quick exit."}  # fmt: skip


NOBODY_ON_CALL = {"type": "staff.alert", "code": "nobody_on_call",
                  "message": "Nobody is on call right now."}  # fmt: skip


def _shows(banner: Locator, code: str, conversation_id: str, waiting: int, strings=EN) -> None:  # type: ignore[no-untyped-def]
    """The banner shows this alert, and says that ``waiting`` more wait (nothing when none)."""
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-code", code)
    expect(banner).to_have_attribute("data-conversation-id", conversation_id)
    expect(banner.locator(".banner__text")).to_have_text(strings[f"alert.{code}"])
    expect(banner).to_have_attribute("data-waiting", str(waiting))
    counter = banner.locator(".banner__more")
    if waiting:
        expect(counter).to_be_visible()
        expect(counter).to_have_text(_more(strings, waiting))
    else:
        expect(counter).to_be_hidden()


def _within(page: Page, banner: Locator, width: int, where: str) -> None:
    """Nothing of the banner is off the page, and the page does not scroll sideways."""
    for part in [banner, *banner.locator("p:visible, button:visible").all()]:
        box = part.bounding_box()
        assert box is not None, where
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{where}: {box}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, where


def test_alerts_wait_under_the_newest_and_come_back_when_it_is_dismissed(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    left, cue, covered, ended, screened, calm, after = (
        c * 16 for c in ("a1", "b2", "c3", "d4", "e5", "f6", "a7")
    )
    with device(browser, watch, DESKTOP) as (_, desk):
        server_sends = _routed_desk(desk)
        supervisor_logs_in(desk, server)
        banner = desk.locator("#staff-alert")
        close = banner.locator("#staff-alert-close")
        open_button = banner.locator("#staff-alert-open")

        # A quick exit's alert, then another chat's method cue a moment later.
        server_sends(_quick_exit(left))
        _shows(banner, "quick_exit", left, 0)
        server_sends(_method_cue_alert(cue))
        _shows(banner, "method_cue", cue, 1)
        expect(open_button).to_be_visible()

        # The same alert again (a second flagged message of that chat) counts once, and the
        # banner, a live region, is not rewritten (not read out again).
        desk.evaluate(
            """() => {
              window.__bannerChanges = 0;
              new MutationObserver((changes) => { window.__bannerChanges += changes.length; })
                .observe(document.getElementById("staff-alert"),
                         {subtree: true, childList: true, characterData: true});
            }"""
        )
        server_sends({**_method_cue_alert(cue), "seq": 2})
        desk.wait_for_timeout(300)
        _shows(banner, "method_cue", cue, 1)
        assert desk.evaluate("window.__bannerChanges") == 0

        # Dismissed, the method cue goes and the quick exit's alert comes back, with its own
        # Open button; focus stays on Dismiss.
        close.focus()
        desk.keyboard.press("Enter")
        _shows(banner, "quick_exit", left, 0)
        expect(open_button).to_be_visible()
        expect(open_button).to_have_attribute(
            "aria-label", EN["staff.alert_open_id"].replace("{id}", left[:6])
        )
        expect(close).to_be_focused()
        axe.check(desk, "supervisor desk, an alert come back after the newer one was dismissed")
        # The last one dismissed, the banner goes: the keyboard stays on the page's content
        # (it fell to <body>, and the next Tab started again at the top of the page).
        desk.keyboard.press("Enter")
        expect(banner).to_be_hidden()
        expect(desk.locator("#main")).to_be_focused()

        # Three at once: the newest shows, "2 more alerts".
        server_sends(_method_cue_alert(covered))
        server_sends(NOBODY_ON_CALL)
        server_sends(NOBODY_ON_CALL)  # the same alert twice counts once
        _shows(banner, "nobody_on_call", "", 1)
        expect(open_button).to_be_hidden()
        server_sends(_method_cue_alert(ended))
        _shows(banner, "method_cue", ended, 2)
        expect(open_button).to_be_visible()
        axe.check(desk, "supervisor desk, an alert with two more waiting")
        _within(desk, banner, DESKTOP["width"], "1280x800")
        shot(desk, docs_shots, "supervisor-alerts-waiting-desktop")
        desk.set_viewport_size(PHONE)
        _within(desk, banner, PHONE["width"], "360x740")
        shot(desk, docs_shots, "supervisor-alerts-waiting-phone")

        # In Hindi, and at 200 % text, the count stays within the page.
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        _shows(banner, "method_cue", ended, 2, HI)
        _within(desk, banner, PHONE["width"], "360x740, Hindi")
        shot(desk, docs_shots, "supervisor-alerts-waiting-phone-hi")
        for size, lang in ((PHONE, "hi"), (DESKTOP, "hi"), (DESKTOP, "en"), (PHONE, "en")):
            desk.set_viewport_size(size)
            option = desk.locator(f'.lang-switch__option[data-lang="{lang}"]')
            if option.get_attribute("aria-pressed") != "true":  # on a phone only the other shows
                option.click()
            text_size(desk, 2)
            expect(banner.locator(".banner__more")).to_have_text(
                _more(EN if lang == "en" else HI, 2)
            )
            _within(desk, banner, size["width"], f"{size['width']}px at 200 % text, {lang}")
            text_size(desk, 1)
        axe.check(desk, "supervisor desk, an alert with two more waiting, phone")
        desk.set_viewport_size(DESKTOP)

        # A covered chat is screened, the shown one ends: neither comes back.
        server_sends({"type": "method_cue.screened", "conversation_id": covered, "level": "low"})
        _shows(banner, "method_cue", ended, 1)
        server_sends({"type": "method_cue.ended", "conversation_id": ended})
        _shows(banner, "nobody_on_call", "", 0)
        close.click()
        expect(banner).to_be_hidden()
        desk.wait_for_timeout(300)
        expect(banner).to_be_hidden()

        # The shown method cue is screened: the newest alert that waits shows, not the calm
        # notice; a chat the desk was never alerted about changes nothing.
        server_sends(_quick_exit(left))
        server_sends(_method_cue_alert(screened))
        _shows(banner, "method_cue", screened, 1)
        server_sends({"type": "method_cue.screened", "conversation_id": after, "level": "low"})
        server_sends({"type": "method_cue.screened", "conversation_id": screened, "level": "low"})
        _shows(banner, "quick_exit", left, 0)
        close.click()
        expect(banner).to_be_hidden()

        # A calm notice shows as before, but once covered it never comes back.
        server_sends(_method_cue_alert(calm))
        server_sends({"type": "method_cue.screened", "conversation_id": calm, "level": "moderate"})
        expect(banner).to_have_attribute("data-code", "method_cue_screened")
        expect(banner).to_have_class(re.compile(r"\bbanner--calm\b"))
        expect(banner).to_have_attribute("data-waiting", "0")
        server_sends(_quick_exit(after))
        _shows(banner, "quick_exit", after, 0)
        expect(banner).not_to_have_class(re.compile(r"\bbanner--calm\b"))
        close.click()
        expect(banner).to_be_hidden()
        desk.wait_for_timeout(300)
        expect(banner).to_be_hidden()
    watch.check()

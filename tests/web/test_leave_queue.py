"""A seeker who leaves the queue is told so kindly. The page used to answer the server's
``conversation.ended`` (``reason: "left_queue"``) with the ended screen, "Your chat has ended"
and "Thank you for reaching out", although no chat took place; and for a chat a volunteer had
handed back to the queue, with the feedback questions and a return code the server refuses for
a chat that never ended. Now it says "You've left the queue", in English and Hindi, with
Tele-MANAS 14416 and 112 one tap away and a way to start again, and asks nothing. The heading
takes the focus and is described by the words under it, so a screen reader hears both.
Checked with axe."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import EN, HI, PHONE, Watch, chat_in_progress, device, shot, volunteer_pane

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def seeker_waits(page: Page, server: LiveServer, lang: str) -> None:
    page.goto(server.base_url + "/")
    if lang == "hi":
        page.locator('.lang-switch__option[data-lang="hi"]').click()
    page.locator("#consent").check()
    page.locator("#start-button").click()
    expect(page.locator("#queue-position")).not_to_be_empty()


def seeker_leaves_the_queue(page: Page) -> None:
    page.locator("#leave-queue").click()
    page.locator("#leave-confirm").click()


def return_code_requests(page: Page) -> list[str]:
    """The page's requests to the return codes' API from now on (none may be made here)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/api/v1/return-codes" in r.url else None)
    return seen


def assert_left_the_queue(page: Page, strings: dict[str, str]) -> None:
    title = page.locator("#ended-title")
    expect(title).to_have_text(strings["left.title"])
    expect(page.locator("#ended-text")).to_have_text(strings["left.text"])
    # Heard: the heading has the focus, with its words as its description, and is said aloud.
    expect(title).to_be_focused()
    expect(title).to_have_accessible_description(strings["left.text"])
    expect(page.locator("#sr-alert")).to_have_text(strings["left.title"])
    helplines = page.locator("#ended-helplines")
    expect(helplines).to_contain_text(strings["busy.helplines_intro"])
    expect(helplines.locator('a[href="tel:14416"]')).to_be_visible()
    expect(helplines.locator('a[href="tel:112"]')).to_be_visible()
    expect(page.locator("#new-chat")).to_have_text(strings["ended.new_chat"])
    # Nothing to rate and no return code: no chat took place.
    for nothing in ("#feedback-form", "#feedback-thanks", "#ended-code", "#ended-plan"):
        expect(page.locator(nothing)).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_seeker_who_leaves_the_queue_is_told_so_kindly_and_can_start_again(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path, lang: str
) -> None:
    strings = EN if lang == "en" else HI
    with device(browser, watch, PHONE) as (_, page):
        seeker_waits(page, server, lang)
        asked_for_a_code = return_code_requests(page)
        seeker_leaves_the_queue(page)
        assert_left_the_queue(page, strings)
        axe.check(page, f"the seeker who left the queue ({lang})")
        shot(page, screenshots, f"seeker-left-queue-{lang}-phone")
        page.wait_for_timeout(500)  # time for a return code's request, were one made
        assert asked_for_a_code == []

        # A way to start again: back in the queue, and leaving again says the same.
        page.locator("#new-chat").click()
        expect(page.locator("#queue-card")).to_be_visible()
        expect(page.locator("#queue-position")).not_to_be_empty()
        seeker_leaves_the_queue(page)
        assert_left_the_queue(page, strings)
    watch.check()


def test_leaving_a_chat_handed_back_to_the_queue_asks_no_feedback_and_offers_no_code(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A volunteer took the chat, then handed it back to the queue, and the seeker left: the
    page asked how the chat went and offered a return code, both of which the server refuses
    for a chat that did not end (it was abandoned in the queue)."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        pane = volunteer_pane(volunteer)
        pane.locator(".js-transfer").click()
        form = pane.locator(".js-transfer-form")
        expect(form.locator(".js-transfer-to")).to_have_value("queue")
        form.locator(".js-transfer-note").fill("Needs someone who can stay longer.")
        form.locator("button[type=submit]").click()
        expect(seeker.locator("#queue-card")).to_be_visible()
        asked_for_a_code = return_code_requests(seeker)
        seeker_leaves_the_queue(seeker)
        assert_left_the_queue(seeker, EN)
        axe.check(seeker, "the seeker who left the queue after a hand-back")
        seeker.wait_for_timeout(500)  # time for a return code's request, were one made
        assert asked_for_a_code == []
        expect(seeker.locator("#feedback-form")).to_be_hidden()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

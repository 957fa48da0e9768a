"""What the seeker's page says while one of its dialogs is open (the helplines, the plan, leave
the queue, end the chat, the emergency share). A modal dialog hides the rest of the page from
screen readers, and only the alert region went into it: the place in the queue, a volunteer's
message and the connection notice, said by the page's other live regions, went unheard. What
those regions say is said again from the page's status region (#sr-status, polite), which the
open dialog holds with the alert region and Quick exit (`openModal` in web_client/js/ui.js,
which the volunteer console's debrief uses too); all go back to the page when it closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from test_browser import (
    DESKTOP,
    EN,
    PHONE,
    RECONNECT_TIMEOUT_MS,
    Watch,
    chat_in_progress,
    device,
    seeker_sends,
    seeker_starts,
    volunteer_ends,
    volunteer_logs_in,
    volunteer_pane,
    volunteer_sends,
    volunteer_takes,
)
from test_seeker_dialogs import CLOSE_AND_OPEN_AGAIN, where
from test_volunteer_dialog_regions import route_socket

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def said(status, text: str):  # type: ignore[no-untyped-def]
    """The lines of the status region that say `text`."""
    return status.locator("p", has_text=text)


def assert_regions_in(page: Page, dialog_id: str) -> None:
    for element_id in ("quick-exit", "sr-alert", "sr-status"):
        assert where(page, element_id) == dialog_id, element_id


def test_what_the_seeker_page_says_while_a_dialog_is_open_is_heard(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    sockets: list[WebSocketRoute] = []
    with (
        device(browser, watch, PHONE) as (_, first),
        device(browser, watch, PHONE) as (_, seeker),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker_starts(first, server)
        route_socket(seeker, sockets)
        seeker_starts(seeker, server)
        place = seeker.locator("#queue-position")
        expect(place).to_have_text(EN["queue.position"].replace("{n}", "2"))
        expect(place).to_have_attribute("aria-live", "polite")

        # Waiting second in the queue, the seeker looks at the helplines.
        seeker.locator("#queue-card .js-open-helplines").click()
        dialog = seeker.locator("#helplines-dialog")
        expect(dialog).to_be_visible()
        assert_regions_in(seeker, "helplines-dialog")
        status = dialog.locator("#sr-status")
        expect(status).to_have_attribute("aria-live", "polite")
        expect(status).to_be_empty()

        # The volunteer comes online (the place is set again, to the same words: not said) and
        # takes the first seeker: the place changes, and is said from the dialog, once.
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#capacity").select_option("2")
        volunteer_takes(volunteer)
        expect(said(status, EN["queue.position_next"])).to_have_count(1)
        expect(said(status, EN["queue.position"].replace("{n}", "2"))).to_have_count(0)
        axe.check(seeker, "seeker helplines dialog, the queue's place said from it")

        # Taken: said from the alert region, and not again from the status region (the
        # chat's note says the same words).
        volunteer.locator("#take-next").click()
        joined = EN["chat.started"].split("{name}")[1].strip()
        expect(dialog.locator("#sr-alert")).to_contain_text(joined)
        expect(seeker.locator("#messages .system-note").last).to_contain_text(joined)
        seeker.wait_for_timeout(200)
        expect(said(status, joined)).to_have_count(0)

        # A message from the volunteer: the chat's list is a live region behind the dialog.
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--peer .bubble__text")).to_have_count(0)
        volunteer_sends(volunteer, "are you still there")
        expect(said(status, "are you still there")).to_have_count(1)

        # The connection drops: the notice shows, and is said; each time it shows again.
        for times in (1, 2):
            sockets[-1].close()
            expect(said(status, EN["conn.reconnecting"])).to_have_count(times)
            expect(seeker.locator("#conn-notice")).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        axe.check(seeker, "seeker helplines dialog, the page's regions said from it")

        # Closed, all goes back, emptied; the page's regions speak for themselves again.
        dialog.locator(".js-close-dialog").click()
        expect(dialog).to_be_hidden()
        expect(seeker.locator("body > #sr-status")).to_have_count(1)
        expect(seeker.locator("body > #sr-alert")).to_have_count(1)
        assert (
            seeker.evaluate("document.querySelector('.skip-link').nextElementSibling.id")
            == "quick-exit"
        )
        expect(seeker.locator("#sr-status")).to_be_empty()
        volunteer_sends(volunteer, "hello again")
        expect(seeker.locator("#messages .bubble--peer .bubble__text").last).to_have_text(
            "hello again"
        )
        seeker.wait_for_timeout(200)
        expect(seeker.locator("#sr-status")).to_be_empty()

        # Opened again before the close event of its closing came: all stay in it.
        opener = "#chat-header .js-open-helplines"
        seeker.locator(opener).click()
        seeker.evaluate(CLOSE_AND_OPEN_AGAIN, ["#helplines-dialog .js-close-dialog", opener])
        seeker.wait_for_timeout(100)
        assert_regions_in(seeker, "helplines-dialog")
        volunteer_sends(volunteer, "one more")
        expect(said(dialog.locator("#sr-status"), "one more")).to_have_count(1)

        # The end-of-chat question: what the volunteer writes meanwhile is heard from it too.
        dialog.locator(".js-close-dialog").click()
        seeker.locator("#end-chat").click()
        end = seeker.locator("#end-dialog")
        assert_regions_in(seeker, "end-dialog")
        volunteer_sends(volunteer, "take your time")
        expect(said(end.locator("#sr-status"), "take your time")).to_have_count(1)
        axe.check(seeker, "seeker end-chat dialog, a message said from it")
        end.locator("#end-cancel").click()
        seeker_sends(seeker, "thank you")
        expect(pane.locator(".bubble--peer .bubble__text").last).to_have_text("thank you")
    watch.check()


def test_a_chat_that_ends_while_a_dialog_is_open_says_so(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found beside the regions above: the volunteer ended the chat while the seeker read the
    helplines. The ended screen's heading, behind the dialog, could not take the focus, so
    nothing said the chat had ended, and closing the dialog left the focus nowhere (its button
    had gone with the chat). The end is said from the dialog, which stays open, and closing it
    lands on "Your chat has ended". The question "End the chat?" open at that moment goes."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker.locator("#chat-header .js-open-helplines").click()
        dialog = seeker.locator("#helplines-dialog")
        expect(dialog).to_be_visible()
        volunteer_ends(volunteer_pane(volunteer))
        expect(dialog.locator("#sr-alert")).to_have_text(EN["ended.title"])
        expect(dialog).to_be_visible()
        assert seeker.evaluate("document.activeElement.closest('dialog')?.id") == (
            "helplines-dialog"
        )
        axe.check(seeker, "seeker helplines dialog over the ended screen")
        dialog.locator(".js-close-dialog").click()
        expect(dialog).to_be_hidden()
        expect(seeker.locator("#ended-title")).to_be_focused()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()

    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker.locator("#end-chat").click()
        expect(seeker.locator("#end-dialog")).to_be_visible()
        volunteer_ends(volunteer_pane(volunteer))
        expect(seeker.locator("#end-dialog")).to_be_hidden()
        expect(seeker.locator("#ended-title")).to_be_focused()
        expect(seeker.locator("body > #sr-status")).to_have_count(1)
        assert where(seeker, "quick-exit") == "page"
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

"""The seeker's dialogs (helplines, leave the queue, end the chat, the safety plan) closed and
opened again at once. Quick exit and the page's alert and status regions live in the open
dialog (a modal dialog makes the rest of the page unreachable and unheard); a dialog's
"close" event comes as a task of its own, and a listener added at each opening moved them
back to the page when the event of the last closing came after the new opening: Quick exit
was then out of reach and what the page said went unheard. Esc stays quick exit everywhere,
in a dialog too."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import EN, PHONE, Watch, chat_in_progress, device, seeker_starts
from test_care import volunteer_starts_a_plan
from test_journeys import stub_quick_exit_page

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

#: Close the open dialog (its Close or Cancel button) and press the button that opens it, in
#: one task: the close event of that closing comes after the new opening.
CLOSE_AND_OPEN_AGAIN = """([close, opener]) => {
  document.querySelector(close).click();
  document.querySelector(opener).click();
}"""


def where(page: Page, element_id: str) -> str:
    """The id of the dialog holding the element, or "page"."""
    return page.evaluate(
        "(id) => document.getElementById(id).closest('dialog')?.id || 'page'", element_id
    )


def assert_open_with_quick_exit(page: Page, dialog_id: str) -> None:
    dialog = page.locator(f"#{dialog_id}")
    expect(dialog).to_be_visible()
    assert where(page, "quick-exit") == dialog_id
    assert where(page, "sr-alert") == dialog_id
    assert where(page, "sr-status") == dialog_id
    expect(dialog.locator("#quick-exit")).to_be_visible()
    assert page.evaluate("document.activeElement.closest('dialog')?.id") == dialog_id


def assert_closed_back_on(page: Page, dialog_id: str, opener: str) -> None:
    expect(page.locator(f"#{dialog_id}")).to_be_hidden()
    expect(page.locator(opener)).to_be_focused()
    expect(page.locator("body > #sr-alert")).to_have_count(1)
    expect(page.locator("body > #sr-status")).to_have_count(1)
    assert (
        page.evaluate("document.querySelector('.skip-link').nextElementSibling.id") == "quick-exit"
    )
    expect(page.locator("#quick-exit")).to_be_visible()


def test_a_dialog_opened_again_before_its_close_is_done_keeps_quick_exit_inside(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    with device(browser, watch, PHONE) as (context, page):
        context.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        seeker_starts(page, server)
        for dialog_id, opener, close in (
            (
                "helplines-dialog",
                "#queue-card .js-open-helplines",
                "#helplines-dialog .js-close-dialog",
            ),
            ("leave-dialog", "#leave-queue", "#leave-cancel"),
        ):
            page.locator(opener).click()
            assert_open_with_quick_exit(page, dialog_id)
            page.evaluate(CLOSE_AND_OPEN_AGAIN, [close, opener])
            page.wait_for_timeout(100)  # the close event has come by now
            assert_open_with_quick_exit(page, dialog_id)
            axe.check(page, f"seeker {dialog_id} opened again at once")
            page.locator(close).click()
            assert_closed_back_on(page, dialog_id, opener)

        # From the keyboard, fast: Enter on Close, then Enter on the button the focus went
        # back to, again and again (about one try in five lost Quick exit).
        opener = "#queue-card .js-open-helplines"
        close = page.locator("#helplines-dialog .js-close-dialog")
        page.locator(opener).focus()
        for _ in range(8):
            page.keyboard.press("Enter")
            close.focus()
            page.keyboard.press("Enter")
            page.keyboard.press("Enter")
            assert_open_with_quick_exit(page, "helplines-dialog")
            close.click()
            assert_closed_back_on(page, "helplines-dialog", opener)

        # Esc in a dialog is still quick exit.
        page.locator(opener).click()
        assert_open_with_quick_exit(page, "helplines-dialog")
        page.keyboard.press("Escape")
        page.wait_for_url(re.compile(r"^https://www\.google\.com/"))
    watch.check(allow_foreign=("https://www.google.com/",))


def test_the_plan_and_end_dialogs_opened_again_at_once_keep_quick_exit_and_what_is_said(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_starts_a_plan(volunteer)
        expect(seeker.locator("#open-plan")).to_be_visible()
        for dialog_id, opener, close in (
            ("end-dialog", "#end-chat", "#end-cancel"),
            ("plan-dialog", "#open-plan", "#plan-dialog .js-close-dialog"),
        ):
            seeker.locator(opener).click()
            assert_open_with_quick_exit(seeker, dialog_id)
            seeker.evaluate(CLOSE_AND_OPEN_AGAIN, [close, opener])
            seeker.wait_for_timeout(100)
            assert_open_with_quick_exit(seeker, dialog_id)
            if dialog_id == "end-dialog":
                seeker.locator(close).click()
                assert_closed_back_on(seeker, dialog_id, opener)
        # In the plan opened again, what the page says is heard: an entry the volunteer adds.
        dialog = seeker.locator("#plan-dialog")
        box = volunteer.locator("#risk-area .risk-panel:not([hidden]) .js-plan-box")
        field = box.locator('[data-step="warning_signs"] input')
        field.fill("Not sleeping")
        field.press("Enter")
        expect(dialog.locator("#sr-alert")).to_have_text(
            EN["plan.added"].replace("{item}", "Not sleeping")
        )
        axe.check(seeker, "seeker plan opened again at once")
        dialog.locator(".js-close-dialog").click()
        assert_closed_back_on(seeker, "plan-dialog", "#open-plan")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

"""A volunteer following a helpline referral through with the keyboard. Each step's button
("They want to contact it", "Handed over", ...) was disabled when pressed and then replaced
by the next steps, so the focus fell to the top of the page and the volunteer had to Tab back
through the whole console to the risk panel. Now the focus goes to the referral's new status,
with the next steps a Tab away (never onto the next step itself: a second Enter would press
it). Checked with axe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, expect
from test_browser import EN, HIGH_RISK_ANSWERS, Watch, chat_in_progress, run_checklist

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_referral_step_pressed_from_the_keyboard_leaves_the_focus_on_its_new_status(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        run_checklist(risk, HIGH_RISK_ANSWERS)
        risk.locator(".js-submit").click()
        steps = risk.locator(".js-referral-steps")
        state = risk.locator(".js-referral-state")
        accepted = steps.get_by_role("button", name=EN["ref_step.accepted"])
        expect(accepted).to_be_visible()

        accepted.focus()
        volunteer.keyboard.press("Enter")
        expect(state).to_have_text(
            EN["vol.referral_status"].replace("{status}", EN["ref_status.accepted"])
        )
        expect(state).to_be_focused()
        volunteer.keyboard.press("Tab")
        expect(steps.get_by_role("button", name=EN["ref_step.handed_over"])).to_be_focused()

        volunteer.keyboard.press("Enter")
        expect(state).to_have_text(
            EN["vol.referral_status"].replace("{status}", EN["ref_status.handed_over"])
        )
        expect(state).to_be_focused()
        axe.check(volunteer, "the volunteer's referral after a step from the keyboard")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_the_risk_panels_forms_and_checklist_keep_the_focus_when_they_close(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """ "I'm concerned" cancelled, "Escalate to supervisor" sent, the screening submitted, each
    from the keyboard: the form or checklist went with the focus in it, which fell to the top
    of the page. Now it goes back to the button that opened the form, and to "Screening
    submitted." after the checklist."""
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        status = risk.locator(".js-status")

        risk.locator(".js-concern").focus()
        volunteer.keyboard.press("Enter")
        expect(risk.locator(".js-concern-form select")).to_be_focused()
        risk.locator(".js-concern-form .js-cancel").focus()
        volunteer.keyboard.press("Enter")
        expect(risk.locator(".js-concern-form")).to_be_hidden()
        expect(risk.locator(".js-concern")).to_be_focused()

        risk.locator(".js-escalate").focus()
        volunteer.keyboard.press("Enter")
        expect(risk.locator(".js-escalate-reason")).to_be_focused()
        volunteer.keyboard.type("says they are not safe tonight")
        risk.locator(".js-escalate-form button[type=submit]").focus()
        volunteer.keyboard.press("Enter")
        expect(status).to_have_text(EN["risk.escalate_sent"])
        expect(risk.locator(".js-escalate-form")).to_be_hidden()
        expect(risk.locator(".js-escalate")).to_be_focused()

        answers = dict.fromkeys(("asq1", "asq2", "asq3", "asq4"), "no")
        run_checklist(risk, answers)
        risk.locator(".js-submit").focus()
        volunteer.keyboard.press("Enter")
        expect(risk.locator(".js-checklist")).to_be_hidden()
        expect(status).to_have_text(EN["risk.submitted"])
        expect(status).to_be_focused()
        axe.check(volunteer, "the volunteer's risk panel after its forms, from the keyboard")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

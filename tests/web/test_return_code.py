"""Issue #18 part 4 in the browser: a seeker keeps a return code at the end of a chat, comes
back on another phone (in Hindi) with it, sees their safety plan, talks again, and the next
volunteer sees that they have talked before and gets the plan; then the seeker forgets the
code. axe on every new screen; screenshots in docs/screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import (
    DESKTOP,
    EN,
    HI,
    PHONE,
    Watch,
    chat_in_progress,
    device,
    raise_concern,
    shot,
    volunteer_logs_in,
    volunteer_pane,
)
from test_care import load_plan_title

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"
PLAN_ITEM = "Walk to the tea stall"


def _open_plan_together(seeker: Page, volunteer: Page) -> None:
    risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
    raise_concern(risk, "low", "low mood this week")
    risk.locator(".js-plan").click()
    coping = risk.locator('.js-plan-box [data-step="coping_alone"]')
    coping.locator("input").fill(PLAN_ITEM)
    coping.locator("input").press("Enter")
    expect(coping.locator(".plan-item__text")).to_have_text([PLAN_ITEM])
    expect(seeker.locator("#open-plan")).to_be_visible()


def _come_back(page: Page, server: LiveServer, typed: str) -> None:
    page.goto(server.base_url + "/")
    page.locator("#have-code").click()
    form = page.locator('[data-screen="return"] form')
    expect(form).to_be_visible()
    expect(page.locator("#return-words")).to_be_focused()
    page.locator("#return-words").fill(typed)
    form.locator("button[type=submit]").click()


def test_a_return_code_brings_the_plan_to_another_phone_and_tells_the_next_volunteer(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        _open_plan_together(seeker, volunteer)
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        card = seeker.locator("#ended-code")
        expect(card).to_be_visible()
        expect(card.locator("h2")).to_have_text(EN["returncode.offer_title"])
        card.get_by_role("button", name=EN["returncode.keep"]).click()
        words = card.locator(".code-words__word")
        expect(words).to_have_count(5)
        expect(seeker.locator("#code-words-title")).to_be_focused()
        code = words.all_inner_texts()
        assert all(word.isalpha() and word.islower() for word in code)
        axe.check(seeker, "seeker return code shown once")
        card.scroll_into_view_if_needed()
        shot(seeker, docs_shots, "return-code-words-phone")
        # Nothing of the code is kept on the device.
        stored = seeker.evaluate("() => JSON.stringify({...localStorage, ...sessionStorage})")
        # The code in any spelling, or most of its words: storage holds the seeker's token
        # (random letters) and key names such as "expires_at", in which one short word of the
        # code can appear by chance (a word as a substring failed a full run once).
        assert not re.search(r"\W*".join(map(re.escape, code)), stored)
        assert sum(re.search(rf"\b{re.escape(w)}\b", stored) is not None for w in code) < 3
        card.locator(".code-words button").click()
        expect(card.locator(".code-words__word")).to_have_count(0)
        expect(card.locator(".js-code-kept")).to_be_focused()
        expect(card.locator(".js-code-offer")).to_be_hidden()
    finally:
        seeker_ctx.close()

    typed = " " + "-".join(word.upper() for word in code) + " "
    with device(browser, watch, PHONE, locale="hi-IN") as (_, phone):
        # A wrong code first: one calm answer that says nothing about which codes exist.
        _come_back(phone, server, "acorn bagel cable dance eagle")
        expect(phone.locator("#return-error")).to_have_text(HI["returncode.error_invalid"])
        expect(phone.locator("#have-code")).to_be_hidden()
        # A change of language re-renders the screen (its strings come with the module).
        phone.locator('.lang-switch__option[data-lang="en"]').click()
        expect(phone.locator("#return-title")).to_have_text(EN["returncode.come_back_title"])
        expect(phone.locator("#return-error")).to_have_text(EN["returncode.error_invalid"])
        phone.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(phone.locator("#return-title")).to_have_text(HI["returncode.come_back_title"])
        axe.check(phone, "come back with a code, Hindi, wrong code")
        shot(phone, docs_shots, "return-code-come-back-phone-hi")

        phone.locator("#return-words").fill(typed)
        phone.locator('[data-screen="return"] form button[type=submit]').click()
        expect(phone.locator("#return-title")).to_have_text(HI["returncode.welcome_back"])
        plan = phone.locator('[data-screen="return"] .plan')
        expect(plan.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            [PLAN_ITEM]
        )
        axe.check(phone, "welcome back with the plan, Hindi")
        shot(phone, docs_shots, "return-code-welcome-back-phone-hi", full_page=True)

        phone.get_by_role("button", name=HI["returncode.talk_again"]).click()
        expect(phone.locator("#queue-card")).to_be_visible()
        volunteer.locator("#take-next").click()
        pane = volunteer_pane(volunteer)
        expect(pane).to_contain_text(EN["vol.returning"].replace("{n}", "1"))
        expect(pane.locator(".js-meta")).to_contain_text(EN["vol.returning_badge"])
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        expect(
            risk.locator('.js-plan-box [data-step="coping_alone"] .plan-item__text')
        ).to_have_text([PLAN_ITEM])
        # The earlier chat's messages are not in the new chat.
        expect(pane.locator(".bubble")).to_have_count(0)
        expect(phone.locator("#open-plan")).to_be_visible()
        axe.check(volunteer, "volunteer console, a returning seeker")
        shot(volunteer, docs_shots, "return-code-volunteer-desktop")
        # After a reload the console is told again (seeker.returning on resume).
        volunteer.reload()
        pane = volunteer_pane(volunteer)
        expect(pane).to_contain_text(EN["vol.returning"].replace("{n}", "1"))
        expect(pane.locator(".js-meta")).to_contain_text(EN["vol.returning_badge"])
        phone.locator("#end-chat").click()
        phone.locator("#end-confirm").click()
        # Still linked: the code keeps working; new words are offered only if they were lost.
        expect(phone.locator("#ended-code .js-code-offer")).to_contain_text(
            HI["returncode.still_works"]
        )
        expect(phone.get_by_role("button", name=HI["returncode.renew"])).to_be_visible()
    volunteer_ctx.close()

    with device(browser, watch, DESKTOP) as (_, desk):
        desk.goto(server.base_url + "/")
        expect(desk.locator("#have-code")).to_be_visible()
        shot(desk, docs_shots, "return-code-start-desktop")
        _come_back(desk, server, " ".join(code))
        expect(desk.locator("#return-title")).to_have_text(EN["returncode.welcome_back"])
        axe.check(desk, "welcome back, desktop")
        shot(desk, docs_shots, "return-code-welcome-back-desktop")
        desk.get_by_role("button", name=EN["returncode.forget"]).click()
        expect(desk.get_by_role("button", name=EN["returncode.forget_no"])).to_be_focused()
        # From the keyboard: the pressed button hides with its row, and the focus (which fell
        # to the top of the page) goes to the answer, which a screen reader then reads.
        desk.get_by_role("button", name=EN["returncode.forget_yes"]).focus()
        desk.keyboard.press("Enter")
        forgotten = desk.locator('[data-screen="return"] [role=status]')
        expect(forgotten).to_have_text(EN["returncode.forgotten"])
        expect(forgotten).to_be_focused()
        axe.check(desk, "return code forgotten")
        expect(desk.locator('[data-screen="return"] .plan')).to_have_count(0)
        _come_back(desk, server, " ".join(code))
        expect(desk.locator("#return-error")).to_have_text(EN["returncode.error_invalid"])


def test_helplines_are_reachable_from_the_return_screens(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Someone who comes back with a code may be in crisis again: the screen where they type
    their words, and the "welcome back" that follows, had no helpline and no way to one (the
    welcome back has no way back either). Both now have the page's Helplines button, whose
    dialog holds Tele-MANAS and 112, with quick exit inside it; closing it gives the focus back."""
    seeker_ctx, seeker, volunteer_ctx, _ = chat_in_progress(browser, server, watch)
    try:
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        seeker.locator("#ended-code").get_by_role("button", name=EN["returncode.keep"]).click()
        words = seeker.locator("#ended-code .code-words__word")
        expect(words).to_have_count(5)
        code = words.all_inner_texts()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()

    def helplines_open_and_close(phone: Page) -> None:
        button = phone.locator('[data-screen="return"]').get_by_role(
            "button", name=HI["helplines.open"]
        )
        button.click()
        dialog = phone.locator("#helplines-dialog")
        expect(dialog).to_be_visible()
        for number in ("14416", "112"):
            expect(dialog.locator(f'a[href="tel:{number}"]')).to_be_visible()
        expect(dialog.locator("#quick-exit")).to_be_visible()
        dialog.get_by_role("button", name=HI["common.close"]).click()
        expect(dialog).to_be_hidden()
        expect(button).to_be_focused()

    with device(browser, watch, PHONE, locale="hi-IN") as (_, phone):
        _come_back(phone, server, "acorn bagel cable dance eagle")
        expect(phone.locator("#return-error")).to_have_text(HI["returncode.error_invalid"])
        helplines_open_and_close(phone)
        phone.locator("#return-words").fill(" ".join(code))
        phone.locator('[data-screen="return"] form button[type=submit]').click()
        expect(phone.locator("#return-title")).to_have_text(HI["returncode.welcome_back"])
        # The plan is called as its own heading and buttons call it ("सुरक्षा योजना"); these
        # screens said "सुरक्षा प्लान", so a seeker looked for a button that is not there.
        screen = phone.locator('[data-screen="return"]')
        expect(screen.locator("#return-plan-title")).to_have_text(HI["plan.title"])
        expect(screen.locator(".lead")).to_contain_text(HI["plan.desk_title"])
        expect(screen).to_contain_text(HI["returncode.no_plan"])
        expect(screen).not_to_contain_text("प्लान")
        helplines_open_and_close(phone)
        axe.check(phone, "welcome back, Hindi, helplines one tap away")
    watch.check()


def test_a_code_that_could_not_be_made_leaves_the_keyboard_on_its_button(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """ "Keep a return code" is disabled while it asks the server; when the answer was an error
    the focus had gone to the top of the page with it, under the error a screen reader had just
    read. The focus is back on the button, so trying again is one key away."""
    seeker_ctx, seeker, volunteer_ctx, _ = chat_in_progress(browser, server, watch)
    try:
        seeker.route(
            "**/api/v1/return-codes",
            lambda route: (
                route.fulfill(status=503, json={"error": {"code": "unavailable"}})
                if route.request.method == "POST"
                else route.continue_()
            ),
        )
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        card = seeker.locator("#ended-code")
        keep = card.get_by_role("button", name=EN["returncode.keep"])
        keep.focus()
        seeker.keyboard.press("Enter")
        expect(card.get_by_role("alert")).to_have_text(EN["returncode.error"])
        expect(keep).to_be_focused()
        axe.check(seeker, "seeker, a return code could not be made")
        seeker.unroute("**/api/v1/return-codes")
        seeker.keyboard.press("Enter")
        expect(card.locator(".code-words__word")).to_have_count(5)
        expect(seeker.locator("#code-words-title")).to_be_focused()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()


def _a_code_that_keeps_a_plan(browser: Browser, server: LiveServer, watch: Watch) -> list[str]:
    """A chat with a plan (one entry of the seeker's), ended, and its code's five words."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        _open_plan_together(seeker, volunteer)
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        seeker.locator("#ended-code").get_by_role("button", name=EN["returncode.keep"]).click()
        words = seeker.locator("#ended-code .code-words__word")
        expect(words).to_have_count(5)
        return words.all_inner_texts()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()


def test_the_plan_brought_back_follows_a_change_of_language(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    """Found in the browser audit: a seeker who came back in Hindi and switched the page to
    English kept their plan's fixed words in Hindi ("अभी यहाँ कुछ नहीं है" under an empty step)
    under English headings. The plan is drawn again in the page's language, at once with the
    page's own words, and the page asks the server for the steps in the new language
    (`GET /api/v1/return-codes/mine?language=`); what the seeker wrote stays as written."""
    code = _a_code_that_keeps_a_plan(browser, server, watch)
    with device(browser, watch, PHONE, locale="hi-IN") as (_, phone):
        _come_back(phone, server, " ".join(code))
        expect(phone.locator("#return-title")).to_have_text(HI["returncode.welcome_back"])
        plan = phone.locator('[data-screen="return"] .plan')
        empty = plan.locator('[data-step="distractions"] .plan-step__empty')
        expect(empty).to_have_text(HI["plan.empty_step"])
        expect(plan.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("hi"))
        with phone.expect_request(
            lambda request: "/api/v1/return-codes/mine?language=en" in request.url
        ):
            phone.locator('.lang-switch__option[data-lang="en"]').click()
        expect(phone.locator("#return-title")).to_have_text(EN["returncode.welcome_back"])
        expect(phone.locator("#return-plan-title")).to_have_text(EN["plan.title"])
        expect(empty).to_have_text(EN["plan.empty_step"])
        expect(plan.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            [PLAN_ITEM]
        )
        axe.check(phone, "welcome back, the plan after a change to English")
        shot(phone, screenshots, "return-code-welcome-back-switched-phone", full_page=True)
        phone.set_viewport_size(DESKTOP)
        shot(phone, screenshots, "return-code-welcome-back-switched-desktop")
        phone.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(empty).to_have_text(HI["plan.empty_step"])
        expect(plan.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("hi"))
        expect(plan.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            [PLAN_ITEM]
        )
    watch.check()


def test_the_plan_brought_back_has_its_steps_in_the_new_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    code = _a_code_that_keeps_a_plan(browser, server, watch)
    with device(browser, watch, PHONE, locale="hi-IN") as (_, phone):
        _come_back(phone, server, " ".join(code))
        plan = phone.locator('[data-screen="return"] .plan')
        expect(plan.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("hi"))
        phone.locator('.lang-switch__option[data-lang="en"]').click()
        expect(plan.locator('[data-step="warning_signs"] h3')).to_have_text(
            load_plan_title("en"), timeout=5_000
        )
        expect(plan.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            [PLAN_ITEM]
        )


def test_a_seeker_who_came_back_and_switched_language_talks_in_that_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey: a seeker who came back in Hindi, switched the page to
    English and pressed "Talk to someone again" got a chat in Hindi (the session's language,
    set when the code was typed): the volunteer saw Hindi and the seeker's page spoke English.
    The new chat is told the language the page was switched to."""
    code = _a_code_that_keeps_a_plan(browser, server, watch)
    with (
        device(browser, watch, PHONE, locale="hi-IN") as (_, phone),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        _come_back(phone, server, " ".join(code))
        expect(phone.locator("#return-title")).to_have_text(HI["returncode.welcome_back"])
        phone.locator('.lang-switch__option[data-lang="en"]').click()
        expect(phone.locator("#return-title")).to_have_text(EN["returncode.welcome_back"])
        phone.get_by_role("button", name=EN["returncode.talk_again"]).click()
        expect(phone.locator("#queue-card")).to_be_visible()
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#take-next").click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-meta")).to_contain_text(EN["lang.en"])
        expect(pane.locator(".js-meta")).not_to_contain_text(EN["lang.hi"])
        expect(phone.locator("#queue-card")).to_be_hidden()
        expect(phone.locator("#chat-header")).to_be_visible()
    watch.check()

"""Issue #18 part 3 in the browser: warm transfer. A volunteer hands a chat to another
volunteer with a note only staff read; a supervisor reassigns a chat back to the queue; the
seeker is told kindly, in English or Hindi, and never sees the note. axe on every view;
screenshots in docs/screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_browser import (
    DESKTOP,
    EN,
    HI,
    PHONE,
    Watch,
    chat_in_progress,
    desk_page,
    device,
    raise_concern,
    seeker_sends,
    shot,
    supervisor_acks,
    supervisor_logs_in,
    volunteer_pane,
    volunteer_sends,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"
NOTE = (
    "Exams on Monday, not sleeping. Breathing together helped. She asked not to repeat her story."
)


def second_volunteer_logs_in(page: Page, server: LiveServer) -> None:
    page.goto(server.base_url + "/volunteer")
    page.locator("#login-username").fill("vol2")
    page.locator("#login-password").fill("volunteer-pass-2")
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("[data-screen=console]")).to_be_visible()
    page.locator("#available").check()
    expect(page.locator("#availability-status")).to_contain_text("Available")


def hand_on_to_the_other_volunteer(pane: Locator, note: str) -> None:
    """The volunteer hands the chat in ``pane`` to the only other volunteer online."""
    pane.locator(".js-transfer").click()
    form = pane.locator(".js-transfer-form")
    expect(form.locator(".js-transfer-to option")).to_have_count(2)
    form.locator(".js-transfer-to").select_option(index=1)
    form.locator(".js-transfer-note").fill(note)
    form.locator("button[type=submit]").click()


def test_a_volunteer_hands_a_chat_to_another_with_a_note_the_seeker_never_sees(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("volunteer", "vol2", "volunteer-pass-2")
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    other_ctx, other = desk_page(browser, watch)
    try:
        second_volunteer_logs_in(other, server)
        volunteer_sends(volunteer, "I'm here. Tell me what's going on.")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(
            ["I'm here. Tell me what's going on."]
        )
        pane = volunteer_pane(volunteer)
        pane.locator(".js-transfer").click()
        form = pane.locator(".js-transfer-form")
        expect(form).to_be_visible()
        choices = form.locator(".js-transfer-to option")
        expect(choices).to_have_count(2)  # the queue, and the one free volunteer
        expect(choices.first).to_have_text(EN["transfer.to_queue"])
        # An empty note is refused here, before anything is sent.
        form.locator("button[type=submit]").click()
        expect(pane.locator(".js-transfer-status")).to_have_text(EN["transfer.err_note"])
        form.locator(".js-transfer-to").select_option(index=1)
        form.locator(".js-transfer-note").fill(NOTE)
        axe.check(volunteer, "volunteer hand-over form")
        shot(volunteer, docs_shots, "transfer-form-desktop")
        form.locator("button[type=submit]").click()

        # The old volunteer: the chat has left their console.
        handed = pane.locator(".js-handed")
        expect(handed).to_be_visible()
        expect(pane.locator(".js-composer")).to_be_hidden()

        # The new volunteer: the whole conversation and the note.
        new_pane = volunteer_pane(other)
        expect(new_pane.locator(".js-handover")).to_be_visible()
        expect(new_pane.locator(".js-handover-note")).to_have_text(NOTE)
        expect(new_pane.locator(".bubble .bubble__text")).to_have_text(
            ["hi, is anyone there?", "I'm here. Tell me what's going on."]
        )
        # The first volunteer's reply is theirs, not the new volunteer's own.
        earlier = new_pane.locator(".bubble--volunteer")
        expect(earlier).to_have_class(re.compile("bubble--peer"))
        expect(earlier.locator(".bubble__who")).not_to_have_text(EN["chat.you"])
        axe.check(other, "volunteer console with a chat handed over")
        shot(other, docs_shots, "transfer-received-desktop")
        other.set_viewport_size(PHONE)
        new_pane.locator(".js-handover").scroll_into_view_if_needed()
        shot(other, docs_shots, "transfer-received-phone")
        other.set_viewport_size(DESKTOP)

        # The seeker: a gentle message with the new alias, and nothing of the note.
        alias = new_pane.locator(".js-peer")  # the seeker's alias, seen by the volunteer
        expect(alias).not_to_be_empty()
        note = seeker.locator("#messages .system-note").last
        expect(note).to_contain_text(EN["transfer.handed"].split("{alias}")[1].strip()[:30])
        assert NOTE not in seeker.content()
        note.scroll_into_view_if_needed()
        axe.check(seeker, "seeker told of the hand-over")
        shot(seeker, docs_shots, "transfer-seeker-phone")

        # They carry on; the old volunteer no longer receives the chat.
        volunteer_sends(other, "Hi, I've read everything so far. I'm with you.")
        expect(seeker.locator(".bubble--peer .bubble__text").last).to_have_text(
            "Hi, I've read everything so far. I'm with you."
        )
        seeker_sends(seeker, "ok thank you")
        expect(new_pane.locator(".bubble--peer .bubble__text").last).to_have_text("ok thank you")
        expect(pane.locator(".bubble .bubble__text")).to_have_count(2)
        # The next volunteer's console in Hindi.
        other.locator('.lang-switch__option[data-lang="hi"]').first.click()
        expect(new_pane.locator(".js-handover h3")).to_have_text(HI["transfer.received_title"])
        expect(new_pane.locator(".js-transfer")).to_have_text(HI["transfer.button"])
        axe.check(other, "volunteer console with a chat handed over, Hindi")
        shot(other, docs_shots, "transfer-received-hi-desktop")
        axe.check(volunteer, "volunteer console after handing over")
        pane.locator(".js-handed-close").click()
        expect(volunteer.locator("#no-chats")).to_be_visible()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, other_ctx):
            ctx.close()
    watch.check()


def test_a_supervisor_reassigns_a_chat_to_the_queue_and_the_seeker_is_told_in_hindi(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        seeker.locator('.lang-switch__option[data-lang="hi"]').first.click()
        expect(seeker.locator("#composer-text")).to_be_visible()
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "high", "talks of a plan for tonight")
        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-messages .bubble")).to_have_count(1)

        desk.locator("#conv-reassign").click()
        form = desk.locator("#reassign-form")
        expect(form).to_be_visible()
        expect(form.locator("#reassign-to option")).to_have_count(1)  # nobody else is free
        expect(desk.locator("#conv-status")).to_have_text(EN["transfer.nobody_free"])
        desk.locator("#reassign-note").fill("Volunteer needs a break; high risk, plan for tonight.")
        axe.check(desk, "supervisor reassign form")
        shot(desk, docs_shots, "transfer-reassign-desk-desktop")
        form.locator("button[type=submit]").press("Enter")
        expect(desk.locator("#conv-status")).to_have_text(EN["transfer.sent"])
        # The form went with the keyboard in it: the focus is on what was done, not at the top.
        expect(desk.locator("#conv-status")).to_be_focused()
        expect(desk.locator("#conv-messages .system-note").last).to_contain_text(
            "Volunteer needs a break"
        )

        # The seeker, in Hindi: back at the front of the queue, with their conversation kept.
        expect(seeker.locator("#queue-card")).to_be_visible()
        expect(seeker.locator("#messages .system-note").last).to_have_text(HI["transfer.requeued"])
        expect(seeker.locator(".bubble--mine .bubble__text")).to_have_text(["hi, is anyone there?"])
        assert "Volunteer needs a break" not in seeker.content()
        seeker.locator("#messages .system-note").last.scroll_into_view_if_needed()
        axe.check(seeker, "seeker back in the queue, Hindi")
        shot(seeker, docs_shots, "transfer-requeued-seeker-hi-phone")

        # The volunteer's chat has left their console.
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-handed-text")).to_have_text(EN["transfer.released_queue"])
        # Their part of a high-risk chat is over: the cool-down and the debrief are offered
        # at once, and the debrief reaches the desk of the supervisor who acknowledged it.
        expect(volunteer.locator("#cooldown")).to_be_visible()
        # A reload keeps both: the server says it again after the socket's auth.ok.
        volunteer.reload()
        expect(volunteer.locator("#cooldown")).to_be_visible()
        expect(volunteer.locator("#take-next")).to_be_disabled()
        volunteer.locator("#debrief-open").click()
        dialog = volunteer.locator("#debrief-dialog")
        dialog.locator('input[name="feeling"][value="struggling"]').check()
        dialog.locator("button[type=submit]").click()
        expect(volunteer.locator("#debrief-status")).to_have_text(EN["debrief.sent"])
        expect(desk.locator("#debriefs .debrief")).to_contain_text(EN["debrief.feeling.struggling"])

        with device(browser, watch, PHONE) as (_, phone_desk):
            supervisor_logs_in(phone_desk, server)
            phone_desk.locator("#escalations .escalation .js-open").first.click()
            phone_desk.locator("#conv-reassign").click()
            expect(phone_desk.locator("#reassign-form")).to_be_visible()
            phone_desk.locator("#reassign-form").scroll_into_view_if_needed()
            axe.check(phone_desk, "supervisor reassign form on a phone")
            shot(phone_desk, docs_shots, "transfer-reassign-desk-phone")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_a_chat_handed_away_and_back_again_shows_its_whole_history_and_can_be_answered(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey: a volunteer who had handed a chat on and got it back (from
    the queue, or handed straight back) saw an empty log, or kept the read-only "handed over"
    pane with no composer: the page still counted the old messages as shown."""
    server.create_user("volunteer", "vol2", "volunteer-pass-2")
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    other_ctx, other = desk_page(browser, watch)
    history = ["hi, is anyone there?", "I'm here."]
    try:
        second_volunteer_logs_in(other, server)
        volunteer_sends(volunteer, "I'm here.")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(["I'm here."])

        def hand_over(page: Page, index: int, note: str) -> None:
            pane = volunteer_pane(page)
            pane.locator(".js-transfer").click()
            form = pane.locator(".js-transfer-form")
            form.locator(".js-transfer-to").select_option(index=index)
            form.locator(".js-transfer-note").fill(note)
            form.locator("button[type=submit]").click()
            expect(pane.locator(".js-handed")).to_be_visible()

        # To the other volunteer; the first keeps the "handed over" pane open.
        hand_over(volunteer, 1, "Exams, not sleeping.")
        expect(volunteer_pane(other).locator(".bubble .bubble__text")).to_have_text(history)
        # Back to the queue; the first volunteer takes it from there.
        hand_over(other, 0, "I need a break.")
        other.locator("#chat-area .chat-pane:not([hidden]) .js-handed-close").click()
        expect(seeker.locator("#queue-card")).to_be_visible()
        volunteer.locator("#take-next").click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-handed")).to_be_hidden()
        expect(pane.locator(".js-composer")).to_be_visible()
        expect(pane.locator(".bubble .bubble__text")).to_have_text(history)
        expect(volunteer.locator("#chat-area .chat-pane")).to_have_count(1)
        volunteer_sends(volunteer, "I'm back with you.")
        expect(seeker.locator(".bubble--peer .bubble__text").last).to_have_text(
            "I'm back with you."
        )
        history.append("I'm back with you.")
        # Straight to the other volunteer again, whose console had closed its old pane.
        hand_over(volunteer, 1, "Back to you, she asked for you.")
        new_pane = volunteer_pane(other)
        expect(new_pane.locator(".js-composer")).to_be_visible()
        expect(new_pane.locator(".bubble .bubble__text")).to_have_text(history)
        expect(new_pane.locator(".js-handover-note")).to_have_text(
            "Back to you, she asked for you."
        )
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, other_ctx):
            ctx.close()
    watch.check()


def test_a_chat_the_seeker_ended_offers_no_hand_over_but_keeps_report(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        pane = volunteer_pane(volunteer)
        expect(volunteer.locator("#take-status")).not_to_be_empty()
        pane.locator(".js-transfer").click()
        expect(pane.locator(".js-transfer-form")).to_be_visible()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(pane.locator(".js-ended")).to_be_visible()
        # A chat that has ended cannot be handed over: no dead buttons. It can still be
        # reported (abuse is often reported at the end; the server takes it).
        for dead in (".js-transfer", ".js-transfer-form", ".js-end"):
            expect(pane.locator(dead)).to_be_hidden()
        expect(pane.locator(".js-report")).to_be_visible()
        # The keyboard was in the hand-over form: it moves to the notice, not to <body>.
        expect(pane.locator(".js-ended")).to_be_focused()
        # "You're now chatting with …" under Take next chat is no longer true.
        expect(volunteer.locator("#take-status")).to_be_empty()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx):
            ctx.close()
    watch.check()


def test_the_keyboard_stays_in_the_pane_when_a_chat_goes_back_to_the_queue(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        pane = volunteer_pane(volunteer)
        expect(volunteer.locator("#take-status")).not_to_be_empty()
        pane.locator(".js-transfer").click()
        form = pane.locator(".js-transfer-form")
        expect(form.locator(".js-transfer-to")).to_have_value("queue")
        form.locator(".js-transfer-note").fill(NOTE)
        form.locator("button[type=submit]").focus()
        volunteer.keyboard.press("Enter")
        handed = pane.locator(".js-handed-text")
        expect(handed).to_have_text(EN["transfer.released_queue"])
        # The Send button went with its form: the keyboard lands on what happened, not <body>.
        expect(handed).to_be_focused()
        volunteer.keyboard.press("Tab")
        expect(pane.locator(".js-handed-close")).to_be_focused()
        expect(volunteer.locator("#take-status")).to_be_empty()
        # Nor does it come back with a language change.
        volunteer.locator('.lang-switch__option[data-lang="hi"]').first.click()
        expect(pane.locator(".js-handed-close")).to_have_text(HI["vol.close_tab"])
        expect(volunteer.locator("#take-status")).to_be_empty()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx):
            ctx.close()
    watch.check()

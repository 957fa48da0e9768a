"""A supervisor takes a chat over. The seeker's header then said the supervisor was a
"Trained peer volunteer" (it now says "Supervisor", in Hindi too), and a second supervisor
reading the chat at another desk saw the first one's message as their own ("You", "Sent").
Checked with axe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import (
    EN,
    HI,
    Watch,
    chat_in_progress,
    desk_page,
    escalate,
    seeker_sends,
    supervisor_acks,
    supervisor_logs_in,
    volunteer_pane,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


def alias(page: Page) -> str:
    """The supervisor's alias, from "Signed in as …" in the desk's header."""
    prefix, _, suffix = EN["staff.signed_in_as"].partition("{name}")
    text = page.locator("#who").inner_text()
    return text.removeprefix(prefix).removesuffix(suffix)


HELLO = "Hi, I'm a supervisor here. I'm staying with you."


def supervisor_joins_and_says_hello(desk: Page, volunteer: Page) -> None:
    """The volunteer escalates; the desk acknowledges, opens the chat, joins and writes."""
    escalate(
        volunteer.locator("#risk-area .risk-panel:not([hidden])"),
        "says they have a plan for tonight",
    )
    escalation = desk.locator("#escalations .escalation").first
    supervisor_acks(desk, escalation)
    escalation.locator(".js-open").click()
    desk.locator("#conv-join").click()
    expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_joined"])
    desk.locator("#sup-text").fill(HELLO)
    desk.locator("#sup-text").press("Enter")
    expect(desk.locator("#conv-messages .bubble--mine .bubble__text")).to_have_text([HELLO])


def test_another_supervisors_message_is_theirs_on_this_desk_not_mine(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Two desks: sup1 joins and writes; sup2 opens the chat and saw sup1's message as its
    own, "You" and "Sent", as if it had written to the seeker itself."""
    for name in ("sup1", "sup2"):
        server.create_user("supervisor", name, server.supervisor_password)
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    other_ctx, other = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        supervisor_logs_in(other, server, "sup2")
        supervisor_joins_and_says_hello(desk, volunteer)

        other.locator("#escalations .escalation").first.locator(".js-open").click()
        said = other.locator("#conv-messages .bubble", has_text=HELLO)
        expect(said).to_have_count(1)
        expect(said).to_have_class("bubble bubble--peer bubble--supervisor")
        expect(said.locator(".bubble__who")).to_have_text(
            EN["chat.supervisor_label"].replace("{name}", alias(desk))
        )
        expect(said.locator(".bubble__state")).to_have_count(0)
        expect(other.locator("#conv-messages .bubble--mine")).to_have_count(0)
        # Still so when it takes over, and on the first desk its own message stays its own.
        desk.locator("#conv-takeover").click()
        expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_takeover"])
        expect(desk.locator("#conv-messages .bubble--mine .bubble__text")).to_have_text([HELLO])
        expect(other.locator("#conv-messages .bubble--mine")).to_have_count(0)
        axe.check(other, "the other desk reading a chat a supervisor joined")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
        other_ctx.close()
    watch.check()


def test_after_a_takeover_the_seekers_header_says_supervisor_not_peer_volunteer(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The header under the supervisor's name said "Trained peer volunteer", in both
    languages and after a reload."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        role = seeker.locator("#chat-header .chat-header__role")
        expect(role).to_have_text(EN["chat.peer_role"])
        supervisor_joins_and_says_hello(desk, volunteer)
        expect(role).to_have_text(EN["chat.peer_role"])  # joined: the volunteer is still there

        desk.locator("#conv-takeover").click()
        expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_takeover"])
        expect(desk.locator("#sr-status")).to_have_text(EN["sup.now_takeover"])
        expect(seeker.locator("#peer-name")).to_have_text(alias(desk))
        expect(role).to_have_text(EN["role.supervisor"])
        # Observe or Join now changes nothing (the server keeps the highest mode): the desk
        # said "Observing" and hid the box to the seeker, while the volunteer stayed locked
        # out, and nobody could answer the seeker until a reload.
        for lower in ("#conv-observe", "#conv-join"):
            desk.locator(lower).click()
            expect(desk.locator("#conv-status")).to_have_text(
                EN["sup.mode_kept"].replace("{mode}", EN["sup.mode_takeover"])
            )
            expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_takeover"])
            expect(desk.locator("#sup-composer")).to_be_visible()
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(desk.locator("#conv-status")).to_have_text(
            HI["sup.mode_kept"].replace("{mode}", HI["sup.mode_takeover"])
        )
        desk.locator('.lang-switch__option[data-lang="en"]').click()
        axe.check(seeker, "the seeker's chat after a supervisor took it over")
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(role).to_have_text(HI["role.supervisor"])

        # A reload keeps it so (the server tells the takeover again on resume).
        seeker.reload()
        expect(seeker.locator("#chat-header")).to_be_visible()
        expect(seeker.locator("#peer-name")).to_have_text(alias(desk))
        expect(role).to_have_text(HI["role.supervisor"])

        # The seeker ends the chat while the supervisor is in the composer: it goes, and the
        # focus with it to the messages, which say the chat ended (not to the top of the page).
        desk.locator("#sup-text").focus()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(desk.locator("#sup-composer")).to_be_hidden()
        expect(desk.locator("#conv-messages")).to_be_focused()
        # Nothing left to join, take over or hand on, and no mode held: the chat looked live
        # ("Taken over", with those buttons) after it ended. Observe and Block stay.
        for gone in ("#conv-mode", "#conv-join", "#conv-takeover", "#conv-reassign"):
            expect(desk.locator(gone)).to_be_hidden()
        for kept in ("#conv-observe", "#conv-block"):
            expect(desk.locator(kept)).to_be_visible()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()


def test_after_a_takeover_the_volunteer_reads_along_and_is_told_why_they_cannot_write(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The volunteer's composer, End chat and Hand over stayed after a supervisor took the
    chat over; what they wrote only said "Not sent", with no reason (the server refuses it)."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        supervisor_joins_and_says_hello(desk, volunteer)
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-composer")).to_be_visible()  # joined: the volunteer still writes
        refused: list[str] = []
        volunteer.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda payload: refused.append(str(payload)) if '"error"' in str(payload) else None,
            ),
        )
        volunteer.reload()  # the listener sees the socket from its start
        pane = volunteer_pane(volunteer)
        # Half a sentence typed when the takeover comes ("typing" went out).
        pane.locator(".js-text").press_sequentially("I'm still")

        desk.locator("#conv-takeover").click()
        expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_takeover"])
        notice = pane.locator(".js-ended")
        said = EN["vol.taken_over_notice"].replace("{name}", alias(desk))
        expect(notice).to_have_text(said)
        expect(notice).to_be_focused()  # the box it was in went
        for gone in (".js-composer", ".js-end", ".js-transfer"):
            expect(pane.locator(gone)).to_be_hidden()
        expect(pane.locator(".bubble--supervisor .bubble__text")).to_have_text([HELLO])
        volunteer.wait_for_timeout(500)  # time for a refusal, were anything refused
        assert refused == [], refused  # no "stopped typing" the server refuses from a reader
        axe.check(volunteer, "the volunteer's chat after a supervisor took it over")

        # In Hindi, and again after a reload (the server tells the takeover again on resume).
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(notice).to_have_text(HI["vol.taken_over_notice"].replace("{name}", alias(desk)))
        volunteer.reload()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-ended")).to_have_text(
            HI["vol.taken_over_notice"].replace("{name}", alias(desk))
        )
        expect(pane.locator(".js-composer")).to_be_hidden()

        # The chat goes on between the seeker and the supervisor.
        seeker_sends(seeker, "thank you for staying")
        expect(pane.locator(".bubble--peer .bubble__text").last).to_have_text(
            "thank you for staying"
        )
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()


def test_a_supervisors_label_follows_the_seekers_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The line over a supervisor's message ("{name} · supervisor") stayed in English after
    the seeker chose हिन्दी, while the rest of the page, the note that the supervisor joined
    too, changed."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        supervisor_joins_and_says_hello(desk, volunteer)
        label = seeker.locator("#messages .bubble--supervisor .bubble__who")
        expect(label).to_have_text(EN["chat.supervisor_label"].replace("{name}", alias(desk)))
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#chat-header .chat-header__role")).to_have_text(HI["chat.peer_role"])
        expect(label).to_have_text(HI["chat.supervisor_label"].replace("{name}", alias(desk)))
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()

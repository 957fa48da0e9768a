"""Journeys as people live them (issue #17): quick exit seen by the other side, chats that can
always end, state that survives a reload, honest helplines, forgiving forms, phones and zoom.

Screenshots land in docs/screenshots/ at the size each problem was seen.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, expect
from test_browser import (
    DESKTOP,
    EN,
    HI,
    HIGH_RISK_ANSWERS,
    PHONE,
    QUICK_EXIT_HOST,
    Watch,
    chat_in_progress,
    desk_page,
    device,
    escalate,
    raise_concern,
    run_checklist,
    seeker_sends,
    seeker_starts,
    shot,
    supervisor_acks,
    supervisor_logs_in,
    supervisor_signs_in,
    volunteer_ends,
    volunteer_logs_in,
    volunteer_pane,
)

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"


def stub_quick_exit_page(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body="<title>weather</title><p>Weather</p>")


def token_of(page: Page) -> str:
    saved = page.evaluate("localStorage.getItem('peerline.seeker')")
    assert saved, "the seeker has a saved session"
    return str(json.loads(saved)["token"])


def me_status(server: LiveServer, token: str) -> int:
    request = urllib.request.Request(
        server.base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_until(page: Page, check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` for up to 5 s: what the server stored, where no screen shows it."""
    for _ in range(50):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not so after 5 s: {what}")


# ---- 1. quick exit is seen by the people on the other side ----------------------------------


def test_quick_exit_over_the_helplines_dialog_tells_the_volunteer(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker_ctx.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        seeker_sends(seeker, "wait, someone is coming")
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--peer .bubble__text").last).to_have_text(
            "wait, someone is coming"
        )
        token = token_of(seeker)

        # A phone with the Helplines dialog open: Quick exit is still on top and tappable.
        seeker.locator("#chat-header .js-open-helplines").click()
        expect(seeker.locator("#helplines-dialog")).to_be_visible()
        exit_button = seeker.locator("#quick-exit")
        expect(exit_button).to_be_visible()
        box = exit_button.bounding_box()
        assert box is not None
        on_top = seeker.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)?.closest('#quick-exit') !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top, "Quick exit is covered by the dialog"
        shot(seeker, docs_shots, "seeker-quick-exit-over-dialog-phone")
        exit_button.click()
        seeker.wait_for_url(re.compile(r"^https://www\.google\.com/"))

        # The volunteer is told at once, with what to do, and cannot write any more.
        ended = pane.locator(".js-ended")
        expect(ended).to_contain_text("left with Quick exit")
        expect(ended).to_contain_text("tell your supervisor")
        expect(ended).to_have_attribute("role", "alert")
        expect(pane.locator(".js-composer")).to_be_hidden()
        shot(volunteer, docs_shots, "volunteer-seeker-quick-exit-desktop")

        # The token is dead on the server: a shared phone cannot bring the chat back.
        assert me_status(server, token) == 401
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_waiting_seeker_who_quick_exits_leaves_the_queue_at_once(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    with (
        device(browser, watch, PHONE) as (seeker_ctx, seeker),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker_ctx.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        volunteer_logs_in(volunteer, server)
        seeker_starts(seeker, server)
        expect(volunteer.locator("#q-waiting")).to_have_text("1")
        token = token_of(seeker)

        seeker.keyboard.press("Escape")
        seeker.wait_for_url(re.compile(r"^https://www\.google\.com/"))

        expect(volunteer.locator("#q-waiting")).to_have_text("0", timeout=5_000)
        volunteer.locator("#take-next").click()
        expect(volunteer.locator("#take-status")).to_have_text(EN["vol.err_queue_empty"])
        assert me_status(server, token) == 401
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


#: Esc as an input method sends it while it composes: flagged ``isComposing``, or with the
#: legacy keyCode 229 (browsers that do not flag it).
COMPOSING_ESC = """(init) => {
  const event = new KeyboardEvent("keydown", {key: "Escape", bubbles: true, cancelable: true, ...init});
  document.querySelector("#composer-text").dispatchEvent(event);
  return event.isComposing || event.keyCode === 229;
}"""


def test_esc_that_closes_an_input_methods_suggestions_does_not_quick_exit(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A seeker typing Hindi with an input method presses Esc to close its suggestions: the
    chat stays. A plain Esc still quick-exits (README: "quick exit button and `Esc`")."""
    with device(browser, watch, PHONE) as (seeker_ctx, seeker):
        seeker_ctx.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        seeker_starts(seeker, server)
        seeker_sends(seeker, "kya koi hai")
        expect(seeker.locator(".bubble--mine")).to_have_count(1)
        seeker.locator("#composer-text").fill("मुझे")
        for init in ({"isComposing": True}, {"keyCode": 229}):
            assert seeker.evaluate(COMPOSING_ESC, init), init
        seeker.wait_for_timeout(500)
        assert seeker.url.startswith(server.base_url), seeker.url
        expect(seeker.locator("#queue-card")).to_be_visible()
        expect(seeker.locator(".bubble--mine")).to_have_count(1)
        expect(seeker.locator("#composer-text")).to_have_value("मुझे")
        assert token_of(seeker)
        axe.check(seeker, "waiting, after Esc in an input method")

        seeker.locator("#composer-text").press("Escape")
        seeker.wait_for_url(re.compile(r"^https://www\.google\.com/"))
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_end_chat_dialog_focuses_the_safe_choice_and_keeps_quick_exit(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker.locator("#end-chat").click()
        expect(seeker.locator("#end-dialog")).to_be_visible()
        expect(seeker.locator("#end-cancel")).to_be_focused()
        expect(seeker.locator("#end-dialog #quick-exit")).to_be_visible()
        shot(seeker, docs_shots, "seeker-end-dialog-phone")
        seeker.keyboard.press("Enter")  # the safe choice: the chat goes on
        expect(seeker.locator("#end-dialog")).to_be_hidden()
        expect(seeker.locator("#chat-header")).to_be_visible()
        # Quick exit is back in the page, outside the closed dialog.
        expect(seeker.locator("body > #quick-exit")).to_be_visible()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_volunteer_end_chat_asks_first_and_keeping_the_chat_is_the_safe_choice(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    """One click on End chat (beside Report abuse) ended a chat with a young person in distress,
    for good; the seeker's own End chat asks first, and so does the volunteer's now."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        pane = volunteer_pane(volunteer)
        pane.locator(".js-end").click()
        confirm = pane.locator(".js-end-confirm")
        expect(confirm).to_be_visible()
        expect(confirm).to_contain_text("cannot be reopened")
        expect(confirm.locator(".js-end-no")).to_be_focused()
        axe.check(volunteer, "volunteer end-chat confirm")
        shot(volunteer, docs_shots, "volunteer-end-confirm-desktop")
        volunteer.keyboard.press("Enter")  # the safe choice: the chat goes on
        expect(confirm).to_be_hidden()
        expect(pane.locator(".js-text")).to_be_focused()
        seeker_sends(seeker, "still here")
        expect(pane.locator(".bubble--peer .bubble__text").last).to_have_text("still here")
        expect(seeker.locator("#chat-header")).to_be_visible()

        volunteer_ends(pane)
        expect(pane.locator(".js-ended")).to_have_text(EN["vol.ended_by_you"])
        expect(confirm).to_be_hidden()
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


# ---- 2 and 4. a chat can always end; honest helplines, one card per offer -------------------


def test_high_risk_chat_ends_honestly_with_one_card_and_honest_helplines(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        pane = volunteer_pane(volunteer)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        run_checklist(risk, HIGH_RISK_ANSWERS)
        risk.locator(".js-submit").click()
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.high"])

        # The automatic card: verified lines and the mandatory two, labelled by what they do.
        cards = seeker.locator("#messages .referral")
        expect(cards).to_have_count(1)
        names = cards.locator(".helpline__name")
        expect(names).to_have_count(2)
        expect(cards).not_to_contain_text("KIRAN")
        expect(cards.locator('a[href="tel:14416"]')).to_have_text("Call 14416")
        expect(cards.locator('a[href="tel:112"]')).to_have_text("Call 112")

        # The volunteer's form: Indian lines only, 112 is an emergency number, not "unverified".
        risk.locator(".js-referral").click()
        form = risk.locator(".js-referral-form")
        expect(form.locator("label", has_text="Emergency")).to_contain_text(
            EN["risk.emergency_line"]
        )
        expect(form.locator("label", has_text="Emergency")).not_to_contain_text(
            EN["risk.unverified"]
        )
        expect(form).not_to_contain_text("988")
        expect(form).not_to_contain_text("Samaritans")
        form.locator("label", has_text="Vandrevala").locator("input").check()
        shot(volunteer, docs_shots, "volunteer-helpline-form-desktop")
        form.locator("button[type=submit]").click()

        # A second offer joins the open referral: still one card, now with WhatsApp said so.
        expect(cards.locator(".helpline__name")).to_have_count(3)
        expect(cards).to_have_count(1)
        whatsapp = cards.locator('a[href^="https://wa.me/"]')
        expect(whatsapp).to_have_text(re.compile(r"^WhatsApp "))
        shot(seeker, docs_shots, "seeker-one-card-per-referral-phone")
        seeker.reload()
        expect(seeker.locator("#messages .referral")).to_have_count(1)
        expect(seeker.locator("#messages .referral .helpline__name")).to_have_count(3)

        # The volunteer sees the referral's steps.
        box = risk.locator(".js-referral-box")
        expect(box).to_be_visible()
        expect(box.locator(".js-referral-next")).to_have_text(EN["ref_next.offered"])

        # The supervisor resolves the escalation; End is refused once per state, shown once.
        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)
        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("referred_helpline")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)
        # End says, before asking, that the referral keeps the chat open and what to do
        # (it asked, and then the server refused); nothing is sent, however often it is pressed.
        confirm = pane.locator(".js-end-confirm")
        for attempt in range(3):
            pane.locator(".js-end").click()
            expect(confirm.locator(".js-end-question")).to_have_text(EN["vol.err_referral_open"])
            expect(confirm.locator(".js-end-yes")).to_be_hidden()
            if attempt == 2:
                shot(volunteer, docs_shots, "volunteer-referral-steps-desktop")
            confirm.locator(".js-end-no").click()
        expect(pane.locator(".system-note", has_text=EN["vol.err_referral_open"])).to_have_count(0)

        # An honest way out: the seeker declined the helpline; now the chat can end.
        box.locator(f'button:has-text("{EN["ref_step.declined"]}")').click()
        expect(box.locator(".js-referral-state")).to_contain_text(EN["ref_status.declined"])
        expect(risk.locator(".js-actions")).to_contain_text(EN["action.volunteer_cannot_close"])
        volunteer_ends(pane)
        expect(pane.locator(".js-ended")).to_be_visible()
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
        # The level stays; what it called for in the live chat ("a supervisor will join",
        # "being paged") goes, as it would only mislead once the chat has ended.
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.high"])
        expect(risk.locator(".js-actions")).to_be_hidden()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def received_frames(page: Page, kind: str) -> list[dict]:
    """The `kind` frames the page's sockets receive from now on, as they come."""
    frames: list[dict] = []

    def on_socket(ws) -> None:  # type: ignore[no-untyped-def]
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and f'"type": "{kind}"' in payload.replace('":"', '": "'):
                frames.append(json.loads(payload))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return frames


def _dropping(kind: str) -> Callable[[WebSocketRoute], None]:
    """A route for the page's socket that loses every `kind` frame the server sends."""

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        upstream.on_message(lambda m: None if kind in str(m) else ws.send(m))
        ws.on_message(upstream.send)

    return route


def _reload_and_end_at_imminent(  # type: ignore[no-untyped-def]
    volunteer: Page, key: str = "vol.end_blocked_level", updates: list[dict] | None = None
):
    """Reload the console (the level comes back with the chat, an escalation's or referral's
    state with its frame), press End, and see the question `key` asks (by default the level's
    words, when no escalation's state reached the page): the End pane, its confirm, its
    question and the seeker's name. `updates` (received_frames' list of escalation.updated):
    End is pressed only once the resume has sent them again."""
    if updates is not None:
        updates.clear()
    volunteer.reload()
    pane = volunteer_pane(volunteer)
    confirm = pane.locator(".js-end-confirm")
    question = confirm.locator(".js-end-question")
    expect(volunteer.locator("#risk-area .risk-panel:not([hidden]) .js-level-pill")).to_have_text(
        EN["level.imminent"]
    )
    for _ in range(100):
        if updates is None or updates:
            break
        volunteer.wait_for_timeout(100)
    assert updates is None or updates, "no escalation.updated came with the resume"
    pane.locator(".js-end").click()
    name = pane.locator(".js-peer").inner_text().strip()
    expect(question).to_have_text(
        EN[key].replace("{name}", name).replace("{level}", EN["level.imminent"])
    )
    return pane, confirm, question, name


def test_an_imminent_chat_says_it_cannot_end_alone_before_the_volunteer_confirms(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    """Audit: at imminent risk the volunteer's End chat asked "End this chat?", and only after
    "Yes" did the server refuse (escalation_open: docs/protocol.md, Routing). End now says
    why the chat cannot end and what to do instead, with no "Yes". A reload keeps that: the
    resume tells the console the escalation is still open (it knew only the level, and
    offered a "Yes" the server refused). A page that heard of no escalation says what the
    level means and still offers End, and when the server refuses, the next End knows."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        # Frames are watched on a socket opened from now on: the console's, after a reload.
        updates = received_frames(volunteer, "escalation.updated")
        volunteer.reload()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble").first).to_be_visible()
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "imminent", "They said they are not safe right now.")
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.imminent"])
        for _ in range(100):
            if updates:
                break
            volunteer.wait_for_timeout(100)
        assert updates and updates[-1]["status"] == "open", updates

        confirm = pane.locator(".js-end-confirm")
        question = confirm.locator(".js-end-question")
        pane.locator(".js-end").click()
        expect(question).to_have_text(EN["vol.err_escalation_open"])
        expect(confirm.locator(".js-end-yes")).to_be_hidden()
        expect(confirm.locator(".js-end-no")).to_be_focused()
        expect(confirm).to_have_accessible_name(EN["vol.err_escalation_open"])
        axe.check(volunteer, "volunteer End at imminent risk")
        shot(volunteer, docs_shots, "volunteer-end-imminent-desktop")
        volunteer.set_viewport_size(PHONE)
        confirm.scroll_into_view_if_needed()
        expect(confirm.locator(".js-end-no")).to_be_in_viewport()
        shot(volunteer, docs_shots, "volunteer-end-imminent-phone")
        volunteer.set_viewport_size(DESKTOP)
        confirm.locator(".js-end-no").click()
        expect(confirm).to_be_hidden()
        expect(seeker.locator("#chat-header")).to_be_visible()

        # The seeker declined the helpline: the referral is over, and only the escalation
        # keeps the chat open (an open referral would say so after a reload: the next test).
        box = risk.locator(".js-referral-box")
        box.locator(f'button:has-text("{EN["ref_step.declined"]}")').click()
        expect(box.locator(".js-referral-state")).to_contain_text(EN["ref_status.declined"])

        # A reload: the level comes back with the chat, and the escalation's state with it.
        pane, confirm, question, name = _reload_and_end_at_imminent(
            volunteer, "vol.err_escalation_open", updates
        )
        assert [u["status"] for u in updates] == ["open"], updates
        expect(confirm.locator(".js-end-yes")).to_be_hidden()
        confirm.locator(".js-end-no").click()

        # A page that heard of no escalation (its escalation.updated frames lost): the level
        # speaks, and End is still offered.
        volunteer.route_web_socket(re.compile(r"/ws$"), _dropping("escalation.updated"))
        pane, confirm, question, name = _reload_and_end_at_imminent(volunteer)
        # The level is named as the panel's pill names it, "Risk level: …" (it stood
        # capitalised mid-sentence); in Hindi too.
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(question).to_have_text(
            HI["vol.end_blocked_level"]
            .replace("{name}", name)
            .replace("{level}", HI["level.imminent"])
        )
        assert HI["vol.end_blocked_level"].startswith("जोखिम स्तर: {level}।")
        volunteer.locator('.lang-switch__option[data-lang="en"]').click()
        expect(question).to_contain_text(f"Risk level: {EN['level.imminent']}.")
        # The page was out of date (the escalation is open): refused, said in the chat, and
        # the next End says so without offering it.
        confirm.locator(".js-end-yes").click()
        note = pane.locator(".system-note", has_text=EN["vol.err_escalation_open"])
        expect(note).to_be_visible()
        # "Yes" hid the confirm that held focus: it lands on the note saying why (it was
        # left on <body>, and a keyboard or screen-reader user was lost).
        expect(note).to_be_focused()
        expect(seeker.locator("#chat-header")).to_be_visible()
        pane.locator(".js-end").click()
        expect(question).to_have_text(EN["vol.err_escalation_open"])
        expect(confirm.locator(".js-end-yes")).to_be_hidden()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_after_a_reload_an_open_referral_says_so_before_the_level(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Audit: after a reload, at imminent risk, with the escalation resolved but the helpline
    referral still open (the referral box shows it), End showed the level's "If they have
    already resolved it, you can end the chat now" with "Yes"; Yes was refused
    (referral_open), and the next End said the same again, a loop. The server refuses for
    an open referral whatever became of the escalation: a known open referral, or the last
    refusal, wins over the level. A refusal the page did not see coming moves focus to the
    note saying why."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "imminent", "They said they are not safe right now.")
        expect(risk.locator(".js-referral-box .js-referral-next")).to_have_text(
            EN["ref_next.offered"]
        )
        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)
        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("referred_helpline")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)

        # A reload: the level and the open referral come back with the chat.
        volunteer.reload()
        pane = volunteer_pane(volunteer)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.imminent"])
        expect(risk.locator(".js-referral-box .js-referral-next")).to_have_text(
            EN["ref_next.offered"]
        )
        confirm = pane.locator(".js-end-confirm")
        question = confirm.locator(".js-end-question")
        for _ in range(2):
            pane.locator(".js-end").click()
            expect(question).to_have_text(EN["vol.err_referral_open"])
            expect(confirm.locator(".js-end-yes")).to_be_hidden()
            expect(confirm.locator(".js-end-no")).to_be_focused()
            confirm.locator(".js-end-no").click()
        axe.check(volunteer, "volunteer End after a reload with the referral open")

        # A page that did not hear of the referral (its referral.updated lost), only that the
        # escalation was resolved: End is offered as for any chat; the server refuses
        # (referral_open), focus goes to the note saying why, and the next End says it
        # without offering End again.
        updates = received_frames(volunteer, "escalation.updated")
        volunteer.route_web_socket(re.compile(r"/ws$"), _dropping("referral.updated"))
        pane, confirm, question, name = _reload_and_end_at_imminent(
            volunteer, "vol.end_confirm", updates
        )
        assert [u["status"] for u in updates] == ["resolved"], updates
        expect(confirm.locator(".js-end-yes")).to_be_visible()
        confirm.locator(".js-end-yes").click()
        note = pane.locator(".system-note", has_text=EN["vol.err_referral_open"])
        expect(note).to_be_focused()
        pane.locator(".js-end").click()
        expect(question).to_have_text(EN["vol.err_referral_open"])
        expect(confirm.locator(".js-end-yes")).to_be_hidden()
        expect(seeker.locator("#chat-header")).to_be_visible()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
        desk_ctx.close()
    watch.check()


def test_supervisor_closes_a_referral_with_a_reason(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        risk.locator(".js-referral").click()
        risk.locator(".js-referral-form button[type=submit]").click()
        expect(seeker.locator("#messages .referral")).to_have_count(1)

        row = desk.locator("#referrals tbody tr")
        expect(row).to_have_count(1)
        # A step chosen keeps the keyboard on its list when the table is drawn anew.
        status = row.locator(".js-ref-status")
        status.focus()
        status.select_option("accepted")
        expect(desk.locator("#referrals tbody tr .js-ref-status")).to_have_value("accepted")
        expect(desk.locator("#referrals tbody tr .js-ref-status")).to_be_focused()
        # On a phone the table scrolls in its own box: the whole desk scrolled sideways.
        desk.set_viewport_size(PHONE)
        expect(row).to_have_count(1)
        assert desk.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        desk.set_viewport_size(DESKTOP)
        # The lines are named in the desk's language (the directory's translations).
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(row.locator("td").nth(2)).to_contain_text("टेली-मानस (भारत सरकार)")
        desk.locator('.lang-switch__option[data-lang="en"]').click()
        expect(row.locator("td").nth(2)).to_contain_text("Tele-MANAS (Govt. of India)")
        # Opened by mistake: Cancel goes back, closing nothing.
        row.locator(".js-ref-close").click()
        row.locator(".js-ref-close-cancel").click()
        expect(row.locator(".js-ref-close-form")).to_be_hidden()
        expect(row.locator(".js-ref-close")).to_be_focused()
        row.locator(".js-ref-close").click()
        row.locator(".js-ref-close-reason").fill("The seeker left before we could ask.")
        shot(desk, docs_shots, "supervisor-referral-close-desktop")
        row.locator(".js-ref-close-form button[type=submit]").click()
        expect(desk.locator("#referrals tbody tr")).to_have_count(0)
        # Said, and the keyboard on the panel's title, not fallen to the top of the page.
        expect(desk.locator("#referrals-status")).to_have_text(EN["sup.ref_closed"])
        expect(desk.locator("#ref-title")).to_be_focused()
        axe.check(desk, "the desk after a referral was closed")
        box = risk.locator(".js-referral-box")
        expect(box.locator(".js-referral-state")).to_contain_text(
            "The seeker left before we could ask."
        )
        volunteer_ends(volunteer_pane(volunteer))
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_a_helpline_card_sent_while_the_lines_load_reaches_the_seeker(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Send is not pressable until the helplines are listed: pressed before (a slow network,
    a loaded server), it used to send nothing, and the seeker got no card."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    held: list[Route] = []
    volunteer.route(re.compile(r".*/api/v1/helplines\?.*"), lambda route: held.append(route))
    try:
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        risk.locator(".js-referral").click()
        send = risk.locator(".js-referral-form button[type=submit]")
        expect(send).to_be_disabled()
        for _ in range(200):  # the request reaches the route while Playwright runs events
            if held:
                break
            volunteer.wait_for_timeout(50)
        assert len(held) == 1
        held[0].continue_()
        send.click()
        expect(seeker.locator("#messages .referral")).to_have_count(1)
        expect(risk.locator(".js-status")).to_have_text(EN["risk.card_sent"])
    finally:
        for ctx in (seeker_ctx, volunteer_ctx):
            ctx.close()
    watch.check()


def test_a_helpline_card_in_a_hindi_chat_names_the_lines_in_hindi(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A card sent into a Hindi chat named the lines and their hours in English ("Tele-MANAS
    (Govt. of India)", "Emergency (India)", "24x7") under a Hindi intro, while the seeker's
    own Helplines dialog named them in Hindi. The numbers are the same in every language."""
    with (
        device(browser, watch, PHONE) as (_, seeker),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker.goto(server.base_url + "/")
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#welcome-title")).to_have_text(HI["welcome.title"])
        seeker.locator("#consent").check()
        seeker.locator("#start-button").click()
        expect(seeker.locator("#queue-card h2")).to_have_text(HI["queue.title"])
        seeker_sends(seeker, "कोई है?")
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#take-next").click()
        expect(volunteer_pane(volunteer).locator(".js-meta")).to_contain_text(HI["lang.hi"])

        # The volunteer sends the pre-ticked lines: Tele-MANAS and 112.
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        risk.locator(".js-referral").click()
        send = risk.locator(".js-referral-form button[type=submit]")
        expect(send).to_be_enabled()
        send.click()

        def check_card() -> None:
            card = seeker.locator("#messages .referral")
            expect(card).to_have_count(1)
            expect(card.locator(".helpline__name")).to_have_text(
                [HI["helplines.telemanas_name"], HI["helplines.emergency_name"]]
            )
            expect(card.locator(".helpline__hours")).to_have_text(["24\u00d77 (दिन-रात)"] * 2)
            expect(card).not_to_contain_text("Tele-MANAS")
            expect(card).not_to_contain_text("Emergency")
            expect(card.locator('a[href="tel:14416"]')).to_have_text("कॉल करें 14416")
            expect(card.locator('a[href="tel:112"]')).to_have_text("कॉल करें 112")

        check_card()
        # A resumed chat shows the card again, still in Hindi.
        seeker.reload()
        check_card()
    watch.check()


# ---- 3. state that survives a reload or a second look ----------------------------------------


def test_supervisor_state_and_alerts_survive_a_reload(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        # Until the server has said whether the account is on call, the switch (off by
        # default) cannot be clicked: a click there could turn off a supervisor who is on.
        held: list[Route] = []
        desk.route("**/api/v1/me", lambda route: held.append(route))
        desk.reload()
        expect(desk.locator("[data-screen=desk]")).to_be_visible()
        wait_until(desk, lambda: bool(held), "the desk asked for the account's state")
        expect(desk.locator("#oncall")).to_be_disabled()
        for route in held:
            route.continue_()
        desk.unroute("**/api/v1/me")
        expect(desk.locator("#oncall")).to_be_enabled()
        expect(desk.locator("#oncall")).to_be_checked()
        expect(desk.locator("#oncall-status")).to_have_text(EN["sup.oncall_on"])

        # A method cue: the banner opens the conversation and clears.
        seeker_sends(seeker, "i have been saving my pills")
        banner = desk.locator("#staff-alert")
        expect(banner).to_be_visible()
        expect(banner.locator("#staff-alert-open")).to_be_visible()
        shot(desk, docs_shots, "supervisor-method-banner-desktop")
        banner.locator("#staff-alert-open").click()
        expect(banner).to_be_hidden()
        expect(desk.locator("#conv-messages .bubble__text").first).to_have_text(
            "hi, is anyone there?"
        )

        # A supervisor joins; the note survives a reload on both sides.
        desk.locator("#conv-join").click()
        joined = seeker.locator("#messages .system-note", has_text="has joined to help")
        expect(joined).to_have_count(1)
        seeker.reload()
        expect(seeker.locator("#chat-header")).to_be_visible()
        expect(joined).to_have_count(1)
        volunteer.reload()
        expect(volunteer.locator("[data-screen=console]")).to_be_visible()
        expect(
            volunteer_pane(volunteer).locator(".system-note", has_text="joined the chat")
        ).to_have_count(1)
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_volunteer_is_offered_only_the_chats_the_account_allows(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("volunteer", "vol2", "volunteer-pass-2", languages="en")
    with device(browser, watch, DESKTOP) as (_, page):
        page.goto(server.base_url + "/volunteer")
        page.locator("#login-username").fill("vol2")
        page.locator("#login-password").fill("volunteer-pass-2")
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("[data-screen=console]")).to_be_visible()
        # The default account allows 2 chats at once: no 3 or 4 to pick and fail.
        expect(page.locator("#capacity option")).to_have_count(2)
        page.locator("#available").check()
        expect(page.locator("#availability-status")).to_contain_text("Available")
        page.locator("#capacity").select_option("2")
        expect(page.locator("#availability-status")).to_contain_text("0 of 2")
        # Until the server has said what the account allows and chose, its controls cannot
        # be used: going available meanwhile would send the page's default (1 chat at once,
        # no auto-assign) as the account's choice, and the answer would then show 2.
        held: list[Route] = []
        page.route("**/api/v1/me", lambda route: held.append(route))
        page.reload()
        expect(page.locator("[data-screen=console]")).to_be_visible()
        wait_until(page, lambda: bool(held), "the console asked for the account")
        controls = [page.locator(f"#{name}") for name in ("available", "capacity", "auto-assign")]
        for control in controls:
            expect(control).to_be_disabled()
        for route in held:
            route.continue_()
        page.unroute("**/api/v1/me")
        for control in controls:
            expect(control).to_be_enabled()
        expect(page.locator("#capacity")).to_have_value("2")
        expect(page.locator("#capacity option")).to_have_count(2)
    watch.check()


SHOWN_IN_ITS_SCROLLER = """(e) => {
    let box = e.parentElement;
    while (box && !(/(auto|scroll)/.test(getComputedStyle(box).overflowY)
                     && box.scrollHeight > box.clientHeight)) box = box.parentElement;
    const r = e.getBoundingClientRect();
    const v = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
    return r.height > 0 && r.top >= v.top - 1 && r.bottom <= Math.min(v.bottom, innerHeight) + 1;
}"""
"""Whether an element is wholly inside the box that scrolls it (and the window)."""


class DroppableSocket:
    """The page's socket to the server, routed so a test can drop it and refuse reconnects
    (``drop``: returns once the page shows it is offline), then let the page reconnect on its
    own (``allow``: returns once the page shows it is back). ``hold``: the sockets opened from
    then on open in the page but reach no server, so nothing answers the page's ``auth``
    (a server slow to answer), until ``release`` closes them and lets the page reconnect.
    ``offline``: the page's notice of a lost connection (the staff pages' pill; the seeker
    page's is ``#conn-notice``)."""

    def __init__(self, page: Page, offline: str = "#conn-state") -> None:
        self.sockets: list[WebSocketRoute] = []
        self.refusing = False
        self.holding = False
        self.held: list[WebSocketRoute] = []
        self.notice = page.locator(offline)
        page.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.refusing:
            ws.close()
            return
        if self.holding:  # not connected to the server: Playwright opens it in the page
            self.held.append(ws)
            return
        ws.connect_to_server()
        self.sockets.append(ws)

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        for ws in self.held:
            ws.close()
        self.held.clear()
        expect(self.notice).to_be_hidden(timeout=20_000)

    def drop(self) -> None:
        self.refusing = True
        self.sockets[-1].close()
        expect(self.notice).to_be_visible()

    def allow(self) -> None:
        self.refusing = False
        expect(self.notice).to_be_hidden(timeout=20_000)


def test_a_cue_raised_while_the_seeker_waited_shows_to_the_volunteer_who_takes_the_chat(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The seeker's waiting words were flagged for the desk, but the volunteer who took the
    chat saw the message unflagged until a reload (the server sent the cue only on a resume).
    A reconnect sends the cues again: one line each, not two."""
    seeker_ctx = browser.new_context(viewport=PHONE)
    volunteer_ctx = browser.new_context(viewport=DESKTOP)
    try:
        seeker = watch.attach(seeker_ctx.new_page())
        volunteer = watch.attach(volunteer_ctx.new_page())
        link = DroppableSocket(volunteer)
        seeker_starts(seeker, server)
        seeker_sends(seeker, "i dont want to live anymore")
        expect(seeker.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#take-next").click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--flagged .cue")).to_be_visible()
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        expect(risk.locator(".js-cues li")).to_have_count(1)
        link.drop()
        link.allow()
        volunteer.wait_for_timeout(500)
        expect(risk.locator(".js-cues li")).to_have_count(1)
        expect(pane.locator(".bubble--flagged")).to_have_count(1)
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_a_whisper_shows_once_to_the_volunteer_and_the_desk_after_a_reconnect(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A resume sends the conversation's whispers again, and the console (and the desk) showed
    each one again after every reconnect."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    links: dict[str, DroppableSocket] = {}
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser,
        server,
        watch,
        before_load=lambda _, v: links.setdefault("volunteer", DroppableSocket(v)),
    )
    desk_ctx, desk = desk_page(browser, watch)
    try:
        desk_link = DroppableSocket(desk)
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        escalate(risk, "I'd like support with this chat.")
        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-messages .bubble__text").first).to_have_text(
            "hi, is anyone there?"
        )
        desk.locator("#whisper-text").fill("Ask about safety directly.")
        desk.locator("#whisper-form button[type=submit]").click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".whisper")).to_have_count(1)
        links["volunteer"].drop()
        links["volunteer"].allow()
        volunteer.wait_for_timeout(500)
        expect(pane.locator(".whisper")).to_have_count(1)
        # The desk that wrote it, reconnecting with the conversation open: one too.
        expect(desk.locator("#conv-messages .whisper")).to_have_count(1)
        desk_link.drop()
        desk_link.allow()
        desk.wait_for_timeout(500)
        expect(desk.locator("#conv-messages .whisper")).to_have_count(1)
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_take_next_while_the_socket_is_down_says_so(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A click on "Take next chat" that cannot go out says why, instead of doing nothing."""
    with device(browser, watch, DESKTOP) as (_, page):
        link = DroppableSocket(page)
        volunteer_logs_in(page, server)
        link.drop()
        page.locator("#take-next").click()
        expect(page.locator("#take-status")).to_have_text(EN["conn.not_sent"])
        # Back online (the client reconnects on its own), the stale line goes, and the same
        # button is answered: a chat opens, or the line says nobody is waiting.
        link.allow()
        expect(page.locator("#take-status")).to_have_text("")
        page.locator("#take-next").click()
        answered = volunteer_pane(page).or_(
            page.locator("#take-status", has_text=EN["vol.err_queue_empty"])
        )
        expect(answered.first).to_be_visible()
    watch.check()


def test_an_acknowledge_while_the_desk_reconnects_says_so_and_keeps_the_alert(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """An "Acknowledge" that cannot go out says so on the card and leaves the page alert up;
    once the desk is back, the same button works."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        link = DroppableSocket(desk)
        supervisor_logs_in(desk, server)
        raise_concern(
            volunteer.locator("#risk-area .risk-panel:not([hidden])"), "high", "a plan tonight"
        )
        escalation = desk.locator("#escalations .escalation").first
        expect(escalation.locator(".js-ack")).to_be_visible()
        expect(desk.locator("#page-alert")).to_be_visible()
        link.drop()
        escalation.locator(".js-ack").click()
        expect(escalation.locator(".js-esc-status")).to_have_text(EN["conn.not_sent"])
        expect(escalation.locator(".js-ack")).to_be_visible()
        expect(desk.locator("#page-alert")).to_be_visible()
        link.allow()
        expect(escalation.locator(".js-esc-status")).to_have_text("")  # stale: gone
        supervisor_acks(desk, escalation)
        expect(escalation.locator(".js-esc-status")).to_be_hidden()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_a_risk_answer_or_escalation_while_the_console_reconnects_is_not_lost_in_silence(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The suicide-risk checklist and "Escalate now" clicked while the console's socket is down
    say they were not sent and leave the question and the form as they were (nothing went);
    once the console is back, the same clicks go: the next question comes, a supervisor is
    paged."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    links: dict[str, DroppableSocket] = {}
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser,
        server,
        watch,
        before_load=lambda _, page: links.setdefault("volunteer", DroppableSocket(page)),
    )
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        status = risk.locator(".js-status")
        options = risk.locator(".js-options")
        risk.locator(".js-start").click()
        expect(options.locator("button").first).to_be_enabled()
        item = options.get_attribute("data-item") or ""
        assert item
        answers = options.locator("button").count()

        links["volunteer"].drop()
        options.locator("button").first.click()
        expect(status).to_have_text(EN["conn.not_sent"])
        # The same question, every answer still to choose: nothing pretends it was recorded.
        expect(options).to_have_attribute("data-item", item)
        expect(options.locator("button:enabled")).to_have_count(answers)
        expect(options.locator('button[aria-pressed="true"]')).to_have_count(0)

        risk.locator(".js-escalate").click()
        risk.locator(".js-escalate-reason").fill("says they have pills saved up")
        risk.locator(".js-escalate-form button[type=submit]").click()
        expect(status).to_have_text(EN["conn.not_sent"])
        # The panel scrolls: the line under "Escalate now" is brought into view, not left below.
        wait_until(volunteer, lambda: status.evaluate(SHOWN_IN_ITS_SCROLLER), "the line is in view")
        expect(risk.locator(".js-escalate-form")).to_be_visible()
        expect(risk.locator(".js-escalate-reason")).to_have_value("says they have pills saved up")
        axe.check(volunteer, "volunteer risk panel, not sent")

        links["volunteer"].allow()
        risk.locator(".js-escalate-form button[type=submit]").click()
        expect(status).to_have_text(EN["risk.escalate_sent"])
        expect(risk.locator(".js-escalate-form")).to_be_hidden()
        expect(desk.locator("#escalations .escalation")).to_have_count(1)
        options.locator("button").first.click()
        expect(options).not_to_have_attribute("data-item", item)
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


ON_CALL = """async () => {
    const token = JSON.parse(sessionStorage.getItem("peerline.staff")).access_token;
    const answer = await fetch("/api/v1/me", {headers: {Authorization: `Bearer ${token}`}});
    return (await answer.json()).on_call;
}"""
"""Run in a staff page: whether the server has the signed-in account on call (GET /api/v1/me)."""


def toggle_on_call(desk: Page, *, to: bool) -> None:
    """Click "I'm on call" on a connected desk; the switch, its line and the server agree."""
    desk.locator("#oncall").click()
    expect(desk.locator("#oncall")).to_be_checked(checked=to)
    expect(desk.locator("#oncall-status")).to_have_text(
        EN["sup.oncall_on" if to else "sup.oncall_off"]
    )
    wait_until(desk, lambda: desk.evaluate(ON_CALL) is to, f"the server has on call {to}")


def test_the_desk_says_connecting_until_its_socket_answers_and_a_toggle_meanwhile_is_not_sent(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """From sign-in until the socket's first answer the desk's pill says "Connecting…" (it used
    to stay hidden on the first connection, so a toggle that sprang back said "Not sent" with
    nothing to say why); the on-call switch toggled meanwhile springs back, and works once the
    desk is connected."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        link = DroppableSocket(desk)
        link.hold()
        supervisor_signs_in(desk, server)
        expect(desk.locator("#conn-state")).to_have_text(EN["conn.connecting"])
        axe.check(desk, "supervisor desk while connecting")
        switch, status = desk.locator("#oncall"), desk.locator("#oncall-status")
        expect(status).to_have_text(EN["sup.oncall_off"])  # as the server has it
        switch.click()
        expect(status).to_have_text(EN["conn.not_sent"])
        expect(switch).not_to_be_checked()
        assert desk.evaluate(ON_CALL) is False

        link.release()
        expect(status).to_have_text("")  # the stale line goes with the pill
        toggle_on_call(desk, to=True)
    finally:
        desk_ctx.close()
    watch.check()


def test_on_call_switched_while_the_desk_reconnects_goes_back_and_says_not_sent(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The "I'm on call" switch toggled while the desk's socket is down springs back (the
    server still has the supervisor on call, and pages go by that) and says it was not sent,
    in English and in Hindi; once the desk is back, the same toggle goes."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        link = DroppableSocket(desk)
        supervisor_logs_in(desk, server)
        switch, status = desk.locator("#oncall"), desk.locator("#oncall-status")
        assert desk.evaluate(ON_CALL) is True

        link.drop()
        switch.click()
        expect(status).to_have_text(EN["conn.not_sent"])
        expect(switch).to_be_checked()
        assert desk.evaluate(ON_CALL) is True
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(status).to_have_text(HI["conn.not_sent"])
        desk.locator('.lang-switch__option[data-lang="en"]').click()
        expect(status).to_have_text(EN["conn.not_sent"])

        link.allow()
        toggle_on_call(desk, to=False)
    finally:
        desk_ctx.close()
    watch.check()


def test_a_seeker_ending_the_chat_while_reconnecting_is_told_it_was_not_sent(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """An "End chat" confirmed while the seeker's socket is down says it was not sent and the chat
    stays open on both sides; the line goes when the page is back, and ending then works."""
    links: dict[str, DroppableSocket] = {}
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser,
        server,
        watch,
        before_load=lambda page, _: links.setdefault(
            "seeker", DroppableSocket(page, "#conn-notice")
        ),
    )
    try:
        links["seeker"].drop()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("#not-sent")).to_have_text(EN["conn.not_sent"])
        expect(seeker.locator("#composer-text")).to_be_visible()
        axe.check(seeker, "seeker chat, end not sent")
        links["seeker"].allow()
        expect(seeker.locator("#not-sent")).to_be_hidden()
        expect(volunteer_pane(volunteer).locator(".js-ended")).to_be_hidden()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
        expect(volunteer_pane(volunteer).locator(".js-ended")).to_be_visible()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx):
            ctx.close()
    watch.check()


def test_quick_exit_while_the_socket_is_down_still_leaves_and_ends_the_session(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Quick exit never waits for the socket: with it down, the page is still replaced at once
    and the token revoked (the beacon tells the server)."""
    with device(browser, watch, PHONE) as (seeker_ctx, seeker):
        seeker_ctx.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        link = DroppableSocket(seeker, "#conn-notice")
        seeker_starts(seeker, server)
        token = token_of(seeker)
        link.drop()
        seeker.locator("#quick-exit").click()
        seeker.wait_for_url(re.compile(r"^https://www\.google\.com/"))
        wait_until(seeker, lambda: me_status(server, token) == 401, "the token is revoked")
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_a_language_chosen_mid_chat_is_kept_and_the_volunteer_told(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-meta")).to_contain_text(HI["lang.hi"])
        switched = pane.locator(".system-note", has_text="switched their page")
        expect(switched).to_have_count(1)
        shot(volunteer, docs_shots, "volunteer-seeker-switched-language-desktop")
        # The chat's notes follow the console's own language too (they stayed as written).
        before, after = (re.escape(part) for part in EN["vol.started"].split("{name}"))
        started = pane.locator('.system-note:has([data-i18n="vol.started"])')
        name = re.fullmatch(f"{before}(.+){after}", started.inner_text()).group(1)  # type: ignore[union-attr]
        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(started).to_have_text(HI["vol.started"].replace("{name}", name))
        expect(pane.locator('.system-note:has([data-i18n="vol.language_changed"])')).to_have_text(
            HI["vol.language_changed"].replace("{name}", name).replace("{language}", HI["lang.hi"])
        )
        volunteer.locator('.lang-switch__option[data-lang="en"]').click()
        expect(switched).to_have_count(1)
        seeker.reload()
        expect(seeker.locator("#chat-header")).to_be_visible()
        expect(seeker.locator('.lang-switch__option[data-lang="hi"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        assert seeker.evaluate("document.documentElement.lang") == "hi"
        volunteer.reload()
        expect(volunteer_pane(volunteer).locator(".js-meta")).to_contain_text(HI["lang.hi"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


# ---- 5. checklist and forms that forgive mistakes --------------------------------------------


def test_checklist_goes_back_to_change_an_answer_and_numbers_honestly(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        progress = risk.locator(".js-progress")
        options = risk.locator(".js-options")
        risk.locator(".js-start").click()
        expect(progress).to_have_text("Question 1 of about 4")
        options.locator('button[data-value="yes"]').click()
        expect(options).to_have_attribute("data-item", "asq2")
        expect(progress).to_have_text(re.compile(r"^Question 2 of about \d+$"))

        # A wrong tap is not final: Back shows the answer given, and it can be changed.
        risk.locator(".js-back").click()
        expect(options).to_have_attribute("data-item", "asq1")
        expect(options.locator('button[data-value="yes"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        shot(volunteer, docs_shots, "volunteer-checklist-back-desktop")
        options.locator('button[data-value="no"]').click()
        expect(options).to_have_attribute("data-item", "asq2")
        expect(progress).to_have_text("Question 2 of about 4")
        for number in (2, 3, 4):
            expect(progress).to_have_text(f"Question {number} of about 4")
            options.locator('button[data-value="no"]').click()
        expect(risk.locator(".js-submit")).to_be_visible()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_after_feedback_focus_stays_on_the_thanks(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
        # The return-code card fills in after a request; the form a thumb may already be
        # on must not move when it does (it did, and a tap on a mood missed).
        form = seeker.locator("#feedback-form")
        before = form.bounding_box()
        expect(seeker.locator("#ended-code")).to_be_visible()
        assert form.bounding_box() == before
        seeker.locator('input[name="mood_end"][value="4"]').check()
        seeker.locator("#feedback-form button[type=submit]").click()
        expect(seeker.locator("#feedback-thanks")).to_be_focused()
        seeker.keyboard.press("Tab")  # next: the offer of a return code, then a new chat
        expect(seeker.locator("#ended-code button")).to_be_focused()
        seeker.keyboard.press("Tab")
        expect(seeker.locator("#new-chat")).to_be_focused()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


# ---- 6. phone, zoom and screen readers ---------------------------------------------------------


def test_every_screen_has_no_serious_accessibility_violations(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """axe-core (npm, served from the page's origin) on every screen of the three people."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    problems: list[str] = []

    def audit(page: Page, where: str) -> None:
        try:
            axe.check(page, where)
        except AssertionError as exc:
            problems.append(str(exc))

    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/")
        expect(page.locator("#welcome-title")).to_be_visible()
        audit(page, "seeker welcome")
        page.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(page.locator("#welcome-title")).to_have_text(HI["welcome.title"])
        audit(page, "seeker welcome (Hindi)")
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-card")).to_be_visible()
        audit(page, "seeker waiting (Hindi)")
        page.locator("#leave-queue").click()
        expect(page.locator("#leave-dialog")).to_be_visible()
        audit(page, "seeker asked before leaving the queue (Hindi)")
        page.locator("#leave-confirm").click()
        expect(page.locator("[data-screen=ended]")).to_be_visible()
    with device(browser, watch, DESKTOP) as (_, page):
        page.goto(server.base_url + "/volunteer")
        expect(page.locator("#login-username")).to_be_visible()
        audit(page, "volunteer sign-in")
        page.goto(server.base_url + "/supervisor")
        expect(page.locator("#login-username")).to_be_visible()
        audit(page, "supervisor sign-in")

    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        run_checklist(risk, HIGH_RISK_ANSWERS)
        audit(volunteer, "volunteer checklist")
        risk.locator(".js-submit").click()
        expect(seeker.locator("#messages .referral")).to_have_count(1)
        audit(seeker, "seeker chat with a helpline card")
        seeker.locator("#chat-header .js-open-helplines").click()
        audit(seeker, "seeker helplines dialog")
        seeker.locator("#helplines-dialog .js-close-dialog").click()
        seeker.locator("#end-chat").click()
        audit(seeker, "seeker end dialog")
        seeker.locator("#end-cancel").click()
        audit(volunteer, "volunteer console at high risk")
        escalation = desk.locator("#escalations .escalation").first
        expect(escalation).to_be_visible()
        audit(desk, "supervisor desk paged")
        escalation.locator(".js-ack").click()
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-messages .bubble__text").first).to_be_visible()
        audit(desk, "supervisor conversation")
        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("safe_plan_agreed")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        risk.locator(".js-referral-box button").first.click()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("[data-screen=ended]")).to_be_visible()
        audit(seeker, "seeker ended")
        audit(volunteer, "volunteer ended chat")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    assert not problems, "\n".join(problems)
    watch.check()


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the page"
    return box


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _assert_phone_layout(page: Page, width: int, height: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    exit_box = _box(page, "#quick-exit")
    assert exit_box["x"] >= 0 and exit_box["x"] + exit_box["width"] <= width
    assert exit_box["y"] >= 0 and exit_box["y"] + exit_box["height"] <= height
    assert not _overlap(exit_box, _box(page, ".lang-switch")), "Quick exit covers the language"


@pytest.mark.parametrize(
    ("width", "height", "text_scale"), [(360, 740, 2), (320, 640, 1), (320, 640, 2)]
)
def test_phone_at_200_percent_text_and_320_px_keeps_quick_exit_and_the_chat_usable(
    browser: Browser,
    server: LiveServer,
    watch: Watch,
    docs_shots: Path,
    width: int,
    height: int,
    text_scale: int,
) -> None:
    with device(browser, watch, {"width": width, "height": height}) as (_, page):
        page.goto(server.base_url + "/")
        expect(page.locator("#welcome-title")).to_have_text(EN["welcome.title"])
        # Text zoom as a phone's font-size setting does it: the root size grows.
        page.evaluate(f"document.documentElement.style.fontSize = '{text_scale * 100}%'")
        page.wait_for_timeout(200)
        _assert_phone_layout(page, width, height)
        name = f"seeker-{width}px-text-{text_scale * 100}"
        shot(page, docs_shots, f"{name}-welcome")
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-card")).to_be_visible()
        seeker_sends(page, "hello, is this working?")
        expect(page.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )
        _assert_phone_layout(page, width, height)
        # The message area keeps real room, not a sliver, however big the text: two short
        # messages' worth (7.5 lines of text, 120 px at normal size).
        assert _box(page, "#messages")["height"] >= 120 * text_scale
        composer = _box(page, "#composer-text")
        assert composer["y"] + composer["height"] <= height
        shot(page, docs_shots, f"{name}-chat")
        # The box is wide enough for its own prompt ("Write what's on your mind…") without
        # cutting it: large text wraps Send below instead of squeezing the box to a word a line.
        page.locator("#composer-text").fill(EN["chat.placeholder"])
        assert page.locator("#composer-text").evaluate("(e) => e.scrollHeight <= e.offsetHeight"), (
            "the prompt does not fit the message box"
        )
    watch.check()


def test_first_phone_screen_has_the_emergency_call_and_the_start(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/")
        expect(page.locator("#welcome-title")).to_be_visible()
        for selector in ('.welcome-bar a[href="tel:112"]', "#welcome-bar-start"):
            box = _box(page, selector)
            assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], selector
            expect(page.locator(selector)).to_be_visible()
        shot(page, docs_shots, "seeker-welcome-first-screen-360x740")
        page.locator("#welcome-bar-start").click()
        expect(page.locator("#consent")).to_be_focused()
        expect(page.locator("#start-button")).to_be_in_viewport()
        # The bar belongs to the welcome only.
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-card")).to_be_visible()
        expect(page.locator(".welcome-bar")).to_be_hidden()
    watch.check()


# Whether the queue card shows the given text of its "no volunteer online" notice whole: inside
# the card and above its actions (they stay at the card's foot, over the text it scrolls).
NUMBER_SHOWN_IN_CARD = """(number) => {
    const text = document.getElementById('queue-none').firstChild;
    const at = text.textContent.indexOf(number);
    if (at < 0) return false;
    const range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + number.length);
    const shown = range.getBoundingClientRect();
    const card = document.getElementById('queue-card').getBoundingClientRect();
    const actions = document.querySelector('#queue-card .queue-card__actions');
    const foot = actions.getBoundingClientRect().top;
    return shown.height > 0 && shown.top >= card.top && shown.bottom <= foot;
}"""


def _on_top(page: Page, selector: str) -> bool:
    box = _box(page, selector)
    return bool(
        page.evaluate(
            "([x, y, s]) => document.elementFromPoint(x, y)?.closest(s) !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, selector],
        )
    )


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_phone_queue_keeps_its_position_helplines_and_leave_on_screen(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path, lang: str
) -> None:
    """360x740, the way a thumb does it: the welcome bar's Start scrolls down to the form.
    The waiting screen then showed its bottom (the page had scrolled 132 px under a body that
    cannot be scrolled back): the language switch, the queue's title and position were gone,
    and Helplines and Leave were hidden inside the queue card's own scroll. "No volunteer
    online, call Tele-MANAS" was cut mid-sentence by the card's scroll (session 21); the card
    no longer scrolls on its own, and while no volunteer is online the optional start question
    waits (tests/web/test_layout.py holds a 320x640 phone and 200 % text)."""
    strings = EN if lang == "en" else HI
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/")
        if lang == "hi":
            page.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(page.locator("#welcome-title")).to_have_text(strings["welcome.title"])
        page.locator("#welcome-bar-start").click()
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-none")).to_be_visible()
        expect(page.locator("#mood-start")).to_be_hidden()
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") == 0, "the page scrolled where it cannot go back"
        for selector in (
            ".lang-switch",
            "#queue-card .queue-card__title",
            "#queue-position",
            "#queue-none",
            "#queue-card .js-open-helplines",
            "#leave-queue",
            "#composer-text",
        ):
            expect(page.locator(selector)).to_be_in_viewport(ratio=1)
        for selector in ("#queue-card .js-open-helplines", "#leave-queue"):
            assert _on_top(page, selector), f"{selector} is covered"
        # The whole card is read without scrolling it.
        card = page.evaluate(
            "() => { const c = document.getElementById('queue-card');"
            " return [c.scrollHeight, c.clientHeight]; }"
        )
        assert card[0] <= card[1] + 1, f"the queue card scrolls its own text: {card}"
        # The empty box shows its whole prompt (it was squeezed to one line of two: "Write
        # what's on your").
        assert page.locator("#composer-text").evaluate("(e) => e.scrollHeight <= e.offsetHeight"), (
            "the message box cuts its own prompt"
        )
        # All of it at once: the chat screen does not scroll.
        assert page.locator("[data-screen=chat]").evaluate(
            "(e) => e.scrollHeight <= e.clientHeight + 1"
        ), "the waiting screen scrolls on a 360x740 phone"
        shot(page, docs_shots, f"seeker-queue-{lang}-360x740")
        # What the seeker writes while waiting shows above the composer, not under it; writing
        # closes the start question, unanswered (so it does not come back when a volunteer is
        # online), and "no volunteer online, call Tele-MANAS" stays whole (it was squeezed into
        # a 150 px card under the question).
        seeker_sends(page, "is anyone there")
        expect(page.locator(".bubble--mine").last).to_be_in_viewport(ratio=1)
        expect(page.locator("#mood-start")).to_be_hidden()
        expect(page.locator("#queue-none")).to_be_in_viewport(ratio=1)
        card = page.evaluate(
            "() => { const c = document.getElementById('queue-card');"
            " return [c.scrollHeight, c.clientHeight]; }"
        )
        assert card[0] <= card[1] + 1, f"after a message the queue card scrolls its text: {card}"
        shot(page, docs_shots, f"seeker-queue-{lang}-360x740-written")
        # A smaller phone: the helpline's number shows (the notice said "no volunteer online"
        # first and Tele-MANAS last, under the card's edge, when the card scrolled its text).
        page.set_viewport_size({"width": 320, "height": 640})
        page.wait_for_timeout(200)
        assert page.evaluate(NUMBER_SHOWN_IN_CARD, "14416"), "Tele-MANAS's number is cut off"
        # ... and all of it at once: with the messages at 150 px the screen scrolled the card's
        # title away.
        assert page.locator("[data-screen=chat]").evaluate(
            "(e) => e.scrollHeight <= e.clientHeight + 1"
        ), "the waiting screen scrolls on a 320x640 phone once the seeker has written"
        shot(page, docs_shots, f"seeker-queue-{lang}-320x640-written")
        page.locator("#queue-card .js-open-helplines").click()
        expect(page.locator("#helplines-dialog")).to_be_visible()
    watch.check()


def test_welcome_waiting_and_desk_have_no_axe_violations_of_any_impact(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Held above the suite's floor (serious and critical): the seeker's emergency box was an
    <aside> inside <main>, the phone's 112 and Start bar sat outside every landmark, and the
    desk's scrolling table had its panel's name (two landmarks, one name)."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/")
        expect(page.locator("#welcome-title")).to_have_text(EN["welcome.title"])
        expect(page.locator(".welcome-bar")).to_be_visible()
        axe.check(page, "seeker welcome (phone)", axe.EVERY_IMPACT)
        page.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(page.locator("#welcome-title")).to_have_text(HI["welcome.title"])
        axe.check(page, "seeker welcome (phone, Hindi)", axe.EVERY_IMPACT)
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-card")).to_be_visible()
        expect(page.locator(".welcome-bar")).to_be_hidden()
        axe.check(page, "seeker waiting (phone, Hindi)", axe.EVERY_IMPACT)
    with device(browser, watch, DESKTOP) as (_, page):
        page.goto(server.base_url + "/")
        expect(page.locator("#welcome-title")).to_be_visible()
        axe.check(page, "seeker welcome (desktop)", axe.EVERY_IMPACT)
        supervisor_logs_in(page, server)
        expect(page.locator("#team-panel")).to_be_visible()
        axe.check(page, "supervisor desk", axe.EVERY_IMPACT)
    watch.check()


def test_quick_exit_from_a_chat_at_risk_alerts_the_supervisor(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        seeker_ctx.route(re.compile(r"^https://www\.google\.com/.*"), stub_quick_exit_page)
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "low", "They sound very low tonight.")
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.low"])

        seeker.locator("#quick-exit").click()
        seeker.wait_for_url(re.compile(r"^https://www\.google\.com/"))

        banner = desk.locator("#staff-alert")
        expect(banner).to_contain_text(EN["alert.quick_exit"])
        expect(banner.locator("#staff-alert-open")).to_be_visible()
        shot(desk, docs_shots, "supervisor-quick-exit-alert-desktop")
        expect(volunteer_pane(volunteer).locator(".js-ended")).to_contain_text("Quick exit")
        # The volunteer is told in the chat, not by a second banner.
        expect(volunteer.locator("#staff-alert")).to_be_hidden()
        # The chat has ended: Join says why it cannot (it once said only "Join didn't work.").
        # Pressed while the transcript still loads: its end wiped what Join's refusal said.
        held: list[Route] = []
        transcript = re.compile(r"/api/v1/conversations/[^/]+/messages\?")
        desk.route(transcript, lambda route: held.append(route))
        banner.locator("#staff-alert-open").click()
        desk.locator("#conv-join").click()
        refused = EN["sup.action_not_active"].replace("{action}", EN["sup.join"])
        expect(desk.locator("#conv-status")).to_have_text(refused)
        for route in held:
            route.continue_()
        desk.unroute(transcript)
        expect(desk.locator("#conv-messages .bubble")).not_to_have_count(0)
        expect(desk.locator("#conv-status")).to_have_text(refused)
        expect(desk.locator("#conv-join")).to_be_focused()  # not moved by the load either
        expect(desk.locator("#sup-composer")).to_be_hidden()
        # ... and the refused join is not kept as this chat's mode for a reload.
        kept = desk.evaluate(
            "() => Object.keys(sessionStorage).filter((k) => k.startsWith('peerline.desk.modes.'))"
            ".map((k) => sessionStorage.getItem(k)).join('')"
        )
        assert "joined" not in kept, kept
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_leave_queue_tapped_before_the_join_is_answered_still_leaves(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """On a slow network the queue screen shows before the server has answered the join;
    "Leave queue" tapped then did nothing at all (seen under load in the full suite)."""
    sockets: dict[str, WebSocketRoute] = {}
    held: list[str | bytes] = []

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        sockets["page"] = ws

        def from_server(message: str | bytes) -> None:
            if "queue.status" in str(message) and "released" not in sockets:
                held.append(message)  # the join's answer, held back until after the tap
            else:
                ws.send(message)

        upstream.on_message(from_server)
        ws.on_message(upstream.send)

    with device(browser, watch, PHONE) as (_, page):
        page.route_web_socket(re.compile(r"/ws$"), route)
        # Not seeker_starts: it waits for the queue position, which is held back here.
        page.goto(server.base_url + "/")
        page.locator("#consent").check()
        page.locator("#start-button").click()
        expect(page.locator("#queue-card")).to_be_visible()
        for _ in range(150):
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the server never answered the join"
        page.locator("#leave-queue").click()
        page.locator("#leave-confirm").click()
        sockets["released"] = sockets["page"]
        for message in held:
            sockets["page"].send(message)
        expect(page.locator("[data-screen=ended]")).to_be_visible()

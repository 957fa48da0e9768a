"""Issue #18 in the browser: the seeker's feedback (stored anonymously, seen by supervisors
only as groups). Screenshots in docs/screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect
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
    supervisor_acks,
    supervisor_logs_in,
    volunteer_ends,
    volunteer_logs_in,
    volunteer_pane,
)
from test_method_cue_desk import _routed_desk

from app.outcomes import policy

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import LiveServer

pytestmark = pytest.mark.browser


def volunteer_starts_a_plan(volunteer: Page) -> Locator:
    """The volunteer raises a low concern (a plan follows a level) and starts the safety
    plan from the risk panel, which is returned."""
    risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
    raise_concern(risk, "low", "low mood")
    risk.locator(".js-plan").click()
    return risk


ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"


def _db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(server.directory / "t.db", timeout=10)


def _four_more_chats_two_weeks_ago(server: LiveServer) -> None:
    """Set-up: the real chat and four copies of it ended two weeks ago, each answered, so the
    desk has one released cell of five to show."""
    then = datetime.now(UTC) - timedelta(days=14)
    stamp = then.replace(tzinfo=None).isoformat(sep=" ")
    with _db(server) as db:
        (cid,) = db.execute("SELECT id FROM conversations WHERE status = 'ended'").fetchone()
        db.execute("UPDATE conversations SET ended_at = ? WHERE id = ?", (stamp, cid))
        db.execute("UPDATE outcomes SET week_start = ?", (policy.week_start(then).isoformat(),))
        columns = [row[1] for row in db.execute("PRAGMA table_info(conversations)")]
        others = ", ".join(c for c in columns if c != "id")
        for mood in (1, 3, 3, 2):
            db.execute(
                f"INSERT INTO conversations (id, {others}) SELECT ?, {others} "
                "FROM conversations WHERE id = ?",
                (uuid.uuid4().hex, cid),
            )
            db.execute(
                "INSERT INTO outcomes (id, week_start, language, risk_bucket, mood_start, "
                "mood_end, heard, come_back, comment) VALUES (?, ?, 'en', 'none', ?, ?, "
                "'yes', 'unsure', NULL)",
                (uuid.uuid4().hex, policy.week_start(then).isoformat(), mood, mood + 1),
            )


def test_feedback_is_asked_at_the_start_and_the_end_and_desks_see_only_groups(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    # Nothing written while waiting: the start question is still open when the chat begins.
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser, server, watch, first_message=None
    )
    try:
        card = seeker.locator("#mood-start")
        expect(card).to_be_visible()
        expect(card.locator("#mood-start-question")).to_have_text(EN["mood.start_question"])
        expect(card.get_by_role("group")).to_have_accessible_name(EN["mood.start_question"])
        axe.check(seeker, "seeker chat with the start mood")
        shot(seeker, docs_shots, "feedback-start-mood-phone")
        card.locator('label:has(input[value="2"])').click()
        expect(card).to_be_hidden()
        # A reload keeps the answer in this tab (and asks nothing again).
        seeker.reload()
        expect(seeker.locator("#chat-header")).to_be_visible()
        expect(card).to_be_hidden()

        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        form = seeker.locator("#feedback-form")
        expect(form).to_be_visible()
        expect(seeker.locator("#feedback-comment-warning")).to_have_text(
            EN["feedback.comment_warning"]
        )
        form.locator('label:has(input[name="mood_end"][value="4"])').click()
        form.locator('input[name="heard"][value="yes"]').check()
        form.locator('input[name="come_back"][value="unsure"]').check()
        seeker.locator("#feedback-comment").fill("It helped to say it out loud.")
        axe.check(seeker, "seeker feedback form")
        shot(seeker, docs_shots, "feedback-end-phone", full_page=True)
        seeker.locator("#feedback-form button[type=submit]").click()
        expect(seeker.locator("#feedback-thanks")).to_be_focused()
        expect(seeker.locator("#feedback-worse")).to_be_hidden()
        expect(seeker.locator("#feedback-low")).to_be_hidden()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()

    with _db(server) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM outcomes")]
        (cid,) = db.execute("SELECT id FROM conversations WHERE status = 'ended'").fetchone()
    assert len(rows) == 1
    row = rows[0]
    assert (row["mood_start"], row["mood_end"], row["heard"], row["come_back"]) == (
        2,
        4,
        "yes",
        "unsure",
    )
    assert row["comment"] == "It helped to say it out loud."
    assert cid not in {str(v) for v in row.values()}

    _four_more_chats_two_weeks_ago(server)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        with device(browser, watch, viewport) as (_, desk):
            supervisor_logs_in(desk, server)
            panel = desk.locator("#outcomes-panel")
            expect(panel).to_be_visible()
            overall = panel.locator('tr[data-group="overall"]')
            expect(overall.locator("td").first).to_have_text("5")
            expect(overall.locator("td").nth(1)).to_have_text("5 (100%)")
            expect(overall.locator("td").nth(3)).to_contain_text("+1")
            axe.check(desk, f"supervisor desk outcomes {name}")
            panel.scroll_into_view_if_needed()
            shot(desk, docs_shots, f"feedback-desk-{name}")
    watch.check()


@pytest.mark.parametrize(
    ("lang", "mood_start", "follow_up"), [("en", "4", "worse"), ("hi", None, "low")]
)
def test_a_screen_reader_hears_the_follow_up_after_feeling_worse_or_low(
    browser: Browser,
    server: LiveServer,
    watch: Watch,
    lang: str,
    mood_start: str | None,
    follow_up: str,
) -> None:
    """A seeker who answers "Very bad" at the end is told not to stay alone with it, with
    Tele-MANAS; the focus goes to the thanks, and a screen reader heard only "Thank you. This
    helps us do better.": the follow-up was neither in it nor a live region. It is now the
    focused thanks' description (feeling worse than at the start, and feeling low)."""
    strings = EN if lang == "en" else HI
    seeker_ctx, seeker, volunteer_ctx, _ = chat_in_progress(
        browser, server, watch, first_message=None if mood_start else "hi"
    )
    try:
        if mood_start:
            seeker.locator(f'#mood-start label:has(input[value="{mood_start}"])').click()
            expect(seeker.locator("#mood-start")).to_be_hidden()
        if lang == "hi":
            seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        form = seeker.locator("#feedback-form")
        form.locator('label:has(input[name="mood_end"][value="1"])').click()
        form.locator("button[type=submit]").click()
        thanks = seeker.locator("#feedback-thanks")
        expect(thanks).to_be_focused()
        expect(seeker.locator(f"#feedback-{follow_up}")).to_be_visible()
        expect(thanks).to_have_accessible_description(strings[f"feedback.{follow_up}_followup"])
        axe.check(seeker, f"feedback sent, feeling low ({lang})")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_the_feedback_questions_in_hindi(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    # The start question is asked while waiting once a volunteer is online (while none is,
    # the queue card's helpline notice has the screen).
    with (
        device(browser, watch, DESKTOP) as (_, volunteer),
        device(browser, watch, PHONE) as (_, page),
    ):
        volunteer_logs_in(volunteer, server)
        page.goto(server.base_url + "/")
        page.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(page.locator("#welcome-title")).to_have_text(HI["welcome.title"])
        page.locator("#consent").check()
        page.locator("#start-button").click()
        card = page.locator("#mood-start")
        expect(card.locator("#mood-start-question")).to_have_text(HI["mood.start_question"])
        expect(card.locator(".mood__word").first).to_have_text(HI["mood.1"])
        shot(page, docs_shots, "feedback-start-mood-hi-phone")
        page.locator("#mood-start-skip").click()
        expect(card).to_be_hidden()
        expect(page.locator("#composer-text")).to_be_focused()
    watch.check()


def test_a_debrief_after_a_heavy_chat_reaches_the_desk_and_activity_is_counted(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    sends: list[Callable[[dict], None]] = []
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(
        browser, server, watch, before_load=lambda _, v: sends.append(_routed_desk(v))
    )
    desk_ctx = browser.new_context(viewport=DESKTOP)
    desk = watch.attach(desk_ctx.new_page())
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        raise_concern(risk, "high", "talks of a plan for tonight")
        escalation = desk.locator("#escalations .escalation").first
        supervisor_acks(desk, escalation)

        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(volunteer.locator("#cooldown")).to_be_visible()
        volunteer.locator("#debrief-open").click()
        dialog = volunteer.locator("#debrief-dialog")
        expect(dialog).to_be_visible()
        volunteer.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(volunteer.locator("#debrief-open")).to_be_focused()
        volunteer.keyboard.press("Enter")
        expect(dialog).to_be_visible()
        # A modal dialog hides the page from screen readers: an alert that comes meanwhile is
        # said from the alert region, which the dialog holds while it is open.
        sends[0]({"type": "staff.alert", "code": "no_supervisor_on_call", "message": "-"})
        expect(dialog.locator("#sr-alert")).to_have_text(EN["alert.no_supervisor_on_call"])
        dialog.locator("button[type=submit]").click()
        expect(volunteer.locator("#debrief-error")).to_have_text(EN["debrief.choose_feeling"])
        dialog.locator('input[name="feeling"][value="unsettled"]').check()
        dialog.locator('input[name="wants"][value="talk"]').check()
        volunteer.locator("#debrief-note").fill("I keep thinking about how quiet it went.")
        # Twice not received: each failure is said again (an alert line set to the same text
        # is not re-read; emptied while the debrief goes, it is).
        volunteer.route("**/api/v1/debriefs", lambda route: route.fulfill(status=503, body="{}"))
        volunteer.evaluate(
            """() => { window.__said = [];
              new MutationObserver(() => window.__said.push(
                document.getElementById("debrief-error").textContent))
                .observe(document.getElementById("debrief-error"), {childList: true}); }"""
        )
        failed = EN["debrief.failed"]
        for tries in (1, 2):
            dialog.locator("button[type=submit]").press("Enter")
            volunteer.wait_for_function(f"window.__said.length >= {tries}")
            expect(volunteer.locator("#debrief-error")).to_have_text(failed)
            expect(dialog.locator("button[type=submit]")).to_be_focused()
        assert volunteer.evaluate("window.__said") == [failed, "", failed]
        volunteer.unroute("**/api/v1/debriefs")
        axe.check(volunteer, "volunteer debrief dialog")
        shot(volunteer, docs_shots, "debrief-form-desktop")
        dialog.locator("button[type=submit]").click()
        expect(dialog).to_be_hidden()
        expect(volunteer.locator("body > #sr-alert")).to_have_count(1)
        expect(volunteer.locator("#debrief-status")).to_have_text(EN["debrief.sent"])
        expect(volunteer.locator("#debrief-open")).to_be_hidden()
        # Its button is gone: the keyboard is on the answer, not dropped to <body>.
        expect(volunteer.locator("#debrief-status")).to_be_focused()
        volunteer.keyboard.press("Tab")
        expect(volunteer.locator("#cooldown-close")).to_be_focused()
        volunteer.keyboard.press("Enter")
        expect(volunteer.locator("#cooldown")).to_be_hidden()
        expect(volunteer.locator("#main")).to_be_focused()  # not fallen to <body>
        mine = volunteer.locator("#activity-panel")
        expect(mine.locator('tr[data-field="high_risk_chats"] td').first).to_have_text("1")
        expect(mine.locator('tr[data-field="debriefs"] td').first).to_have_text("1")

        item = desk.locator("#debriefs .debrief")
        expect(item).to_have_count(1)
        expect(item).to_contain_text(EN["debrief.feeling.unsettled"])
        expect(item).to_contain_text(EN["debrief.want.talk"])
        expect(item).to_contain_text("how quiet it went")
        team = desk.locator("#team-rows tr").first
        expect(team.locator("td").nth(2)).to_have_text("1")  # high-risk chats, 30 days
        expect(team.locator("td").nth(4)).to_have_text("1")  # open debriefs
        axe.check(desk, "supervisor desk with a debrief")
        desk.locator("#debriefs-panel").scroll_into_view_if_needed()
        shot(desk, docs_shots, "debrief-desk-desktop")
        with device(browser, watch, PHONE) as (_, phone_desk):
            supervisor_logs_in(phone_desk, server)
            expect(phone_desk.locator("#debriefs .debrief")).to_have_count(1)
            phone_desk.locator("#debriefs-panel").scroll_into_view_if_needed()
            shot(phone_desk, docs_shots, "debrief-desk-phone")
        item.locator("button").focus()
        desk.keyboard.press("Enter")
        expect(desk.locator("#debriefs .debrief")).to_have_count(0)
        # Its button gone, the keyboard is on the answer, not fallen to the top of the page.
        expect(desk.locator("#debriefs-status")).to_be_focused()
        expect(desk.locator("#debriefs-status")).to_have_text(EN["debrief.desk_marked"])
        expect(desk.locator("#debriefs-empty")).to_be_visible()
        expect(team.locator("td").nth(4)).to_have_text("0")

        volunteer.set_viewport_size(PHONE)
        mine.scroll_into_view_if_needed()
        shot(volunteer, docs_shots, "volunteer-activity-phone")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_the_safety_plan_is_made_together_kept_on_the_phone_and_seen_by_the_supervisor(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path, tmp_path: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx = browser.new_context(viewport=DESKTOP)
    desk = watch.attach(desk_ctx.new_page())
    try:
        supervisor_logs_in(desk, server)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        expect(risk.locator(".js-plan")).to_be_hidden()
        raise_concern(risk, "moderate", "feels trapped, no plan")
        risk.locator(".js-plan").click()
        box = risk.locator(".js-plan-box")
        expect(box).to_be_visible()
        expect(box.locator(".plan-step")).to_have_count(6)
        coping = box.locator('[data-step="coping_alone"]')
        coping.locator("input").fill("Walk to the tea stall")
        coping.locator("input").press("Enter")
        expect(coping.locator(".plan-item__text")).to_have_text(["Walk to the tea stall"])
        expect(coping.locator("input")).to_be_focused()

        note = seeker.locator("#messages .system-note--plan")
        expect(note).to_contain_text(EN["plan.opened_note"])
        expect(seeker.locator("#open-plan")).to_be_visible()
        note.locator("button").click()
        dialog = seeker.locator("#plan-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            ["Walk to the tea stall"]
        )
        expect(dialog.locator('[data-step="professionals"] a[href="tel:14416"]')).to_be_visible()
        signs = dialog.locator('[data-step="warning_signs"]')
        signs.locator("input").fill("Not sleeping")
        signs.locator("button[type=submit]").click()
        expect(box.locator('[data-step="warning_signs"] .plan-item__text')).to_have_text(
            ["Not sleeping"]
        )
        axe.check(seeker, "seeker safety plan dialog")
        shot(seeker, docs_shots, "safety-plan-seeker-phone")
        shot(volunteer, docs_shots, "safety-plan-volunteer-desktop")

        with seeker.expect_download() as download_info:
            dialog.locator(".js-save-plan").click()
        download = download_info.value
        assert download.suggested_filename == "my-plan.txt"
        saved = tmp_path / "plan.txt"
        download.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert "Not sleeping" in text and "Walk to the tea stall" in text
        # Each number says what it does: a line's call and text numbers are often the same,
        # and "988, 988" said neither.
        assert EN["contact.phone"].replace("{display}", "14416") in text, text

        seeker.evaluate("window.print = () => { window.__printed = true; }")
        dialog.locator(".js-print-plan").click()
        assert seeker.evaluate("window.__printed") is True
        expect(seeker.locator("#plan-print .plan-item__text")).to_have_text(
            ["Not sleeping", "Walk to the tea stall"]
        )
        # The printed page says what it is, at the top.
        expect(seeker.locator("#plan-print > :first-child")).to_have_text(EN["plan.title"])
        expect(seeker.locator("#plan-print h1")).to_have_count(1)

        # The supervisor acknowledges the moderate escalation and sees the plan, read-only.
        escalation = desk.locator("#escalations .escalation").first
        escalation.locator(".js-ack").click()
        escalation.locator(".js-open").click()
        plan = desk.locator("#conv-plan")
        expect(plan).to_be_visible()
        expect(plan.locator('[data-step="warning_signs"] .plan-item__text')).to_have_text(
            ["Not sleeping"]
        )
        expect(plan.locator("input")).to_have_count(0)
        plan.scroll_into_view_if_needed()
        shot(desk, docs_shots, "safety-plan-desk-desktop")

        # A reload brings the plan back; in Hindi the steps speak Hindi.
        seeker.reload()
        expect(seeker.locator("#open-plan")).to_be_visible()
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        seeker.locator("#open-plan").click()
        hindi = seeker.locator("#plan-dialog")
        distractions = hindi.locator('[data-step="distractions"]')
        distractions.locator("input").fill("लाइब्रेरी")
        distractions.locator("input").press("Enter")
        said = HI["plan.added"].replace("{item}", "लाइब्रेरी")
        expect(hindi.locator("#sr-alert")).to_have_text(said)
        first = load_plan_title("hi")
        expect(hindi.locator('[data-step="warning_signs"] h3')).to_have_text(first)
        shot(seeker, docs_shots, "safety-plan-seeker-hi-phone")
        seeker.keyboard.press("Tab")  # Esc is quick exit; close with the button
        hindi.locator(".js-close-dialog").click()

        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        ended = seeker.locator("#ended-plan")
        expect(ended).to_be_visible()
        with device(browser, watch, PHONE) as (_, phone_desk):
            supervisor_logs_in(phone_desk, server)
            phone_desk.locator("#escalations .escalation .js-open").first.click()
            expect(phone_desk.locator("#conv-plan")).to_be_visible()
            phone_desk.locator("#conv-plan").scroll_into_view_if_needed()
            shot(phone_desk, docs_shots, "safety-plan-desk-phone")
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def load_plan_title(language: str) -> str:
    from app.safety_plan.plan import load_plan

    return str(load_plan().steps[0].render(language)["title"])


def test_words_half_typed_into_the_plan_survive_the_other_persons_edit(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey: every edit re-renders the whole plan on both sides, and
    what the seeker (or the volunteer) had typed but not yet added was wiped. Also: a plan
    shown read-only said "nothing here yet" under step 5's helplines."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        # The start question closes, unanswered, at the seeker's first message, here written
        # while waiting (kept, it squeezed the waiting screen and came back above the seeker's
        # words when the volunteer joined), and does not come back.
        expect(seeker.locator("#mood-start")).to_be_hidden()
        seeker_sends(seeker, "thanks for coming")
        expect(seeker.locator("#mood-start")).to_be_hidden()
        expect(seeker.locator("#composer-text")).to_be_focused()
        risk = volunteer_starts_a_plan(volunteer)
        box = risk.locator(".js-plan-box")
        expect(box.locator(".plan-step")).to_have_count(6)
        seeker.locator("#open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        mine = dialog.locator('[data-step="people_to_ask"] input')
        mine.fill("my sis")
        # The volunteer adds to another step, and types into a third without adding yet.
        theirs = box.locator('[data-step="warning_signs"] input')
        theirs.fill("Not sleeping")
        theirs.press("Enter")
        draft = box.locator('[data-step="safer_surroundings"] input')
        draft.fill("Give the tablets to")
        expect(dialog.locator('[data-step="warning_signs"] .plan-item__text')).to_have_text(
            ["Not sleeping"]
        )
        # The list changed under the seeker: said, from the alert region the dialog holds.
        said = dialog.locator("#sr-alert")
        expect(said).to_have_text(EN["plan.added"].replace("{item}", "Not sleeping"))
        expect(mine).to_have_value("my sis")
        expect(mine).to_be_focused()
        mine.press("End")
        mine.type("ter")
        mine.press("Enter")
        expect(box.locator(".plan-item__text", has_text="my sister")).to_have_count(1)
        expect(said).to_have_text(EN["plan.added"].replace("{item}", "my sister"))
        dialog.get_by_role("button", name="Remove: my sister").press("Enter")
        expect(said).to_have_text(EN["plan.removed"].replace("{item}", "my sister"))
        expect(mine).to_be_focused()
        expect(draft).to_have_value("Give the tablets to")
        # Ended, the plan is read-only: step 5 lists its helplines, and is not "empty".
        seeker.locator("#plan-dialog .js-close-dialog").click()
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        seeker.locator("#ended-plan .js-open-plan").click()
        helplines = dialog.locator('[data-step="professionals"]')
        expect(helplines.locator('a[href="tel:14416"]')).to_be_visible()
        expect(helplines.locator(".plan-step__empty")).to_have_count(0)
        expect(dialog.locator('[data-step="distractions"] .plan-step__empty')).to_have_text(
            EN["plan.empty_step"]
        )
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_each_steps_example_is_shown_whole_on_a_phone(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey at 360x740: each step's example was the placeholder of its
    field, cut at the field's edge ("For example: Not sleepi", "उदाहरण: कई दिनों तक नींद न आ")
    and gone once the seeker typed. It is a line of its own now, whole, and the field's
    description, so a screen reader reads it with the field."""
    from app.safety_plan.plan import load_plan

    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_starts_a_plan(volunteer)
        seeker.locator("#open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        for strings, language in ((EN, "en"), (HI, "hi")):
            if language == "hi":
                seeker.locator("#plan-dialog .js-close-dialog").click()
                seeker.locator('.lang-switch__option[data-lang="hi"]').click()
                seeker.locator("#open-plan").click()
                expect(dialog.locator('[data-step="warning_signs"] h3')).to_have_text(
                    load_plan_title("hi")
                )
            for step in load_plan().steps:
                examples = step.render(language)["examples"]
                if not examples:
                    continue
                said = strings["plan.example"].replace("{example}", examples[0])
                section = dialog.locator(f'[data-step="{step.id}"]')
                example = section.locator(".plan-step__example")
                section.locator("input").fill("x")  # the example stays while typing
                expect(example).to_have_text(said)
                expect(example).to_be_visible()
                assert example.evaluate("(line) => line.scrollWidth <= line.clientWidth")
                expect(section.locator("input")).to_have_accessible_description(said)
            axe.check(seeker, f"seeker safety plan with its examples ({language})")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_the_plan_follows_the_seekers_change_of_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey: a seeker who switched the page to Hindi mid-chat opened
    their plan and found its steps still in English (the headings and prompts come from the
    server, in the conversation's language) until someone next edited it. The page asks for
    the plan again when the conversation's language changes."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_starts_a_plan(volunteer)
        expect(seeker.locator("#open-plan")).to_be_visible()
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        seeker.locator("#open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        expect(dialog.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("hi"))
        expect(dialog.locator("#plan-title")).to_have_text(HI["plan.title"])
        axe.check(seeker, "seeker safety plan after a change to Hindi")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def switch_holding_the_plan(seeker: Page, lang: str) -> tuple[list[Route], re.Pattern[str]]:
    """The seeker switches the page to ``lang``; the plan it then asks for in ``lang`` is held
    (the routes returned, to be continued) and the pattern of its URL (to unroute)."""
    held: list[Route] = []
    plan = re.compile(rf"/safety-plan\?language={lang}$")
    seeker.route(plan, lambda route: held.append(route))
    with seeker.expect_request(lambda request: bool(plan.search(request.url))):
        seeker.locator(f'.lang-switch__option[data-lang="{lang}"]').click()
    return held, plan


def test_the_plan_after_the_chat_follows_a_change_of_language(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path, tmp_path: Path
) -> None:
    """Found walking the journey: after the chat ended, a seeker who switched the page to
    Hindi opened their plan (and saved it) with its steps still in English: the plan's words
    come from the server in the conversation's language, which an ended chat no longer
    changes. The page asks for the plan in the language switched to
    (`GET /api/v1/conversations/{id}/safety-plan?language=`); what was written stays as
    written, and a later switch wins over an answer that comes late."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        risk = volunteer_starts_a_plan(volunteer)
        coping = risk.locator('.js-plan-box [data-step="coping_alone"]')
        coping.locator("input").fill("Walk to the tea stall")
        coping.locator("input").press("Enter")
        expect(coping.locator(".plan-item__text")).to_have_text(["Walk to the tea stall"])
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("#ended-plan")).to_be_visible()

        # To Hindi and back to English at once, the Hindi answer coming last: English stays.
        held, hindi_plan = switch_holding_the_plan(seeker, "hi")
        seeker.locator('.lang-switch__option[data-lang="en"]').click()
        expect(seeker.locator("#ended-title")).to_have_text(EN["ended.title"])
        with seeker.expect_response(lambda response: bool(hindi_plan.search(response.url))):
            held[0].continue_()
        seeker.unroute(hindi_plan)
        seeker.locator("#ended-plan .js-open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        expect(dialog.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("en"))
        dialog.locator(".js-close-dialog").click()

        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#ended-title")).to_have_text(HI["ended.title"])
        seeker.locator("#ended-plan .js-open-plan").click()
        expect(dialog.locator("#plan-title")).to_have_text(HI["plan.title"])
        expect(dialog.locator('[data-step="warning_signs"] h3')).to_have_text(load_plan_title("hi"))
        expect(dialog.locator('[data-step="coping_alone"] .plan-item__text')).to_have_text(
            ["Walk to the tea stall"]
        )
        axe.check(seeker, "seeker safety plan after the chat, switched to Hindi")
        shot(seeker, screenshots, "safety-plan-ended-switched-hi-phone")
        with seeker.expect_download() as download_info:
            dialog.locator(".js-save-plan").click()
        saved = tmp_path / "plan.txt"
        download_info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert text.startswith(HI["plan.title"]), text
        assert load_plan_title("hi") in text and load_plan_title("en") not in text, text
        assert "- Walk to the tea stall" in text, text
        assert HI["contact.phone"].replace("{display}", "14416") in text, text
        seeker.set_viewport_size(DESKTOP)
        shot(seeker, screenshots, "safety-plan-ended-switched-hi-desktop")

        # Back to English, and "Save to my phone" pressed before the English plan came: the
        # file waited for it (it had the Hindi steps under an English title).
        dialog.locator(".js-close-dialog").click()
        held, english_plan = switch_holding_the_plan(seeker, "en")
        seeker.locator("#ended-plan .js-open-plan").click()
        expect(dialog.locator("#plan-title")).to_have_text(EN["plan.title"])
        with seeker.expect_download() as download_info:
            dialog.locator(".js-save-plan").click()
            seeker.wait_for_timeout(300)  # Save pressed, the answer still held
            held[0].continue_()
        seeker.unroute(english_plan)
        download_info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert text.startswith(EN["plan.title"]), text
        assert load_plan_title("en") in text and load_plan_title("hi") not in text, text
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_a_seeker_who_feels_worse_is_answered_even_when_the_feedback_cannot_be_sent(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A seeker who answered "Very low" at the end got only "could not be sent" when the
    answers did not reach the server: the follow-up ("Please don't stay alone with this:
    Tele-MANAS ...") came only with a stored answer. It is shown (and read) either way; the
    form stays to try again."""
    seeker_ctx, seeker, volunteer_ctx, _ = chat_in_progress(browser, server, watch)
    try:
        seeker.route(
            "**/api/v1/outcomes",
            lambda route: route.fulfill(status=503, json={"error": {"code": "unavailable"}}),
        )
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        form = seeker.locator("#feedback-form")
        form.locator('label:has(input[name="mood_end"][value="1"])').click()
        form.locator("button[type=submit]").click()
        expect(seeker.locator("#feedback-error")).to_have_text(EN["feedback.error"])
        expect(seeker.locator("#feedback-low")).to_be_visible()
        expect(seeker.locator("#feedback-low")).to_have_text(EN["feedback.low_followup"])
        expect(seeker.locator("#sr-alert")).to_have_text(EN["feedback.low_followup"])
        expect(form).to_be_visible()
        axe.check(seeker, "seeker feedback not sent, low mood")
        seeker.unroute("**/api/v1/outcomes")
        form.locator("button[type=submit]").click()
        expect(seeker.locator("#feedback-thanks")).to_be_focused()
        expect(seeker.locator("#feedback-low")).to_be_visible()
        expect(seeker.locator("#feedback-thanks")).to_have_attribute(
            "aria-describedby", "feedback-low"
        )
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_a_chat_that_ends_while_the_seeker_is_in_their_plan_says_so_and_keeps_the_focus(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey: the volunteer ended the chat while the seeker was typing in
    their plan. The plan turned read-only under them (the field went, and with it the focus, to
    the top of the page), nothing said the chat had ended (the ended screen's heading, behind
    the dialog, could not take the focus), and closing the plan left the focus nowhere (its
    button had gone with the chat). The end is said, the focus stays in the plan, and closing
    it lands on "Your chat has ended"."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_starts_a_plan(volunteer)
        seeker.locator("#open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        field = dialog.locator('[data-step="warning_signs"] input')
        field.focus()
        seeker.keyboard.type("Not sleeping")
        volunteer_ends(volunteer_pane(volunteer))
        expect(dialog.locator("#sr-alert")).to_have_text(EN["ended.title"])
        expect(dialog.locator("input")).to_have_count(0)
        expect(dialog.locator("#plan-title")).to_be_focused()
        axe.check(seeker, "seeker plan, read-only once the chat ended")
        seeker.keyboard.press("Tab")
        dialog.locator(".js-close-dialog").focus()
        seeker.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(seeker.locator("#ended-title")).to_be_focused()
        expect(seeker.locator("#ended-title")).to_have_text(EN["ended.title"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_the_start_mood_can_be_chosen_with_the_arrow_keys(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Found walking the journey from the keyboard: in the start question the arrow keys move
    the choice, and each move is a change, so the first press of → from "1 Very low" closed the
    question with "2 Low" kept, whatever the seeker meant to choose (a screen reader's user
    moves through radio buttons that way too). The arrows now only move; Space or Enter
    answers."""
    seeker_ctx, seeker, volunteer_ctx, _ = chat_in_progress(
        browser, server, watch, first_message=None
    )
    try:
        card = seeker.locator("#mood-start")
        expect(card).to_be_visible()
        first = card.locator('input[value="1"]')
        first.focus()
        for _ in range(3):
            seeker.keyboard.press("ArrowRight")
        expect(card.locator('input[value="4"]')).to_be_checked()
        expect(card).to_be_visible()
        axe.check(seeker, "seeker start mood, chosen from the keyboard")
        seeker.keyboard.press("Space")
        expect(card).to_be_hidden()
        expect(seeker.locator("#sr-alert")).to_have_text(EN["mood.thanks"])
        expect(seeker.locator("#composer-text")).to_be_focused()

        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        form = seeker.locator("#feedback-form")
        form.locator('input[name="heard"][value="yes"]').check()
        form.locator("button[type=submit]").click()
        expect(seeker.locator("#feedback-thanks")).to_be_focused()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    with _db(server) as db:
        assert db.execute("SELECT mood_start FROM outcomes").fetchall() == [(4,)]
    watch.check()


def test_what_is_said_while_a_dialog_is_open_is_heard(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A modal dialog hides the rest of the page from screen readers (Chromium marks it
    ignored, "activeModalDialog"), and the page said things from its alert region there:
    "Your plan was saved as a file on this device" after Save to my phone in the plan went
    unheard. The region goes into the open dialog, and back when it closes."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_starts_a_plan(volunteer)
        seeker.locator("#open-plan").click()
        dialog = seeker.locator("#plan-dialog")
        with seeker.expect_download():
            dialog.locator(".js-save-plan").click()
        said = seeker.get_by_role("dialog").get_by_text(EN["plan.saved"])
        expect(said).to_have_count(1)
        expect(dialog.locator("#sr-alert")).to_have_attribute("aria-live", "assertive")
        dialog.locator(".js-close-dialog").click()
        expect(seeker.locator("body > #sr-alert")).to_have_count(1)
        expect(seeker.locator("#open-plan")).to_be_focused()
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()

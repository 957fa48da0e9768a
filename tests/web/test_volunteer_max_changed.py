"""An admin changes a volunteer's most chats at once while their console is open: the
console's choices follow at once (availability.ok without ref), but a screen reader heard only
the status line set again, "Away: you won't get new chats.", out of nowhere, and never the
change itself. Now the new most is said, in the page's language, and an unchanged status line
is not said again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import EN, HI, Watch, desk_page, volunteer_logs_in
from test_volunteer_after_handover import admin_sets_most_chats

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

COUNT_STATUS_CHANGES = """() => {
  window.statusChanges = 0;
  if (window.statusWatched) return;
  window.statusWatched = true;
  new MutationObserver((changes) => { window.statusChanges += changes.length; })
    .observe(document.getElementById("availability-status"),
             {childList: true, characterData: true, subtree: true});
}"""


def status_changes(page: Page) -> int:
    return int(page.evaluate("window.statusChanges"))


def test_an_admins_change_to_the_most_chats_is_said_and_the_status_not_repeated(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("admin", "adm1", "admin-pass-1")
    context, volunteer = desk_page(browser, watch)
    try:
        volunteer_logs_in(volunteer, server)
        capacity = volunteer.locator("#capacity")
        expect(capacity.locator("option")).to_have_count(2)
        status = volunteer.locator("#availability-status")
        volunteer.locator("#available").check()
        volunteer.locator("#available").uncheck()
        expect(status).to_have_text(EN["vol.status_away"])
        volunteer.evaluate(COUNT_STATUS_CHANGES)
        said = volunteer.locator("#sr-status")
        admin_sets_most_chats(server, 3)
        expect(capacity.locator("option")).to_have_count(3)
        expect(said).to_have_text(EN["vol.max_changed"].replace("{n}", "3"))
        expect(status).to_have_text(EN["vol.status_away"])
        assert status_changes(volunteer) == 0

        volunteer.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(status).to_have_text(HI["vol.status_away"])
        volunteer.evaluate(COUNT_STATUS_CHANGES)
        admin_sets_most_chats(server, 1)
        expect(capacity.locator("option")).to_have_count(1)
        expect(said).to_have_text(HI["vol.max_changed"].replace("{n}", "1"))
        assert status_changes(volunteer) == 0

        # The same most again (an admin saved it unchanged): nothing new to say.
        volunteer.evaluate("document.getElementById('sr-status').textContent = ''")
        admin_sets_most_chats(server, 1)
        volunteer.wait_for_timeout(500)
        expect(said).to_have_text("")
        assert status_changes(volunteer) == 0
    finally:
        context.close()
    watch.check()

"""axe-core in the browser tests: the npm package (tests/web/package.json, installed by
scripts/test) is served to the page by the test itself from the page's own origin, so the
page's Content-Security-Policy (script-src 'self') lets it run unchanged.

``check(page)`` fails on serious or critical violations, naming each rule and its nodes.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route

AXE_FILE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test__/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
#: For screens held to more than the suite's floor: moderate and minor violations fail too.
EVERY_IMPACT = ("minor", "moderate", "serious", "critical")


@cache
def axe_source() -> str:
    if not AXE_FILE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE_FILE} is required when CI is set (scripts/test installs it)")
        pytest.skip("axe-core is not installed (cd tests/web && npm ci)")
    return AXE_FILE.read_text(encoding="utf-8")


def _serve(route: Route) -> None:
    route.fulfill(status=200, content_type="text/javascript", body=axe_source())


def violations(page: Page, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[dict[str, Any]]:
    """The axe-core violations of these impacts (serious and critical unless told) on the page
    as it is now."""
    source = axe_source()
    assert source
    origin = page.evaluate("location.origin")
    url = origin + AXE_PATH
    page.route(url, _serve)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=url)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
              runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
              resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in impacts]


def check(page: Page, where: str, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Fail on violations of these impacts (serious or critical unless told), listing them."""
    found = violations(page, impacts)
    assert not found, f"axe-core on {where}:\n" + "\n".join(
        f"  {v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in found
    )

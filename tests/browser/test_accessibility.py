"""The page for everyone (SPEC §4): no serious or critical axe-core violation
in light or dark mode, with the detail panel, the pause dialog and the
interval editor open; everything reachable by keyboard with a visible focus;
named icon buttons; and screenshots at 320 px and 1440 px, light and dark,
saved to test-artifacts/ for a person to look at.

axe-core is not vendored: point AXE_CORE_JS at its axe.min.js (for instance
after `npm install axe-core` in a scratch folder), or have it under
node_modules/ at the top of the repository; without it the axe test skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browsing import (
    ARTIFACTS,
    REPO,
    Api,
    action,
    card,
    fits_width,
    focus_ring,
    part,
    skip_without_chromium,
    tab_to,
    wait_until_idle,
)

skip_without_chromium()

from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.e2e

CONFIG = """\
[stock]
enabled = false

[[jobs]]
name = "sync-mirror"
interval = "1h"
callable = "tests.browser.jobs_for_tests:sync_mirror"
category = "mirrors"
description = "Copies the package mirror and logs what it did."
first_delay = "1h"

[[jobs]]
name = "flaky-mirror"
interval = "30m"
callable = "tests.browser.jobs_for_tests:flaky_mirror"
category = "mirrors"
description = "Fails every other run, with a traceback."
first_delay = "1h"

[[jobs]]
name = "report-job"
interval = "1h"
callable = "tests.browser.jobs_for_tests:half_way"
category = "reports"
description = "Builds the weekly report; reports its progress."
first_delay = "1h"

[[jobs]]
name = "disk-check"
interval = "15m"
command = ["true"]
category = "system"
description = "Checks free disk space."
first_delay = "1h"
"""

SERIOUS = ("serious", "critical")


def axe_source() -> str | None:
    candidates = [
        os.environ.get("AXE_CORE_JS"),
        str(REPO / "node_modules" / "axe-core" / "axe.min.js"),
    ]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    return None


@pytest.fixture(scope="module")
def history(api: Api) -> None:
    """A few runs of each quick job: sparklines, errors, logs, an audit trail."""
    for _ in range(3):
        for name in ("sync-mirror", "flaky-mirror", "disk-check"):
            api.control("POST", f"/api/jobs/{name}/run")
        wait_until_idle(api)


@pytest.fixture
def busy_page(history: None, jobs_page: Page, api: Api) -> Iterator[Page]:
    """The page with something on every card: history, an error, a pause with
    an end, an overridden interval and a run in progress."""
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    api.control("POST", "/api/jobs/disk-check/pause", {"until": until})
    api.control("PUT", "/api/jobs/sync-mirror/interval", {"interval": "90m"})
    api.control("POST", "/api/jobs/report-job/run")
    expect(part(card(jobs_page, "report-job"), "progress_message")).to_have_text(
        "half way"
    )
    expect(part(card(jobs_page, "disk-check"), "status")).to_have_text("paused")
    expect(card(jobs_page, "flaky-mirror").locator(".spark-run")).to_have_count(3)
    expect(part(card(jobs_page, "flaky-mirror"), "last_error")).to_be_visible()
    yield jobs_page
    # A run left going would hold up the server's shutdown.
    status, answer = api.send("POST", "/api/jobs/report-job/cancel")
    assert status in (200, 409), answer


def open_detail(page: Page, name: str) -> Locator:
    action(card(page, name), "details").click()
    detail = part(page, "detail")
    expect(detail).to_be_visible()
    expect(part(part(detail, "history"), "entries").locator("li")).not_to_have_count(0)
    return detail


def serious_violations(page: Page, source: str) -> list[dict[str, Any]]:
    # page.evaluate goes through the DevTools protocol, which the page's CSP
    # does not govern: no bypass_csp, and the CSP stays tested alongside.
    page.evaluate(source)
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in SERIOUS]


def test_axe_finds_nothing_serious_in_light_or_dark(busy_page: Page) -> None:
    source = axe_source()
    if source is None:
        pytest.skip("set AXE_CORE_JS to axe-core's axe.min.js to run this check")
    page = busy_page
    found: dict[str, list[dict[str, Any]]] = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        flaky = card(page, "flaky-mirror")
        flaky.locator('[data-field="last_error"] summary').click()
        action(card(page, "sync-mirror"), "interval").click()
        expect(
            part(card(page, "sync-mirror"), "preview-runs").locator("li")
        ).to_have_count(3)
        found[f"{scheme}: cards"] = serious_violations(page, source)
        page.keyboard.press("Escape")

        detail = open_detail(page, "flaky-mirror")
        for summary in detail.locator("details:visible > summary").all():
            summary.click()
        found[f"{scheme}: detail"] = serious_violations(page, source)
        page.keyboard.press("Escape")

        action(card(page, "sync-mirror"), "pause-menu").click()
        expect(part(page, "pause-dialog")).to_be_visible()
        found[f"{scheme}: pause dialog"] = serious_violations(page, source)
        page.keyboard.press("Escape")
        flaky.locator('[data-field="last_error"] summary').click()

    assert {state: v for state, v in found.items() if v} == {}


def test_every_icon_button_has_a_name(busy_page: Page) -> None:
    icons = busy_page.locator("button.btn-icon")
    assert icons.count() >= 8
    for index in range(icons.count()):
        name = icons.nth(index).get_attribute("aria-label") or ""
        assert name.strip(), icons.nth(index).evaluate("e => e.outerHTML")
    expect(action(card(busy_page, "disk-check"), "pause")).to_have_accessible_name(
        "Resume"
    )
    expect(action(card(busy_page, "disk-check"), "pause-menu")).to_have_accessible_name(
        "Pause disk-check for a while"
    )
    expect(action(card(busy_page, "disk-check"), "details")).to_have_accessible_name(
        "History and audit of disk-check"
    )


def test_the_page_works_by_keyboard_with_a_visible_focus(busy_page: Page) -> None:
    page = busy_page
    page.emulate_media(color_scheme="dark")
    text = part(page, "filter-text")
    tab_to(page, text)
    assert focus_ring(text) != "none"
    page.keyboard.type("mirror")
    expect(part(page, "filter-count")).to_have_text("2 of 4 jobs shown")

    select = part(card(page, "flaky-mirror"), "select")
    tab_to(page, select)
    assert focus_ring(select) != "none"
    page.keyboard.press("Space")
    expect(part(page, "selected-count")).to_have_text("1 selected")

    details = action(card(page, "flaky-mirror"), "details")
    tab_to(page, details)
    assert focus_ring(details) != "none"
    page.keyboard.press("Enter")
    detail = part(page, "detail")
    expect(detail).to_be_visible()
    close = action(detail, "close-dialog")
    expect(close).to_be_focused()
    assert focus_ring(close) != "none"
    # The page behind the dialog is inert: Tab stays inside (or passes
    # through the browser's own controls, never the page's).
    places = []
    for _ in range(12):
        page.keyboard.press("Tab")
        places.append(
            page.evaluate(
                """() => {
                    const focused = document.activeElement;
                    if (!focused || focused === document.body) return "browser";
                    return focused.closest("[data-field=detail]") ? "inside" : "page";
                }"""
            )
        )
    assert "page" not in places and places.count("inside") >= 6, places
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(details).to_be_focused()

    bulk_pause = action(page, "bulk-pause")
    tab_to(page, bulk_pause)
    page.keyboard.press("Enter")
    expect(part(page, "bulk-summary")).to_have_text("Paused 1 job.")


def test_screenshots_at_320_and_1440_in_light_and_dark(busy_page: Page) -> None:
    page = busy_page
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (1440, 320):
            page.set_viewport_size({"width": width, "height": 1000})
            expect(card(page, "sync-mirror")).to_be_visible()
            fits_width(page, width)
            page.screenshot(
                path=ARTIFACTS / f"jobs-{width}-{scheme}.png", full_page=True
            )
            detail = open_detail(page, "flaky-mirror")
            detail.locator('[data-field="log"] summary').first.click()
            fits_width(page, width)
            page.screenshot(path=ARTIFACTS / f"job-detail-{width}-{scheme}.png")
            page.keyboard.press("Escape")
            action(card(page, "disk-check"), "pause-menu").click()
            expect(part(page, "pause-dialog")).to_be_visible()
            fits_width(page, width)
            page.screenshot(path=ARTIFACTS / f"pause-dialog-{width}-{scheme}.png")
            page.keyboard.press("Escape")

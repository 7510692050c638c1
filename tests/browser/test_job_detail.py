"""A job's detail panel (SPEC §4): its paged history with each run's trigger,
who, duration, outcome, error, log lines and (for admins) traceback, skipped
ticks with their reason, and the job's audit trail, all following the job live.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.browsing import (
    MOMENT,
    Api,
    action,
    card,
    part,
    sign_in,
    skip_without_chromium,
    wait_for,
    wait_until_idle,
)

skip_without_chromium()

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect  # noqa: E402

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
name = "linger-job"
interval = "1h"
callable = "tests.browser.jobs_for_tests:half_way"
category = "test"
description = "Runs until cancelled."
first_delay = "1h"

[[jobs]]
name = "quick-job"
interval = "1h"
command = ["true"]
category = "system"
description = "Does nothing, quickly."
first_delay = "1h"
"""

STARTED = re.compile(rf"^{MOMENT}$")


def open_detail(page: Page, name: str) -> Locator:
    action(card(page, name), "details").click()
    detail = part(page, "detail")
    expect(detail).to_be_visible()
    expect(part(detail, "detail-name")).to_have_text(name)
    return detail


def history(detail: Locator) -> Locator:
    return part(detail, "history")


def audit(detail: Locator) -> Locator:
    return part(detail, "audit")


def entries(section: Locator) -> Locator:
    return part(section, "entries").locator(":scope > li")


def run(api: Api, name: str, times: int = 1) -> None:
    for _ in range(times):
        api.control("POST", f"/api/jobs/{name}/run")
        wait_until_idle(api)


def test_the_history_shows_each_run_with_its_log_lines(
    jobs_page: Page, api: Api
) -> None:
    run(api, "sync-mirror", 2)
    opener = action(card(jobs_page, "sync-mirror"), "details")
    detail = open_detail(jobs_page, "sync-mirror")
    expect(part(detail, "detail-why")).to_contain_text("waiting for its next tick")
    runs = entries(history(detail))
    expect(runs).to_have_count(2)
    expect(part(history(detail), "range")).to_have_text("2 in all")

    latest = runs.first
    expect(latest).to_have_attribute("data-outcome", "success")
    expect(part(latest, "outcome")).to_have_text("success")
    expect(part(latest, "started_at")).to_have_text(STARTED)
    expect(part(latest, "started_at")).to_have_attribute("title", re.compile("20"))
    shown = part(latest, "started_at").text_content() or ""
    expect(part(latest, "started_at")).not_to_have_text(shown)  # it ticks
    expect(part(latest, "trigger")).to_have_text(re.compile(r"^Manual run by admin"))
    expect(part(latest, "duration")).to_have_text(re.compile(r"^took \d+ ms$"))
    expect(part(latest, "summary")).to_have_text("copied 12 files")
    expect(part(latest, "error")).to_be_hidden()
    expect(part(latest, "traceback")).to_be_hidden()

    log = part(latest, "log")
    expect(part(log, "log_label")).to_have_text("Log (3 lines)")
    expect(part(log, "log_text")).to_be_hidden()
    part(log, "log_label").click()
    expect(part(log, "log_text")).to_have_text(
        "INFO connecting to the mirror\n"
        "WARNING mirror is slow: 850 ms\n"
        "INFO copied 12 files"
    )

    # It follows the job: a run made elsewhere appears without reopening, and
    # the log opened meanwhile stays open.
    run(api, "sync-mirror")
    expect(runs).to_have_count(3)
    expect(entries(audit(detail))).to_have_count(3)
    expect(part(runs.nth(1), "log_text")).to_be_visible()

    jobs_page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(opener).to_be_focused()


def test_a_failed_run_shows_its_error_and_an_admin_its_traceback(
    jobs_page: Page, api: Api
) -> None:
    run(api, "flaky-mirror", 2)  # fails, then succeeds
    detail = open_detail(jobs_page, "flaky-mirror")
    failed = entries(history(detail)).nth(1)
    expect(failed).to_have_attribute("data-outcome", "error")
    error = part(failed, "error")
    expect(error).to_have_text(re.compile(r"mirror unreachable: <b>no route</b>"))
    red, green, blue = (
        int(value)
        for value in re.findall(
            r"\d+", error.evaluate("e => getComputedStyle(e).color")
        )[:3]
    )
    assert red > 150 and green < 80 and blue < 80, (red, green, blue)

    traceback = part(failed, "traceback")
    expect(traceback).to_be_visible()
    traceback.locator("summary").click()
    text = part(failed, "traceback_text")
    expect(text).to_be_visible()
    expect(text).to_contain_text("Traceback")
    expect(text).to_contain_text("ConnectionError")
    assert detail.locator("b").count() == 0  # job text is never markup


def test_a_viewer_sees_the_history_without_tracebacks(
    context: BrowserContext, page: Page, api: Api
) -> None:
    run(api, "flaky-mirror", 2)
    viewer = {"username": "reader", "password": "reader-password-1", "role": "viewer"}
    status, answer = api.send("POST", "/api/users", viewer)
    assert status in (201, 409, 422), answer
    signed_in = context.request.post(
        "/api/session",
        data={"username": viewer["username"], "password": viewer["password"]},
    )
    assert signed_in.status == 200, signed_in.text()

    page.goto("/admin/jobs")
    detail = open_detail(page, "flaky-mirror")
    failed = history(detail).locator('[data-outcome="error"]').first
    expect(part(failed, "error")).to_contain_text("mirror unreachable")
    expect(part(failed, "log")).to_be_visible()
    expect(part(failed, "traceback")).to_be_hidden()


def test_skipped_ticks_show_with_their_reason(jobs_page: Page, api: Api) -> None:
    api.control("POST", "/api/jobs/linger-job/run")
    api.control("PUT", "/api/jobs/linger-job/interval", {"interval": "1s"})
    wait_for(lambda: api.job("linger-job")["skipped_count"] >= 1, 10, "a skipped tick")
    detail = open_detail(jobs_page, "linger-job")

    skipped = history(detail).locator('[data-outcome="skipped"]').first
    expect(skipped).to_be_visible()
    expect(part(skipped, "outcome")).to_have_text("skipped")
    expect(part(skipped, "trigger")).to_have_text(
        re.compile(r"^Scheduled tick, skipped")
    )
    reason = part(skipped, "reason")
    expect(reason).to_have_text(re.compile(rf"^Why: still running since {MOMENT}$"))
    expect(reason.locator("time")).to_have_attribute("datetime", re.compile(r"Z$"))
    running = history(detail).locator('[data-outcome="running"]')
    expect(running).to_have_count(1)
    expect(part(running, "duration")).to_have_text("still running")
    expect(part(detail, "detail-why")).to_be_hidden()  # it is running


def test_the_audit_trail_shows_who_when_from_where_and_what_changed(
    jobs_page: Page, api: Api
) -> None:
    end = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    api.control("POST", "/api/jobs/quick-job/pause", {"until": end})
    api.control("PUT", "/api/jobs/quick-job/interval", {"interval": "90m"})
    wait_for(lambda: latest_action(api, "quick-job") == "resume", 10, "the resume")

    detail = open_detail(jobs_page, "quick-job")
    trail = entries(audit(detail))
    resumed = trail.first
    expect(part(resumed, "action")).to_have_text("Resumed")
    expect(part(resumed, "who")).to_have_text("by system (the pause ended)")
    expect(change(resumed, "paused")).to_have_text("Paused: yes → no")
    expect(part(resumed, "at")).to_have_text(STARTED)

    interval = trail.nth(1)
    expect(part(interval, "action")).to_have_text("Interval changed")
    expect(part(interval, "who")).to_have_text("by admin from 127.0.0.1")
    expect(change(interval, "interval")).to_have_text("Interval: 1h → 1h30m")
    expect(change(interval, "interval_overridden")).to_have_text(
        "Default overridden: no → yes"
    )

    paused = trail.nth(2)
    expect(part(paused, "action")).to_have_text("Paused")
    ends = change(paused, "paused_until")
    expect(ends).to_have_text(re.compile(rf"^Pause ends: when resumed → .*{MOMENT}$"))
    expect(ends.locator("time")).to_have_attribute("title", re.compile("20"))


def latest_action(api: Api, name: str) -> str | None:
    """The job's newest audit action; the server writes it a moment after."""
    entries = api.get(f"/api/audit?job={name}&limit=1")["entries"]
    return entries[0]["action"] if entries else None


def change(entry: Locator, key: str) -> Locator:
    return entry.locator(f'[data-change="{key}"]')


def test_the_history_and_audit_trail_page_through_older_entries(
    jobs_page: Page, api: Api
) -> None:
    def stored() -> int:
        return len(api.get("/api/jobs/quick-job/runs?limit=500")["runs"])

    run(api, "quick-job", max(0, 22 - stored()))
    total: int = wait_for(lambda: stored() >= 22 and stored(), 5, "22 stored runs")
    detail = open_detail(jobs_page, "quick-job")
    runs = history(detail)
    expect(entries(runs)).to_have_count(20)
    expect(part(runs, "range")).to_have_text("1–20")
    newer, older = action(runs, "newer"), action(runs, "older")
    expect(newer).to_be_disabled()

    older.focus()
    older.press("Enter")
    expect(part(runs, "range")).to_have_text(f"21–{total} of {total}")
    expect(entries(runs)).to_have_count(total - 20)
    expect(older).to_be_disabled()
    expect(newer).to_be_focused()  # the keyboard is not lost
    first_of_page: dict[str, Any] = api.get(
        "/api/jobs/quick-job/runs?limit=1&offset=20"
    )["runs"][0]
    expect(entries(runs).first).to_have_attribute("data-run", first_of_page["id"])

    newer.press("Enter")
    expect(part(runs, "range")).to_have_text("1–20")
    expect(part(audit(detail), "range")).to_have_text("1–20")


def test_a_link_to_the_panel_opens_it(
    context: BrowserContext, page: Page, api: Api
) -> None:
    sign_in(context)
    page.goto("/admin/jobs#job=sync-mirror")
    detail = part(page, "detail")
    expect(detail).to_be_visible()
    expect(part(detail, "detail-name")).to_have_text("sync-mirror")
    expect(page.get_by_role("dialog", name="sync-mirror")).to_be_visible()

    action(detail, "close-dialog").click()
    expect(detail).to_be_hidden()
    # The dialog's close event, which clears the link, comes just after it hides.
    expect(page).to_have_url(re.compile(r"/admin/jobs$"))


def test_times_of_another_utc_offset_than_today_show_their_zone(
    browser: Browser, server: str
) -> None:
    """Case BC-15: in Europe/Berlin the autumn night has two 02:30s, an hour
    apart. Seen after the change, the first (CEST) carries its zone and the second
    (CET, today's offset) does not; a summer day's time does too, a winter's not."""
    context = browser.new_context(
        base_url=server, timezone_id="Europe/Berlin", locale="en-GB"
    )
    page = context.new_page()
    page.goto("/login")
    shown = page.evaluate(
        """async () => {
            const { localText } = await import("/static/times.js");
            const now = Date.parse("2027-10-31T01:45:00Z");  // 02:45 CET
            return [
                "2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z",
                "2027-07-01T10:00:00Z", "2027-12-01T10:00:00Z",
            ].map((iso) => localText(iso, now));
        }"""
    )
    context.close()

    assert re.fullmatch(r"02:30:00 (CEST|GMT\+2)", shown[0]), shown
    assert shown[1] == "02:30:00", shown
    assert re.fullmatch(r"1 Jul(,| at)? 12:00 (CEST|GMT\+2)", shown[2]), shown
    assert shown[3] == "1 Dec, 11:00", shown

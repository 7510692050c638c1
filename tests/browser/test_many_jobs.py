"""A thousand jobs on one page: it loads, filters and takes stream events
without stalling, and an event for one job touches that job's card only.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import pytest

from tests.browser.browsing import (
    Api,
    card,
    part,
    sign_in,
    skip_without_chromium,
)

skip_without_chromium()

from playwright.sync_api import BrowserContext, Page, expect  # noqa: E402

pytestmark = pytest.mark.e2e

JOB_COUNT = 1000
CATEGORIES = ("backups", "dns", "mail", "reports", "system")
CONFIG = "[stock]\nenabled = false\n" + "".join(
    f"""
[[jobs]]
name = "job-{index:04d}"
interval = "1h"
command = ["true"]
category = "{CATEGORIES[index % len(CATEGORIES)]}"
description = "Quick job number {index}."
first_delay = "1h"
"""
    for index in range(JOB_COUNT)
)
# Long tasks (over 50 ms) are what make a page feel stuck; none may come near
# this while events arrive and the relative times tick.
LONGEST_TASK_MS = 200
LOAD_BUDGET_S = 5

# Installed before the page's own scripts (through the DevTools protocol, so the
# page's CSP does not apply): every long task the page runs is recorded.
WATCH_LONG_TASKS = """
window.longTasks = [];
new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


class Loaded(NamedTuple):
    page: Page
    seconds: float  # from asking for the page to a thousand cards drawn


@pytest.fixture
def loaded(context: BrowserContext, page: Page) -> Loaded:
    context.add_init_script(WATCH_LONG_TASKS)
    sign_in(context)
    started = time.monotonic()
    page.goto("/admin/jobs")
    expect(page.locator("[data-job]")).to_have_count(JOB_COUNT, timeout=20_000)
    expect(part(page, "cards")).to_have_attribute("aria-busy", "false")
    expect(part(page, "connection")).to_have_text("Live")
    return Loaded(page, time.monotonic() - started)


def long_tasks(page: Page) -> list[float]:
    tasks: list[float] = page.evaluate("window.longTasks.splice(0)")
    return tasks


def test_a_thousand_jobs_load_filter_and_take_events_without_stalling(
    loaded: Loaded, api: Api
) -> None:
    many_page, load_s = loaded
    assert load_s < LOAD_BUDGET_S, f"{JOB_COUNT} cards took {load_s:.1f} s"
    print(f"\n{JOB_COUNT} cards drawn in {load_s:.2f} s")
    long_tasks(many_page)  # what loading took is measured above

    count = part(many_page, "filter-count")
    started = time.monotonic()
    part(many_page, "filter-text").fill("job-0999")
    expect(count).to_have_text(f"1 of {JOB_COUNT} jobs shown")
    expect(card(many_page, "job-0999")).to_be_visible()
    filtered_s = time.monotonic() - started
    part(many_page, "filter-category").select_option("mail")
    part(many_page, "filter-text").fill("")
    expect(count).to_have_text(f"200 of {JOB_COUNT} jobs shown")
    part(many_page, "filter-category").select_option("")
    expect(count).to_have_text(f"{JOB_COUNT} jobs")

    for index in range(0, JOB_COUNT, 20):  # 50 events, spread over the page
        api.control("POST", f"/api/jobs/job-{index:04d}/pause")
    expect(part(card(many_page, "job-0980"), "status")).to_have_text("paused")
    many_page.wait_for_timeout(2_500)  # the relative times tick meanwhile
    tasks = long_tasks(many_page)
    print(f"filter in {filtered_s:.2f} s; long tasks after loading: {tasks}")
    assert max(tasks, default=0) < LONGEST_TASK_MS, tasks
    assert filtered_s < 2, filtered_s


def test_a_stream_event_updates_one_card_without_touching_the_others(
    loaded: Loaded, api: Api
) -> None:
    many_page = loaded.page
    many_page.evaluate(
        """() => {
            const grid = document.querySelector('[data-field="cards"]');
            window.cardsBefore = [...grid.querySelectorAll("[data-job]")];
            window.touched = new Set();
            window.watcher = new MutationObserver((records) => {
                for (const record of records) {
                    const node = record.target.nodeType === 1
                        ? record.target : record.target.parentElement;
                    // Relative times tick on every card: that is not a redraw.
                    if (node.closest("time")) continue;
                    const changed = node.closest("[data-job]");
                    window.touched.add(changed ? changed.dataset.job : "(the grid)");
                }
            });
            window.watcher.observe(grid, {
                subtree: true, childList: true, attributes: true, characterData: true,
            });
        }"""
    )
    job: dict[str, Any] = api.control("POST", "/api/jobs/job-0500/pause")
    assert job["paused"] is True
    expect(part(card(many_page, "job-0500"), "status")).to_have_text("paused")
    many_page.wait_for_timeout(300)  # anything else the event would have done

    same, touched = many_page.evaluate(
        """() => {
            window.watcher.disconnect();
            const grid = document.querySelector('[data-field="cards"]');
            const now = [...grid.querySelectorAll("[data-job]")];
            const same = now.length === window.cardsBefore.length
                && now.every((card, index) => card === window.cardsBefore[index]);
            return [same, [...window.touched]];
        }"""
    )
    assert same, "cards were replaced"
    assert touched == ["job-0500"], touched

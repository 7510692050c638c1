"""Filtering the cards by category and text, and pausing or resuming several
jobs in one action, one API call per job, with failures reported per job
(SPEC §4).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.browsing import (
    Api,
    action,
    card,
    part,
    skip_without_chromium,
)

skip_without_chromium()

from playwright.sync_api import Page, Request, Route, expect  # noqa: E402

pytestmark = pytest.mark.e2e

JOBS = {
    "backup-db": ("backups", "Dumps the database."),
    "backup-files": ("backups", "Copies the file store."),
    "backup-verify": ("backups", "Restores last night's dump to check it."),
    "dns-zone-sync": ("dns", "Pushes the zone to the secondaries."),
    "dns-blocklist": ("dns", "Refreshes the block lists."),
    "disk-report": ("system", "Reports free disk space."),
    "log-rotate": ("system", "Rotates the logs."),
}
CONFIG = "[stock]\nenabled = false\n" + "".join(
    f"""
[[jobs]]
name = "{name}"
interval = "1h"
command = ["true"]
category = "{category}"
description = "{description}"
first_delay = "1h"
"""
    for name, (category, description) in JOBS.items()
)


def shown_names(page: Page) -> list[str]:
    names: list[str] = page.locator("[data-job]:visible").evaluate_all(
        "cards => cards.map(card => card.dataset.job)"
    )
    return names


def test_cards_filter_by_category_and_by_text(jobs_page: Page) -> None:
    count = part(jobs_page, "filter-count")
    expect(count).to_have_text("7 jobs")
    category = part(jobs_page, "filter-category")
    expect(category.locator("option")).to_have_text(
        ["All categories", "backups", "dns", "system"]
    )

    category.select_option("backups")
    expect(count).to_have_text("3 of 7 jobs shown")
    assert shown_names(jobs_page) == ["backup-db", "backup-files", "backup-verify"]

    text = part(jobs_page, "filter-text")
    text.fill("DUMP")  # any case, names, descriptions and categories
    expect(count).to_have_text("2 of 7 jobs shown")
    assert shown_names(jobs_page) == ["backup-db", "backup-verify"]

    category.select_option("")
    text.fill("zone secondaries")  # every word must match
    expect(count).to_have_text("1 of 7 jobs shown")
    assert shown_names(jobs_page) == ["dns-zone-sync"]

    text.fill("no such job")
    expect(part(jobs_page, "no-match")).to_be_visible()
    expect(count).to_have_text("0 of 7 jobs shown")
    text.fill("")
    expect(count).to_have_text("7 jobs")
    expect(part(jobs_page, "no-match")).to_be_hidden()


def test_several_selected_jobs_pause_in_one_action(jobs_page: Page, api: Api) -> None:
    calls: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and "/api/jobs/" in request.url:
            calls.append(request.url.rsplit("/api/jobs/", 1)[1])

    jobs_page.on("request", note)
    for name in ("dns-blocklist", "log-rotate"):
        card(jobs_page, name).get_by_role("checkbox", name=f"Select {name}").check()
    expect(part(jobs_page, "selected-count")).to_have_text("2 selected")
    expect(action(jobs_page, "bulk-resume")).to_be_enabled()

    action(jobs_page, "bulk-pause").click()
    expect(part(jobs_page, "bulk-summary")).to_have_text("Paused 2 jobs.")
    for name in ("dns-blocklist", "log-rotate"):
        expect(part(card(jobs_page, name), "status")).to_have_text("paused")
        assert api.job(name)["paused"] is True
    assert sorted(calls) == ["dns-blocklist/pause", "log-rotate/pause"]
    assert api.job("disk-report")["paused"] is False

    action(jobs_page, "clear-selection").click()
    expect(part(jobs_page, "selected-count")).to_have_text("None selected")
    expect(part(card(jobs_page, "log-rotate"), "select")).not_to_be_checked()


def test_all_of_a_category_resume_and_a_failure_is_named(
    jobs_page: Page, api: Api
) -> None:
    for name in ("backup-db", "backup-files", "backup-verify"):
        api.control("POST", f"/api/jobs/{name}/pause")
    api.control("POST", "/api/jobs/dns-blocklist/pause")
    expect(part(card(jobs_page, "backup-db"), "status")).to_have_text("paused")

    def refuse(route: Route) -> None:
        body = {"error": {"code": "store_error", "message": "the database is down"}}
        route.fulfill(
            status=503, content_type="application/json", body=json.dumps(body)
        )

    jobs_page.route("**/api/jobs/backup-files/resume", refuse)
    part(jobs_page, "filter-category").select_option("backups")
    select_all = part(jobs_page, "select-shown")
    expect(part(jobs_page, "select-shown-label")).to_have_text(
        "Select all 3 in backups"
    )
    select_all.check()
    expect(part(jobs_page, "selected-count")).to_have_text("3 selected")

    action(jobs_page, "bulk-resume").click()
    report = part(jobs_page, "bulk-report")
    expect(part(report, "bulk-summary")).to_have_text("Resumed 2 of 3 jobs; 1 failed:")
    failures = part(report, "bulk-failures").locator("li")
    expect(failures).to_have_count(1)
    expect(failures).to_have_text("backup-files: the database is down")
    expect(part(card(jobs_page, "backup-files"), "action-error")).to_have_text(
        "the database is down"
    )
    assert api.job("backup-db")["paused"] is False
    assert api.job("backup-verify")["paused"] is False
    assert api.job("backup-files")["paused"] is True
    assert api.job("dns-blocklist")["paused"] is True  # not in the category


def test_a_selection_never_hides_behind_the_filter(jobs_page: Page) -> None:
    for name in ("backup-db", "disk-report"):
        part(card(jobs_page, name), "select").check()
    expect(part(jobs_page, "selected-count")).to_have_text("2 selected")
    select_all = part(jobs_page, "select-shown")
    assert select_all.evaluate("box => box.indeterminate") is True

    # Pausing what cannot be seen would surprise: hidden cards are let go.
    part(jobs_page, "filter-text").fill("backup")
    expect(part(jobs_page, "selected-count")).to_have_text("1 selected")
    expect(part(jobs_page, "select-shown-label")).to_have_text(
        re.compile(r"^Select all 3 shown$")
    )
    part(jobs_page, "filter-text").fill("")
    expect(part(card(jobs_page, "disk-report"), "select")).not_to_be_checked()
    expect(part(card(jobs_page, "backup-db"), "select")).to_be_checked()

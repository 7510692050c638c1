"""What a card tells beyond its facts (SPEC §4): a sparkline of recent run
durations, a plain-words answer to "why is it not running?", a pause with an
end chosen from the card, and the interval editor's preview of the next runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.browsing import (
    MOMENT,
    Api,
    action,
    card,
    focus_ring,
    part,
    skip_without_chromium,
    wait_until_idle,
)

skip_without_chromium()

from playwright.sync_api import Locator, Page, Request, expect  # noqa: E402

pytestmark = pytest.mark.e2e

CONFIG = """\
[stock]
enabled = false

[[jobs]]
name = "flaky-mirror"
interval = "30m"
callable = "tests.browser.jobs_for_tests:flaky_mirror"
category = "mirrors"
description = "Fails every other run."
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

ISO = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z")


def iso_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the sparkline -----------------------------------------------------------


def test_the_sparkline_tells_failures_by_shape_and_in_words(
    jobs_page: Page, api: Api
) -> None:
    flaky = card(jobs_page, "flaky-mirror")
    expect(part(flaky, "sparkline_row")).to_be_hidden()  # no runs yet
    for _ in range(4):  # fails, succeeds, fails, succeeds
        api.control("POST", "/api/jobs/flaky-mirror/run")
        wait_until_idle(api)
    recent = api.job("flaky-mirror")["recent_runs"]
    assert [run["outcome"] for run in recent] == ["error", "success"] * 2

    chart = flaky.get_by_role("img", name=re.compile(r"^Durations of the last 4"))
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute(
        "aria-label",
        re.compile(r"^Durations of the last 4 runs: 2 succeeded, 2 failed; "),
    )
    failed = chart.locator(".spark-run--failed")
    succeeded = chart.locator(".spark-run--ok")
    expect(failed).to_have_count(2)
    expect(succeeded).to_have_count(2)
    # Not by colour alone: each failure carries a cross, no success does.
    expect(failed.locator(".spark-mark")).to_have_count(2)
    expect(succeeded.locator(".spark-mark")).to_have_count(0)
    fill = "e => getComputedStyle(e.querySelector('.spark-bar')).fill"
    assert failed.first.evaluate(fill) != succeeded.first.evaluate(fill)
    expect(failed.first.locator("title")).to_have_text(re.compile(r"^error, \d+ ms$"))

    # A new run redraws it, from the stream.
    api.control("POST", "/api/jobs/flaky-mirror/run")
    chart = flaky.get_by_role("img", name=re.compile(r"^Durations of the last 5"))
    expect(chart.locator(".spark-run")).to_have_count(5)


# --- why is it not running? --------------------------------------------------


def why(page: Page, name: str) -> Locator:
    return part(card(page, name), "why_not_running")


def words_without_times(text: str) -> str:
    return ISO.sub("<time>", text)


def test_why_a_job_is_not_running_is_said_in_words_with_local_times(
    jobs_page: Page, api: Api
) -> None:
    job = api.job("quick-job")
    answer = job["why_not_running"]
    assert answer["reason"] == "waiting"
    shown = why(jobs_page, "quick-job")
    expect(shown).to_have_attribute("data-reason", "waiting")
    expect(shown).to_have_text(
        re.compile(rf"^waiting for its next tick, due at {MOMENT}$")
    )
    expect(shown.locator("time")).to_have_attribute("datetime", job["next_run_at"])
    expect(shown.locator("time")).to_have_attribute("title", re.compile("20"))
    # Only the times changed: the words are the server's.
    rendered = shown.evaluate(
        "e => [...e.childNodes].map(n => n.nodeName === 'TIME' ? n.dateTime"
        " : n.textContent).join('')"
    )
    assert rendered == answer["text"]

    api.control("POST", "/api/jobs/quick-job/pause")
    expect(shown).to_have_attribute("data-reason", "paused")
    expect(shown).to_have_text(
        re.compile(rf"^paused by admin since {MOMENT}, until someone resumes it$")
    )
    text = api.job("quick-job")["why_not_running"]["text"]
    rendered = re.sub(MOMENT, "<time>", shown.text_content() or "")
    assert words_without_times(text) == rendered

    api.control("POST", "/api/jobs/linger-job/run")
    expect(part(card(jobs_page, "linger-job"), "status")).to_have_text("running")
    expect(why(jobs_page, "linger-job")).to_be_hidden()


# --- a pause with an end -----------------------------------------------------


def test_pause_for_two_hours_from_the_card_by_keyboard(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    opener = action(quick, "pause-menu")
    expect(opener).to_have_accessible_name("Pause quick-job for a while")
    opener.focus()
    assert focus_ring(opener) != "none"
    jobs_page.keyboard.press("Enter")
    dialog = jobs_page.get_by_role("dialog", name="Pause quick-job")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="For 30 minutes")).to_be_focused()

    jobs_page.keyboard.press("Escape")  # changes nothing
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert api.job("quick-job")["paused"] is False

    jobs_page.keyboard.press("Enter")
    jobs_page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="For 2 hours")).to_be_focused()
    asked = datetime.now(UTC)
    jobs_page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    expect(part(quick, "status")).to_have_text("paused")

    job = api.job("quick-job")
    until = iso_time(job["paused_until"])
    assert abs(until - (asked + timedelta(hours=2))) < timedelta(seconds=30)
    note = part(quick, "paused_note")
    expect(note).to_have_text(re.compile(rf"^until {MOMENT}, by admin$"))
    expect(note.locator("time")).to_have_attribute("datetime", job["paused_until"])
    expect(part(quick, "next_run")).to_have_text("paused")

    # On the paused job, "Until resumed" takes the end away.
    opener.click()
    dialog.get_by_role("button", name="Until resumed").click()
    expect(dialog).to_be_hidden()
    expect(note).to_have_text("by admin")
    assert (api.job("quick-job")["paused"], api.job("quick-job")["paused_until"]) == (
        True,
        None,
    )


def test_pause_until_a_chosen_time_and_a_refused_time(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    action(quick, "pause-menu").click()
    dialog = part(jobs_page, "pause-dialog")
    expect(dialog).to_be_visible()
    until = dialog.locator("input[name=until]")
    expect(part(dialog, "pause-zone")).to_contain_text("your time zone")

    # The input takes local wall time: the page turns it into UTC.
    past, ahead = jobs_page.evaluate(
        """() => {
            const local = (ms) => {
                const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
                return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
                    + `T${p(d.getHours())}:${p(d.getMinutes())}`;
            };
            const ahead = Math.ceil(Date.now() / 60000) * 60000 + 3 * 3600000;
            return [local(Date.now() - 3600000), [local(ahead), ahead]];
        }"""
    )
    until.fill(past)
    until.press("Enter")
    error = part(dialog, "pause-error")
    expect(error).to_contain_text("must lie in the future")
    expect(until).to_have_attribute("aria-invalid", "true")
    assert api.job("quick-job")["paused"] is False

    until.fill(ahead[0])
    dialog.get_by_role("button", name="Pause until then").click()
    expect(dialog).to_be_hidden()
    expect(part(quick, "status")).to_have_text("paused")
    paused_until = iso_time(api.job("quick-job")["paused_until"])
    assert paused_until == datetime.fromtimestamp(ahead[1] / 1000, UTC)
    expect(part(quick, "paused_note")).to_contain_text(re.compile(r"\(in (3h|2h 59m)"))


# --- the interval editor's preview -------------------------------------------


def test_the_interval_editor_previews_the_canonical_form_and_next_runs(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    previews: list[str] = []

    def note(request: Request) -> None:
        if "/interval/preview" in request.url:
            previews.append(request.url)

    jobs_page.on("request", note)
    action(quick, "interval").click()
    editor = quick.locator("input[name=interval]")
    preview = part(quick, "interval-preview")
    expect(part(preview, "preview-interval")).to_have_text("1h")  # on opening

    editor.press_sequentially("90m", delay=40)
    expect(part(preview, "preview-interval")).to_have_text("1h30m")
    runs = part(preview, "preview-runs").locator("time")
    expect(runs).to_have_count(3)
    expected = api.get("/api/jobs/quick-job/interval/preview?interval=90m")
    for index, at in enumerate(expected["next_runs"]):
        shown = iso_time(runs.nth(index).get_attribute("datetime") or "")
        assert abs(shown - iso_time(at)) < timedelta(seconds=10)
        expect(runs.nth(index)).to_have_text(re.compile(rf"^{MOMENT}$"))
    # Debounced: one question per pause in typing, not one per key.
    assert len(previews) <= 3, previews

    editor.fill("5M")
    expect(preview).to_have_attribute("data-state", "refused")
    expect(preview).to_contain_text("'M' is not a unit")
    expect(runs).to_have_count(0)
    assert api.job("quick-job")["interval"] == "1h"  # a preview changes nothing

    editor.fill("")
    expect(part(preview, "preview-text")).to_have_text(re.compile(r"^Type an interval"))
    api.control("POST", "/api/jobs/quick-job/pause")
    editor.fill("2h")
    expect(preview).to_contain_text("The job is paused: no runs until it resumes.")
    editor.press("Escape")
    expect(editor).to_be_hidden()

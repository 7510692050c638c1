"""The Jobs page (SPEC §4) in a real Chromium against a real `jobdeck serve`.

The server runs as a subprocess on 127.0.0.1 with its own data directory and a
config of test jobs only. Each test gets a fresh browser context signed in as
the admin; changes "made elsewhere" go through the JSON API.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.browser.browsing import (
    ARTIFACTS,
    PASSWORD,
    RELATIVE_DUE,
    RELATIVE_PAST,
    Api,
    action,
    card,
    fits_width,
    held_requests,
    part,
    rgb,
    serving,
    sign_in,
    skip_without_chromium,
    wait_for_held,
    wait_until_idle,
)

skip_without_chromium()

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    Route,
    expect,
)

pytestmark = pytest.mark.e2e

CONFIG = """\
[stock]
enabled = false

[[jobs]]
name = "slow-job"
interval = "1h"
command = ["sleep", "2"]
category = "test"
description = "Sleeps two seconds."
first_delay = "1h"

[[jobs]]
name = "failing-job"
interval = "1h"
command = ["sh", "-c", "echo disk full >&2; exit 3"]
category = "test"
description = "Always fails."
first_delay = "1h"

[[jobs]]
name = "quick-job"
interval = "1h"
command = ["true"]
category = "system"
description = "Does nothing, quickly."
first_delay = "1h"

[[jobs]]
name = "markup-job"
interval = "30m"
command = ["sh", "-c", "echo '<img src=x data-injected=1>bad <b>pipe</b>' >&2; exit 1"]
category = "dns"
description = "Says <b>hello</b> & <i>bye</i>."
first_delay = "1h"

[[jobs]]
name = "halfway-job"
interval = "1h"
callable = "tests.browser.jobs_for_tests:half_way"
category = "test"
description = "Reports half its work done, then waits to be cancelled."
first_delay = "1h"

[[jobs]]
name = "overrun-job"
interval = "1h"
callable = "tests.browser.jobs_for_tests:slow_after_three"
category = "test"
description = "Quick three times, then far slower than usual."
first_delay = "1h"
"""


# --- signing in --------------------------------------------------------------


def test_signing_in_through_the_page_opens_the_jobs_page(page: Page) -> None:
    page.goto("/admin/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/jobs$"))

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('[data-field="login-error"]')).to_be_visible()
    expect(page.locator('[data-field="login-error"]')).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/jobs$"))
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Administration")
    expect(sidebar.get_by_text("Administration")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Jobs")).to_have_attribute(
        "aria-current", "page"
    )
    expect(card(page, "slow-job")).to_be_visible()


def test_signing_out_returns_to_the_sign_in_page(jobs_page: Page) -> None:
    jobs_page.get_by_role("button", name="Sign out").click()
    expect(jobs_page).to_have_url(re.compile(r"/login$"))

    jobs_page.goto("/admin/jobs")
    expect(jobs_page).to_have_url(re.compile(r"/login\?next=/admin/jobs$"))


# --- the cards ---------------------------------------------------------------


def test_every_card_shows_every_field(jobs_page: Page, api: Api) -> None:
    expect(part(jobs_page, "scheduler")).to_have_text("Scheduler running")
    expect(part(jobs_page, "scheduler")).to_have_attribute("data-state", "running")
    expect(part(jobs_page, "live-paused")).to_be_hidden()

    for job in api.get("/api/jobs")["jobs"]:
        shown = card(jobs_page, job["name"])
        expect(part(shown, "name")).to_have_text(job["name"])
        expect(part(shown, "category")).to_have_text(job["category"])
        expect(part(shown, "description")).to_have_text(job["description"])
        expect(part(shown, "status")).to_have_text(job["status"])
        expect(part(shown, "interval")).to_have_text(job["interval"])
        expect(part(shown, "run_count")).to_have_text(str(job["run_count"]))
        last_run = "never" if job["last_run_at"] is None else RELATIVE_PAST
        expect(part(shown, "last_run")).to_have_text(last_run)
        expect(part(shown, "next_run")).to_have_text(RELATIVE_DUE)
        expect(part(shown, "next_run")).to_have_attribute(
            "title", re.compile(r"20\d\d")
        )
        expect(part(shown, "default_interval")).to_be_hidden()
        if job["last_error"]:
            expect(part(shown, "last_error")).to_contain_text(job["last_error"])
        else:
            expect(part(shown, "last_error")).to_be_hidden()
        for name in ("run", "pause", "interval"):
            expect(action(shown, name)).to_be_visible()


def test_relative_times_tick_without_server_traffic(jobs_page: Page, api: Api) -> None:
    last_run = part(card(jobs_page, "quick-job"), "last_run")
    api.control("POST", "/api/jobs/quick-job/run")
    expect(last_run).to_have_text(RELATIVE_PAST)
    requests: list[str] = []
    jobs_page.on("request", lambda request: requests.append(request.url))

    for _ in range(2):
        shown = last_run.text_content() or ""
        expect(last_run).not_to_have_text(shown)
        expect(last_run).to_have_text(re.compile(r"^\d+s ago$"))
    assert requests == []


def test_run_now_shows_running_then_idle_and_counts_the_run(jobs_page: Page) -> None:
    slow = card(jobs_page, "slow-job")
    count = int(part(slow, "run_count").text_content() or "0")
    jobs_page.evaluate("window.notReloaded = true")

    action(slow, "run").click()
    expect(part(slow, "status")).to_have_text("running")
    expect(part(slow, "progress")).to_be_visible()
    expect(part(slow, "status")).to_have_text("idle", timeout=10_000)
    expect(part(slow, "run_count")).to_have_text(str(count + 1))
    expect(part(slow, "last_run")).to_have_text(RELATIVE_PAST)
    expect(part(slow, "last_run")).to_have_attribute("title", re.compile(r"20\d\d"))
    assert jobs_page.evaluate("window.notReloaded") is True


def test_run_now_is_disabled_at_once_and_while_the_job_runs(jobs_page: Page) -> None:
    slow = card(jobs_page, "slow-job")
    held: list[Route] = []
    jobs_page.route("**/api/jobs/slow-job/run", lambda route: held.append(route))

    action(slow, "run").click()
    expect(action(slow, "run")).to_be_disabled()
    expect(part(slow, "status")).to_have_text("idle")
    assert len(held) == 1

    held[0].continue_()
    expect(part(slow, "status")).to_have_text("running")
    expect(action(slow, "run")).to_be_disabled()
    expect(part(slow, "status")).to_have_text("idle", timeout=10_000)
    expect(action(slow, "run")).to_be_enabled()


def test_run_now_refused_by_the_server_shows_the_conflict(
    jobs_page: Page, api: Api
) -> None:
    slow = card(jobs_page, "slow-job")
    jobs_page.locator('[data-action="live"]').click()  # the card still says idle
    api.control("POST", "/api/jobs/slow-job/run")

    action(slow, "run").click()
    problem = part(slow, "action-error")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("already running")
    jobs_page.locator('[data-action="live"]').click()
    expect(part(slow, "status")).to_have_text("running")
    expect(action(slow, "run")).to_be_disabled()


def test_pause_shows_the_paused_badge_and_the_triangle(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    pause = action(quick, "pause")
    expect(pause).to_have_attribute("aria-label", "Pause")

    pause.click()
    expect(part(quick, "status")).to_have_text("paused")
    expect(part(quick, "next_run")).to_have_text("paused")
    expect(pause).to_have_attribute("aria-label", "Resume")
    expect(pause.locator('[data-icon="resume"]')).to_be_visible()
    expect(pause.locator('[data-icon="pause"]')).to_be_hidden()
    assert api.job("quick-job")["paused"] is True


def test_resume_brings_back_the_two_bars(jobs_page: Page, api: Api) -> None:
    quick = card(jobs_page, "quick-job")
    pause = action(quick, "pause")
    pause.click()
    expect(pause).to_have_attribute("aria-label", "Resume")

    jobs_page.get_by_role("button", name="Resume", exact=True).click()
    expect(pause).to_have_attribute("aria-label", "Pause")
    expect(pause.locator('[data-icon="pause"]')).to_be_visible()
    expect(pause.locator('[data-icon="resume"]')).to_be_hidden()
    expect(part(quick, "status")).to_have_text("idle")
    expect(part(quick, "next_run")).to_have_text(RELATIVE_DUE)
    assert api.job("quick-job")["paused"] is False


# --- the interval editor -----------------------------------------------------


def test_an_invalid_interval_shows_its_message_inline_and_changes_nothing(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    action(quick, "interval").click()
    editor = quick.locator("input[name=interval]")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("1h")

    editor.fill("5M")
    action(quick, "save").click()
    error = part(quick, "interval-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("'M' is not a unit")
    expect(editor).to_be_visible()
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(part(quick, "interval")).to_have_text("1h")
    job = api.job("quick-job")
    assert (job["interval"], job["interval_overridden"]) == ("1h", False)


def test_escape_cancels_the_interval_editor(jobs_page: Page, api: Api) -> None:
    quick = card(jobs_page, "quick-job")
    action(quick, "interval").click()
    editor = quick.locator("input[name=interval]")
    editor.fill("2h")

    editor.press("Escape")
    expect(editor).to_be_hidden()
    expect(action(quick, "interval")).to_be_focused()
    expect(part(quick, "interval")).to_have_text("1h")
    assert api.job("quick-job")["interval"] == "1h"


def test_a_valid_interval_is_saved_and_shown_with_the_default(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    action(quick, "interval").click()
    editor = quick.locator("input[name=interval]")
    editor.fill("90m")

    editor.press("Enter")
    expect(editor).to_be_hidden()
    expect(part(quick, "interval")).to_have_text("1h30m")
    expect(part(quick, "default_interval")).to_have_text("(default 1h)")
    assert api.job("quick-job")["interval"] == "1h30m"

    action(quick, "reset-interval").click()
    expect(part(quick, "interval")).to_have_text("1h")
    expect(part(quick, "default_interval")).to_be_hidden()
    expect(action(quick, "reset-interval")).to_be_hidden()
    assert api.job("quick-job")["interval_overridden"] is False


def test_the_interval_editor_works_by_keyboard_alone(jobs_page: Page, api: Api) -> None:
    target = action(card(jobs_page, "quick-job"), "interval")
    for _ in range(80):
        jobs_page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    expect(target).to_be_focused()
    outline = target.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none"

    jobs_page.keyboard.press("Enter")
    expect(card(jobs_page, "quick-job").locator("input[name=interval]")).to_be_focused()
    jobs_page.keyboard.press("ControlOrMeta+a")
    jobs_page.keyboard.type("2h")
    jobs_page.keyboard.press("Enter")
    expect(part(card(jobs_page, "quick-job"), "interval")).to_have_text("2h")
    assert api.job("quick-job")["interval"] == "2h"


def test_a_viewer_sees_the_cards_without_controls(
    context: BrowserContext, page: Page, api: Api
) -> None:
    viewer = {"username": "viewer", "password": "viewer-password-1", "role": "viewer"}
    status, answer = api.send("POST", "/api/users", viewer)
    if status in (404, 405):
        pytest.skip("the server has no POST /api/users to create a viewer yet")
    assert status in (200, 201, 409), answer
    credentials = {"username": viewer["username"], "password": viewer["password"]}
    signed_in = context.request.post("/api/session", data=credentials)
    assert signed_in.status == 200, signed_in.text()

    page.goto("/admin/jobs")
    expect(page.locator("body")).to_have_attribute("data-role", "viewer")
    quick = card(page, "quick-job")
    expect(part(quick, "status")).to_have_text("idle")
    # Reading the job's history is all a viewer may do from a card.
    expect(quick.locator("[data-action]")).to_have_count(1)
    expect(action(quick, "details")).to_be_visible()
    expect(part(quick, "select")).to_have_count(0)
    expect(page.locator('[data-action^="bulk-"]')).to_have_count(0)
    expect(page.locator('[data-action="live"]')).to_be_visible()


# --- live updates ------------------------------------------------------------


def test_cards_update_by_polling_when_the_stream_is_blocked(
    context: BrowserContext, page: Page, api: Api
) -> None:
    polls: list[float] = []
    page.route("**/api/jobs/sse", lambda route: route.abort())
    page.on(
        "request",
        lambda request: (
            polls.append(time.monotonic())
            if request.url.endswith("/api/jobs")
            else None
        ),
    )
    sign_in(context)
    page.goto("/admin/jobs")
    quick = card(page, "quick-job")
    expect(part(quick, "status")).to_have_text("idle")
    expect(part(page, "connection")).to_contain_text("every 5 s")

    api.control("POST", "/api/jobs/quick-job/pause")
    expect(part(quick, "status")).to_have_text("paused", timeout=6_000)
    expect(part(quick, "next_run")).to_have_text("paused")

    elapsed = polls[-1] - polls[0]
    assert len(polls) <= elapsed / 4.5 + 1, f"{len(polls)} polls in {elapsed:.1f} s"


def test_the_page_returns_to_the_stream_and_stops_polling(
    context: BrowserContext, page: Page
) -> None:
    page.route("**/api/jobs/sse", lambda route: route.abort())
    sign_in(context)
    page.goto("/admin/jobs")
    expect(part(page, "connection")).to_contain_text("every 5 s")
    expect(card(page, "quick-job")).to_be_visible()

    page.unroute("**/api/jobs/sse")
    # The stream is retried with backoff (1 s, 2 s, 4 s, ... at most 30 s).
    expect(part(page, "connection")).to_have_text("Live", timeout=35_000)
    polls: list[str] = []
    page.on(
        "request",
        lambda request: (
            polls.append(request.url) if request.url.endswith("/api/jobs") else None
        ),
    )
    page.wait_for_timeout(5_500)  # one polling period: no poll while the stream is open
    assert polls == []


def test_pausing_live_updates_freezes_the_cards_until_resumed(
    jobs_page: Page, api: Api
) -> None:
    quick = card(jobs_page, "quick-job")
    live = jobs_page.locator('[data-action="live"]')
    live.click()
    expect(live).to_have_text("Resume live updates")
    expect(part(jobs_page, "live-paused")).to_be_visible()
    expect(part(jobs_page, "live-paused")).to_have_text("Paused")

    witness = start_event_witness(jobs_page, "quick-job")
    api.control("POST", "/api/jobs/quick-job/pause")
    witness.wait_for_version_above(jobs_page)
    jobs_page.wait_for_timeout(300)  # the page's own stream got the same event
    expect(part(quick, "status")).to_have_text("idle")
    expect(part(quick, "next_run")).to_have_text(RELATIVE_DUE)

    live.click()
    expect(live).to_have_text("Pause live updates")
    expect(part(jobs_page, "live-paused")).to_be_hidden()
    expect(part(quick, "status")).to_have_text("paused", timeout=1_000)
    expect(part(quick, "next_run")).to_have_text("paused", timeout=1_000)


class EventWitness:
    """A second EventSource in the page: proof that the server sent an event."""

    def __init__(self, name: str, version: int) -> None:
        self.name = name
        self.version = version

    def wait_for_version_above(self, page: Page) -> None:
        page.wait_for_function(
            "([name, version]) => (window.witnessed[name] || 0) > version",
            arg=[self.name, self.version],
        )


def start_event_witness(page: Page, name: str) -> EventWitness:
    version = page.evaluate(
        """async (name) => {
            window.witnessed = {};
            const source = new EventSource("/api/jobs/sse");
            window.witnessSource = source;
            source.addEventListener("job", (event) => {
                const job = JSON.parse(event.data);
                window.witnessed[job.name] = job.version;
            });
            const snapshot = await new Promise((resolve) =>
                source.addEventListener("snapshot", (event) =>
                    resolve(JSON.parse(event.data)), { once: true }));
            return snapshot.jobs.find((job) => job.name === name).version;
        }""",
        name,
    )
    return EventWitness(name, int(version))


def test_signing_out_elsewhere_shows_that_the_session_expired(
    context: BrowserContext, jobs_page: Page
) -> None:
    csrf = jobs_page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = context.request.delete(
        "/api/session", headers={"X-CSRF-Token": csrf or ""}
    )
    assert answer.status == 204, answer.text()

    expired = part(jobs_page, "session-expired")
    expect(expired).to_be_visible(timeout=10_000)
    expect(expired).to_have_text("Session expired — sign in again")
    expect(expired.get_by_role("link", name="sign in again")).to_have_attribute(
        "href", re.compile(r"^/login")
    )

    requests: list[str] = []
    jobs_page.on("request", lambda request: requests.append(request.url))
    jobs_page.wait_for_timeout(5_500)  # one polling period: nothing more is asked
    assert requests == []


def test_a_second_server_on_the_same_data_shows_the_scheduler_stopped(
    browser: Browser, server: str, server_home: Path
) -> None:
    with serving(server_home, CONFIG, "second-serve.log") as second:
        context = browser.new_context(base_url=second)
        try:
            page = context.new_page()
            sign_in(context)
            page.goto("/admin/jobs")
            scheduler = part(page, "scheduler")
            expect(scheduler).to_have_text(re.compile(r"^Scheduler stopped: .+"))
            expect(scheduler).to_have_attribute("data-state", "stopped")
            red, green, blue = rgb(scheduler)
            assert red > 150 and green < 80 and blue < 80, (red, green, blue)
            expect(card(page, "slow-job")).to_be_visible()
        finally:
            context.close()


# --- errors and text ---------------------------------------------------------


def test_a_failing_run_shows_its_error_in_red(jobs_page: Page, api: Api) -> None:
    failing = card(jobs_page, "failing-job")
    expect(part(failing, "last_error")).to_be_hidden()

    api.control("POST", "/api/jobs/failing-job/run")
    error = part(failing, "last_error")
    expect(error).to_be_visible(timeout=10_000)
    expect(error).to_contain_text("disk full")
    expect(part(failing, "status")).to_have_text("error")
    red, green, blue = rgb(part(failing, "last_error_summary"))
    assert red > 150 and green < 80 and blue < 80, (red, green, blue)

    part(failing, "last_error_summary").click()
    expect(part(failing, "last_error_text")).to_be_visible()
    expect(part(failing, "last_error_text")).to_have_text(
        api.job("failing-job")["last_error"]
    )


def test_job_text_is_shown_as_text_never_as_markup(jobs_page: Page, api: Api) -> None:
    markup = card(jobs_page, "markup-job")
    expect(part(markup, "description")).to_have_text("Says <b>hello</b> & <i>bye</i>.")

    api.control("POST", "/api/jobs/markup-job/run")
    expect(part(markup, "last_error")).to_contain_text("<img src=x", timeout=10_000)
    assert markup.locator("b, i, img").count() == 0
    assert jobs_page.locator("[data-injected]").count() == 0


# --- runs in progress --------------------------------------------------------

RUNNING_FOR = re.compile(r"^for \d+s$")


def test_cancel_ends_the_run_as_cancelled_without_reload(
    jobs_page: Page, api: Api
) -> None:
    halfway = card(jobs_page, "halfway-job")
    cancel = action(halfway, "cancel")
    expect(cancel).to_be_hidden()
    jobs_page.evaluate("window.notReloaded = true")

    action(halfway, "run").click()
    expect(part(halfway, "status")).to_have_text("running")
    expect(halfway.get_by_role("button", name="Cancel run")).to_be_enabled()
    held = held_requests(jobs_page, "**/api/jobs/halfway-job/cancel")
    cancel.click()
    expect(cancel).to_be_disabled()
    wait_for_held(jobs_page, held)
    expect(part(halfway, "status")).to_have_text("running")
    expect(cancel).to_be_disabled()

    held[0].continue_()
    expect(part(halfway, "status")).to_have_text("idle")
    expect(cancel).to_be_hidden()
    expect(part(halfway, "progress")).to_be_hidden()
    expect(part(halfway, "last_outcome")).to_contain_text("cancelled")
    expect(part(halfway, "last_error")).to_be_hidden()
    expect(part(halfway, "action-error")).to_be_hidden()
    assert api.job("halfway-job")["last_outcome"] == "cancelled"
    assert jobs_page.evaluate("window.notReloaded") is True


def test_cancel_refused_by_the_server_shows_the_conflict(
    jobs_page: Page, api: Api
) -> None:
    halfway = card(jobs_page, "halfway-job")
    api.control("POST", "/api/jobs/halfway-job/run")
    expect(part(halfway, "status")).to_have_text("running")
    jobs_page.locator('[data-action="live"]').click()  # the card keeps saying running
    api.control("POST", "/api/jobs/halfway-job/cancel")
    wait_until_idle(api)

    action(halfway, "cancel").click()
    problem = part(halfway, "action-error")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("not running")
    expect(action(halfway, "cancel")).to_be_enabled()
    jobs_page.locator('[data-action="live"]').click()
    expect(part(halfway, "status")).to_have_text("idle")
    expect(action(halfway, "cancel")).to_be_hidden()


def test_a_running_job_shows_its_progress_live(jobs_page: Page, api: Api) -> None:
    halfway = card(jobs_page, "halfway-job")
    expect(part(halfway, "progress")).to_be_hidden()

    api.control("POST", "/api/jobs/halfway-job/run")
    bar = halfway.get_by_role("progressbar", name="Run progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_js_property("value", 0.5)
    expect(bar).to_have_attribute("aria-valuetext", "50%, half way")
    expect(part(halfway, "progress_percent")).to_have_text("50%")
    expect(part(halfway, "progress_message")).to_have_text("half way")
    expect(part(halfway, "running_trigger")).to_have_text("Manual run")
    since = part(halfway, "running_since")
    expect(since).to_have_text(RUNNING_FOR)
    expect(since).to_have_attribute("title", re.compile(r"20\d\d"))
    shown = since.text_content() or ""
    expect(since).not_to_have_text(shown)  # it ticks
    expect(part(halfway, "overrun")).to_be_hidden()


def test_a_run_far_longer_than_usual_shows_a_note(jobs_page: Page, api: Api) -> None:
    overrun = card(jobs_page, "overrun-job")
    for _ in range(3):  # quick runs: they make its usual duration
        api.control("POST", "/api/jobs/overrun-job/run")
        wait_until_idle(api)
    usual_ms = api.job("overrun-job")["usual_duration_ms"]
    assert usual_ms is not None and usual_ms < 1000, usual_ms

    action(overrun, "run").click()
    expect(part(overrun, "progress_message")).to_have_text("copying block 3 of 12")
    note = part(overrun, "overrun")
    expect(note).to_be_hidden()
    # Flagged once the run lasts 5 times its usual duration, and at least 10 s.
    expect(note).to_be_visible(timeout=15_000)
    expect(note).to_have_text(
        f"Running far longer than usual (usually {usual_ms} ms)", use_inner_text=True
    )
    assert api.job("overrun-job")["overrunning"] is True
    ARTIFACTS.mkdir(exist_ok=True)
    overrun.screenshot(path=ARTIFACTS / "running-card.png")

    jobs_page.set_viewport_size({"width": 320, "height": 800})
    jobs_page.emulate_media(color_scheme="dark")
    overrun.scroll_into_view_if_needed()
    fits_width(jobs_page, 320)
    overrun.screenshot(path=ARTIFACTS / "running-card-320-dark.png")

    action(overrun, "cancel").click()
    expect(part(overrun, "status")).to_have_text("idle")
    expect(note).to_be_hidden()
    expect(part(overrun, "last_outcome")).to_contain_text("cancelled")


# --- layout ------------------------------------------------------------------


def test_the_page_fits_a_large_screen_and_320_pixels(jobs_page: Page, api: Api) -> None:
    api.control("POST", "/api/jobs/failing-job/run")
    api.control("PUT", "/api/jobs/quick-job/interval", {"interval": "90m"})
    api.control("POST", "/api/jobs/markup-job/pause")
    expect(part(card(jobs_page, "failing-job"), "last_error")).to_be_visible(
        timeout=10_000
    )
    expect(part(card(jobs_page, "markup-job"), "status")).to_have_text("paused")
    ARTIFACTS.mkdir(exist_ok=True)
    jobs_page.screenshot(path=ARTIFACTS / "jobs-page.png", full_page=True)

    jobs_page.set_viewport_size({"width": 320, "height": 800})
    expect(card(jobs_page, "slow-job")).to_be_visible()
    fits_width(jobs_page, 320)
    jobs_page.screenshot(path=ARTIFACTS / "jobs-page-320.png", full_page=True)


def test_dark_mode_follows_the_system_setting(jobs_page: Page) -> None:
    jobs_page.emulate_media(color_scheme="dark")
    background = jobs_page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(value) for value in re.findall(r"\d+", background)[:3])
    assert max(red, green, blue) < 60, background
    ARTIFACTS.mkdir(exist_ok=True)
    jobs_page.screenshot(path=ARTIFACTS / "jobs-page-dark.png", full_page=True)

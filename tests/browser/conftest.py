"""Fixtures of the browser tests: per test module, one `jobdeck serve` running
that module's CONFIG and one Chromium; per test, a fresh browser context whose
page fails the test on an uncaught error or a CSP violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.browser.browsing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Api,
    card,
    serving,
    sign_in,
    wait_until_idle,
)


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobdeck")


@pytest.fixture(scope="module")
def server_config(request: pytest.FixtureRequest) -> str:
    """The module's CONFIG: the jobs its server runs."""
    config: str = request.module.CONFIG
    return config


@pytest.fixture(scope="module")
def server(server_home: Path, server_config: str) -> Iterator[str]:
    with serving(server_home, server_config) as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def api(playwright: Playwright, server: str) -> Iterator[Api]:
    request = playwright.request.new_context(base_url=server)
    yield Api(request)
    request.dispose()


@pytest.fixture(autouse=True)
def fresh_jobs(api: Api) -> None:
    """Every test starts with no job running, paused or with a changed interval."""
    for job in api.get("/api/jobs")["jobs"]:
        if job["status"] == "running":
            status, answer = api.send("POST", f"/api/jobs/{job['name']}/cancel")
            assert status in (200, 409), answer  # 409: it ended meanwhile
    for job in wait_until_idle(api):
        if job["paused"]:
            api.control("POST", f"/api/jobs/{job['name']}/resume")
        if job["interval_overridden"]:
            api.control("DELETE", f"/api/jobs/{job['name']}/interval")


@pytest.fixture
def context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=server, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page whose uncaught errors and CSP violations fail the test."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _note_console(message, problems))
    yield page
    assert problems == []


def _note_console(message: Any, problems: list[str]) -> None:
    text = message.text
    if "Content Security Policy" in text or "Refused to" in text:
        problems.append(f"CSP: {text}")
    elif message.type == "error" and "Failed to load resource" not in text:
        problems.append(f"console error: {text}")


@pytest.fixture
def jobs_page(context: BrowserContext, page: Page, api: Api) -> Page:
    """The Jobs page, signed in as admin, with its cards drawn from the stream."""
    sign_in(context)
    page.goto("/admin/jobs")
    expect(page.locator('[data-field="connection"]')).to_have_text("Live")
    names = [job["name"] for job in api.get("/api/jobs")["jobs"]]
    expect(page.locator("[data-job]")).to_have_count(len(names))
    for name in names[:10]:
        expect(card(page, name)).to_be_visible()
    return page

"""The console mounted under a path of the application that embeds it (README,
"As a library"): the Jobs page signs in, loads, streams and steers under that
path, and asks nothing of the application's own paths."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browsing import PASSWORD, action, card, part
from tests.support import REPO, free_port

MOUNT = "/jobs"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The embedding application of the e2e tests: the console under /jobs."""
    port = free_port()
    environment = {**os.environ, "EMBEDDED_ADMIN_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.embedded", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()  # its token: it has started
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(autouse=True)
def fresh_jobs() -> None:
    """Nothing to reset: the embedded app's only job runs hourly, and these
    tests leave it as they found it but for its history."""


def test_the_page_works_under_the_mount(server: str, page: Page) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"{MOUNT}/admin/jobs")
    expect(page).to_have_url(f"{server}{MOUNT}/login?next=/jobs/admin/jobs")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{server}{MOUNT}/admin/jobs")
    expect(page.locator('[data-field="connection"]')).to_have_text("Live")
    quiet = card(page, "quiet")
    expect(part(quiet, "run_count")).to_have_text("0")
    action(quiet, "run").click()
    expect(part(quiet, "run_count")).to_have_text("1")  # over the stream, under /jobs

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server}{MOUNT}/login")
    outside = [url for url in asked if not url.startswith(f"{server}{MOUNT}/")]
    assert outside == []

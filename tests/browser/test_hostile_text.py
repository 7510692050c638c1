"""Text a job controls never becomes markup (issue 4, case BC-17): categories,
descriptions, progress messages, errors and log lines holding `<script>`,
`<img onerror>` and quotes reach the page as text, nothing they hold runs, and
an error of 1 MiB on one line leaves the layout as it was, cut on the card with
a way to read the whole stored message.

Job names cannot hold markup at all: SPEC §3 allows only `a-z 0-9 - _ .`, and
the config refuses any other name (the last test).
"""

from __future__ import annotations

import pytest

from tests.browser.browsing import (
    ARTIFACTS,
    Api,
    action,
    card,
    fits_width,
    part,
    serving,
    skip_without_chromium,
)
from tests.browser.jobs_for_tests import HOSTILE, HUGE

skip_without_chromium()

from playwright.sync_api import Dialog, Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.e2e

# TOML basic strings: the hostile text with its backslash and quotes escaped.
TOML_HOSTILE = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')

CONFIG = f"""\
[stock]
enabled = false

[[jobs]]
name = "hostile-failure"
interval = "1h"
callable = "tests.browser.jobs_for_tests:hostile_failure"
category = "{TOML_HOSTILE}"
description = "{TOML_HOSTILE}"
first_delay = "1h"

[[jobs]]
name = "hostile-progress"
interval = "1h"
callable = "tests.browser.jobs_for_tests:hostile_progress"
category = "test"
description = "Reports progress in hostile text."
first_delay = "1h"

[[jobs]]
name = "huge-failure"
interval = "1h"
callable = "tests.browser.jobs_for_tests:huge_failure"
category = "test"
description = "Fails with a message of one mebibyte on a single line."
first_delay = "1h"

[[jobs]]
name = "quick-job"
interval = "1h"
command = ["true"]
category = "system"
description = "Does nothing, quickly."
first_delay = "1h"
"""

# Elements that hostile text would create if it were parsed as markup.
INJECTED = "script:not([src]), img, b, td"


def nothing_ran(page: Page, dialogs: list[str]) -> None:
    """No script the hostile text holds has run, and it created no element."""
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator(INJECTED).count() == 0


def watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []

    def note(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", note)
    return dialogs


def test_hostile_text_everywhere_is_shown_literally(jobs_page: Page, api: Api) -> None:
    dialogs = watch_dialogs(jobs_page)
    hostile = card(jobs_page, "hostile-failure")
    expect(part(hostile, "description")).to_have_text(HOSTILE)
    expect(part(hostile, "category")).to_have_text(HOSTILE)
    expect(part(hostile, "category")).to_have_attribute("title", HOSTILE)
    expect(jobs_page.locator('[data-field="filter-category"] option')).to_contain_text(
        [HOSTILE]
    )

    api.control("POST", "/api/jobs/hostile-failure/run")
    expect(part(hostile, "last_error_summary")).to_have_text(
        f"RuntimeError: {HOSTILE}", timeout=10_000
    )
    api.control("POST", "/api/jobs/hostile-progress/run")
    progress = card(jobs_page, "hostile-progress")
    expect(part(progress, "progress_message")).to_have_text(HOSTILE, timeout=10_000)
    nothing_ran(jobs_page, dialogs)

    action(hostile, "details").click()
    detail = part(jobs_page, "detail")
    expect(part(detail, "detail-description")).to_have_text(HOSTILE)
    expect(part(detail, "detail-category")).to_have_text(HOSTILE)
    latest = detail.locator("[data-run]").first
    expect(part(latest, "error")).to_have_text(f"RuntimeError: {HOSTILE}")
    part(latest, "log_label").click()
    expect(part(latest, "log_text")).to_contain_text(HOSTILE)
    part(latest, "traceback").locator("summary").click()
    expect(part(latest, "traceback_text")).to_contain_text(HOSTILE)
    nothing_ran(jobs_page, dialogs)
    ARTIFACTS.mkdir(exist_ok=True)
    jobs_page.screenshot(path=str(ARTIFACTS / "hostile-detail.png"))


def test_a_one_mebibyte_error_is_cut_and_can_be_read_whole(
    jobs_page: Page, api: Api
) -> None:
    huge = card(jobs_page, "huge-failure")
    neighbour = card(jobs_page, "quick-job")
    columns_before = columns(huge), columns(neighbour)

    api.control("POST", "/api/jobs/huge-failure/run")
    summary = part(huge, "last_error_summary")
    expect(summary).to_contain_text("RuntimeError: disk full: 0123", timeout=10_000)

    # The card gains one line, cut with an ellipsis, and keeps its width and
    # its place; so does its neighbour, and the page gains no sideways scroll.
    assert_one_cut_line(summary)
    assert (columns(huge), columns(neighbour)) == columns_before
    fits_width(jobs_page, 1280)

    # Opening it shows the whole message the server keeps, in a box that
    # scrolls rather than growing the card without end.
    stored = api.job("huge-failure")["last_error"]
    assert stored.endswith("bytes]") and "[truncated," in stored
    assert len(stored.encode()) < len(HUGE) // 100
    summary.click()
    whole = part(huge, "last_error_text")
    expect(whole).to_have_text(stored)
    assert_scrolls_within(whole, huge)
    fits_width(jobs_page, 1280)
    ARTIFACTS.mkdir(exist_ok=True)
    jobs_page.screenshot(path=str(ARTIFACTS / "hostile-text.png"), full_page=True)

    # Its run in the history shows the same message in a box that scrolls.
    action(huge, "details").click()
    detail = part(jobs_page, "detail")
    error = part(detail.locator("[data-run]").first, "error")
    expect(error).to_have_text(stored)
    assert_scrolls_within(error, detail)

    jobs_page.set_viewport_size({"width": 320, "height": 800})
    fits_width(jobs_page, 320)
    assert_scrolls_within(error, detail)


def assert_scrolls_within(box: Locator, container: Locator) -> None:
    """`box` is at most 14rem high, scrolls its text, and stays inside
    `container` across the page."""
    inner, outer = box.bounding_box(), container.bounding_box()
    assert inner is not None and outer is not None
    assert inner["height"] <= 14 * 16 + 1, inner
    assert box.evaluate("e => e.scrollHeight > e.clientHeight")
    assert box.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert outer["x"] <= inner["x"]
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"]


def columns(locator: Locator) -> tuple[float, float]:
    """Where a card starts across the page, and how wide it is."""
    box = locator.bounding_box()
    assert box is not None
    return box["x"], box["width"]


def assert_one_cut_line(summary: Locator) -> None:
    height, line_height, cut = summary.evaluate(
        """e => [e.getBoundingClientRect().height,
                 parseFloat(getComputedStyle(e).lineHeight),
                 e.scrollWidth > e.clientWidth]"""
    )
    assert height <= line_height * 1.5, (height, line_height)
    assert cut, "the error preview should be cut with an ellipsis"


def test_a_job_name_holding_markup_is_refused_at_start(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = CONFIG.replace('name = "quick-job"', 'name = "<script>alert(1)</script>"')
    home = tmp_path_factory.mktemp("refused")
    refused = pytest.raises(pytest.fail.Exception, match="invalid job name")
    with refused, serving(home, config):
        pass

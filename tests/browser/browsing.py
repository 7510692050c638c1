"""What the browser tests share: a `jobdeck serve` subprocess on 127.0.0.1 with
a config of test jobs, the JSON API as another admin sees it, and locators for
the page's hooks (`[data-job]`, `[data-field]`, `[data-action]`).

The fixtures built on these live in conftest.py; each test module brings its
own CONFIG (the jobs its server runs).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, BrowserContext, Locator, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "browser-test-password-1"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# "2m ago", "in 25s", "in 59m 59s" and so on.
RELATIVE_PAST = re.compile(r"^(just now|\d+[smhd]( \d+[smhd])? ago)$")
RELATIVE_DUE = re.compile(r"^in \d+[smhd]( \d+[smhd])?$")
# A local clock time and how far away it is: "14:05:09 (in 59m 59s)".
SPAN = r"\d+[smhd]( \d+[smhd])?"
# A time on another day than today is shown with its date first ("Dec 5, 12:40 AM").
DAY = r"([A-Z][a-z]{2} \d{1,2}, )?"
MOMENT = DAY + rf"\d{{1,2}}:\d{{2}}(:\d{{2}})?( ?[AP]M)? \((in {SPAN}|{SPAN} ago|now)\)"


def skip_without_chromium() -> None:
    """Skip the calling test module when the system Chromium is missing (never
    download a browser); under CI, fail instead."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"{CHROMIUM} is missing; CI must run the browser tests", pytrace=False
        )
    pytest.skip(f"needs the system Chromium at {CHROMIUM}", allow_module_level=True)


# --- the server --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 30
) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jobdeck serve exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(
        f"jobdeck serve did not answer /healthz in {timeout_s:.0f} s:\n"
        f"{log.read_text()[-3000:]}"
    )


@contextmanager
def serving(home: Path, config: str, log_name: str = "serve.log") -> Iterator[str]:
    """`jobdeck serve` on a free port of 127.0.0.1, with its data under `home`."""
    config_path = home / "jobdeck.toml"
    config_path.write_text(config, encoding="utf-8")
    log = home / log_name
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jobdeck", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(home / "data"), "--config", str(config_path),
    ]  # fmt: skip
    # The configs load job bodies from tests.browser.jobs_for_tests.
    python_path = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    env = {
        **os.environ,
        "JOBDECK_ADMIN_PASSWORD": PASSWORD,
        "PYTHONPATH": python_path,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=home, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for_health(url, process, log)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the API -----------------------------------------------------------------


class Api:
    """The JSON API as another admin sees it: the source of outside changes."""

    def __init__(self, request: APIRequestContext) -> None:
        self.request = request
        answer = request.post(
            "/api/session", data={"username": "admin", "password": PASSWORD}
        )
        assert answer.status == 200, answer.text()
        self.csrf = answer.json()["csrf_token"]

    def get(self, path: str) -> Any:
        answer = self.request.get(path)
        assert answer.ok, f"GET {path}: {answer.status} {answer.text()}"
        return answer.json()

    def send(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.request.fetch(
            path, method=method, data=body, headers={"X-CSRF-Token": self.csrf}
        )
        return answer.status, answer.json() if answer.body() else None

    def job(self, name: str) -> dict[str, Any]:
        job: dict[str, Any] = self.get(f"/api/jobs/{name}")
        return job

    def control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, answer = self.send(method, path, body)
        assert status in (200, 202), f"{method} {path}: {status} {answer}"
        job: dict[str, Any] = answer["job"]
        return job


def wait_until_idle(api: Api, timeout_s: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs: list[dict[str, Any]] = api.get("/api/jobs")["jobs"]
        if not any(job["status"] == "running" for job in jobs):
            return jobs
        assert time.monotonic() < deadline, "a job is still running"
        time.sleep(0.1)


def wait_for(check: Any, timeout_s: float = 10, message: str = "the condition") -> Any:
    """Poll `check()` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{message} did not come in {timeout_s} s"
        time.sleep(0.1)


def sign_in(context: BrowserContext) -> None:
    answer = context.request.post(
        "/api/session", data={"username": "admin", "password": PASSWORD}
    )
    assert answer.status == 200, answer.text()


# --- the page ----------------------------------------------------------------


def card(page: Page, name: str) -> Locator:
    return page.locator(f'[data-job="{name}"]')


def part(card: Page | Locator, name: str) -> Locator:
    return card.locator(f'[data-field="{name}"]')


def action(card: Page | Locator, name: str) -> Locator:
    return card.locator(f'[data-action="{name}"]')


def rgb(locator: Locator) -> tuple[int, int, int]:
    color = locator.evaluate("element => getComputedStyle(element).color")
    red, green, blue = (int(value) for value in re.findall(r"\d+", color)[:3])
    return red, green, blue


def fits_width(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide at {width} px"


def held_requests(page: Page, pattern: str) -> list[Route]:
    """Requests to `pattern` are held (not sent) until the test continues them."""
    held: list[Route] = []
    page.route(pattern, lambda route: held.append(route))
    return held


def wait_for_held(page: Page, held: list[Route], count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while len(held) < count:
        assert time.monotonic() < deadline, f"{len(held)} of {count} requests held"
        page.wait_for_timeout(20)


def tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{presses} presses of Tab never reached {target}")


def focus_ring(locator: Locator) -> str:
    """The outline style of a focused control: 'none' means no visible focus."""
    style: str = locator.evaluate("element => getComputedStyle(element).outlineStyle")
    return style

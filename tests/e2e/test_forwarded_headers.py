"""`jobdeck serve` behind a reverse proxy: X-Forwarded-For and X-Forwarded-Proto
are believed from the trusted proxies' addresses only (`trusted_proxies`), so that
no one else can choose the address the audit log records and the sign-in throttle
counts, or make a plain-HTTP cookie look like an HTTPS one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, Server

pytestmark = pytest.mark.e2e

CONFIG = """
[stock]
enabled = false

[[jobs]]
name = "probe"
interval = "1h"
command = "true"
first_delay = "1h"
"""

CREDENTIALS = {"username": "admin", "password": ADMIN_PASSWORD}


@pytest.fixture(
    params=[None, "", "10.0.0.0/8"],
    ids=["default: this machine", "none", "another network"],
)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "jobdeck.toml"
    config.write_text(CONFIG)
    trusted = request.param
    env = {} if trusted is None else {"JOBDECK_TRUSTED_PROXIES": trusted}
    server = Server(tmp_path / "data", config, env)
    yield server.start()
    server.kill()


def test_forwarded_headers_count_from_trusted_proxies_only(server: Server) -> None:
    # The test connects from 127.0.0.1: trusted by default, and only then.
    trusted = "JOBDECK_TRUSTED_PROXIES" not in server.env
    with httpx.Client(base_url=server.url, timeout=10) as client:
        behind_https = client.post(
            "/api/session", json=CREDENTIALS, headers={"X-Forwarded-Proto": "https"}
        )
        client.cookies.clear()
        answer = client.post("/api/session", json=CREDENTIALS)
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        client.post(
            "/api/jobs/probe/pause", headers={"X-Forwarded-For": "203.0.113.9"}
        ).raise_for_status()
        entries = client.get("/api/audit").json()["entries"]

    assert ("; secure" in behind_https.headers["set-cookie"].lower()) is trusted
    pause = next(entry for entry in entries if entry["action"] == "pause")
    assert pause["client"] == ("203.0.113.9" if trusted else "127.0.0.1")

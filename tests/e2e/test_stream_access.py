"""Case BC-22: an expired or revoked principal's stream ends within one heartbeat,
and reconnecting gets a clean 401 (JSON, no stream)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import REPO, Server, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """
[server]
heartbeat = "1s"

[stock]
enabled = false

[[jobs]]
name = "quiet"
interval = "1h"
command = ["true"]
first_delay = "1h"
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "jobdeck.toml"
    config.write_text(CONFIG)
    server = Server(tmp_path / "data", config)
    yield server.start()
    server.kill()


def seconds_until_the_stream_ends(url: str, headers: dict[str, str]) -> float:
    began = time.monotonic()
    with httpx.stream("GET", f"{url}/api/jobs/sse", headers=headers, timeout=15) as s:
        assert s.status_code == 200
        for _ in s.iter_bytes():
            pass
    return time.monotonic() - began


def test_an_expiring_token_ends_its_stream_and_is_then_refused(server: Server) -> None:
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    with closing(sign_in(server.url)) as admin:
        answer = admin.post(
            "/api/tokens",
            json={"name": "brief", "role": "viewer", "expires_at": expires},
        )
    bearer = {"Authorization": f"Bearer {answer.json()['secret']}"}

    lasted = seconds_until_the_stream_ends(server.url, bearer)
    again = httpx.get(f"{server.url}/api/jobs/sse", headers=bearer, timeout=5)

    assert 1.5 <= lasted <= 2 + 1 + 1  # expiry, then at most one heartbeat
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("application/json")


def seconds_until_a_session_stream_ends(
    server: Server, end: Callable[[httpx.Client], object]
) -> float:
    """Sign in, open the stream, then `end` the session: how long the stream
    lasts after (at most 5 s, when it does not end: the heartbeat pings every
    second meanwhile)."""
    client = sign_in(server.url)
    cookie = {"Cookie": f"jobdeck_session={client.cookies['jobdeck_session']}"}
    with (
        closing(client),
        httpx.stream(
            "GET", f"{server.url}/api/jobs/sse", headers=cookie, timeout=15
        ) as stream,
    ):
        chunks = stream.iter_bytes()
        next(chunks)
        end(client)
        began = time.monotonic()
        for _ in chunks:
            if time.monotonic() - began > 5:
                break
        return time.monotonic() - began


def test_signing_out_ends_the_stream_at_once(server: Server) -> None:
    def sign_out(client: httpx.Client) -> None:
        client.delete("/api/session").raise_for_status()

    assert seconds_until_a_session_stream_ends(server, sign_out) < 1


def test_a_session_ended_by_another_process_ends_its_stream_within_a_heartbeat(
    server: Server,
) -> None:
    """`jobdeck reset-password` ends the user's sessions in the database, beside
    the server: the server is not told, and must notice by itself."""
    lasted = seconds_until_a_session_stream_ends(
        server, lambda _: reset_password(server.data_dir)
    )

    assert lasted <= 1 + 1  # one heartbeat, and the database's answer


def reset_password(data_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "jobdeck", "reset-password", "admin",
         "--data-dir", str(data_dir), "--password-stdin"],
        cwd=REPO, input="a new password, typed once", text=True, check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip

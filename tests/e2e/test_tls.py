"""HTTPS: `jobdeck serve` with a certificate and key serves TLS, the session
cookie is Secure there (SPEC §7), and the event stream flows over it (its frames
are written straight to the connection's TLS transport)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, Server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("openssl") is None, reason="no openssl to make a certificate"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    config = tmp_path / "jobdeck.toml"
    server_table = f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    job = '[[jobs]]\nname = "quiet"\ninterval = "1h"\ncommand = ["true"]\n'
    job += 'first_delay = "1h"\n'
    config.write_text(server_table + "\n[stock]\nenabled = false\n\n" + job)
    server = Server(tmp_path / "data", config, scheme="https")
    yield server.start()
    server.kill()


def test_the_server_speaks_tls_and_the_cookie_is_secure(server: Server) -> None:
    with httpx.Client(base_url=server.url, verify=False, timeout=10) as client:
        answer = client.post(
            "/api/session", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        cookie = answer.headers["set-cookie"].lower()

    assert answer.status_code == 200
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=3)


def test_the_event_stream_flows_over_tls(server: Server) -> None:
    with httpx.Client(base_url=server.url, verify=False, timeout=10) as client:
        answer = client.post(
            "/api/session", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]

        with client.stream("GET", "/api/jobs/sse") as stream:
            lines = stream.iter_lines()
            lines_until("event: snapshot", lines)
            lines_until("data: ", lines)  # the snapshot's
            client.post("/api/jobs/quiet/run").raise_for_status()
            frame = lines_until("data: ", lines)

    assert frame[-2:] == ["event: job", frame[-1]]
    assert '"name":"quiet"' in frame[-1]


def lines_until(text: str, lines: Iterator[str]) -> list[str]:
    """The lines read up to and including the first that holds `text`."""
    taken = []
    for line in lines:
        taken.append(line)
        if text in line:
            return taken
    raise AssertionError(f"the stream ended before {text!r}")

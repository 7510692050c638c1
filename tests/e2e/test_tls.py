"""HTTPS: `jobdeck serve` with a certificate and key serves TLS, and the session
cookie is Secure there (SPEC §7)."""

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
    config.write_text(server_table + "\n[stock]\nenabled = false\n")
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

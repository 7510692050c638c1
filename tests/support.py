"""Running `jobdeck serve` as a real subprocess on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "e2e admin password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_once(
    data_dir: Path,
    *flags: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`jobdeck serve` on 127.0.0.1 (a free port unless given), for a start that
    must fail: its exit status and output, once it has ended (30 s at most)."""
    command = [
        sys.executable, "-m", "jobdeck", "serve", "--host", "127.0.0.1",
        "--port", str(port or free_port()), "--data-dir", str(data_dir), *flags,
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, "JOBDECK_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


class Server:
    """One `jobdeck serve` process; `start()` waits until /healthz answers."""

    def __init__(
        self,
        data_dir: Path,
        config: Path,
        env: dict[str, str] | None = None,
        scheme: str = "http",
    ):
        self.scheme = scheme
        self.data_dir = data_dir
        self.config = config
        self.port = free_port()
        self.env = {
            **os.environ,
            "JOBDECK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "jobdeck", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--config", str(self.config),
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=1, verify=False)
                if answer.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"server did not answer in {timeout_s}s:\n{self.log.read_text()}"
        )

    def stop(self, timeout_s: float = 20) -> float:
        """SIGTERM, then wait; return how long the exit took."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return time.monotonic() - began

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def serving(root: Path, config_text: str) -> Iterator[Server]:
    """A started server with `config_text` as its config file, stopped after."""
    config = root / "jobdeck.toml"
    config.write_text(config_text)
    server = Server(root / "data", config)
    yield server.start()
    try:
        server.stop()
    finally:
        server.kill()


def sign_in(
    url: str, username: str = "admin", password: str = ADMIN_PASSWORD
) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    answer = client.post(
        "/api/session", json={"username": username, "password": password}
    )
    answer.raise_for_status()
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client

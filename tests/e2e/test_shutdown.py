"""Case BC-14: shutdown ends within its bound despite open event streams and runs
that will not end by themselves, and leaves no run `running` for the next start."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, REPO, Server, free_port, sign_in

pytestmark = pytest.mark.e2e

STREAMS = 50


def config(grace: str) -> str:
    return f"""
[server]
shutdown_grace = "{grace}"

[stock]
enabled = false

[[jobs]]
name = "hung-thread"
interval = "1h"
callable = "tests.e2e.probe:hang_in_thread"
first_delay = "1h"

[[jobs]]
name = "long-async"
interval = "1h"
callable = "tests.e2e.probe:sleep_async"
first_delay = "1h"
"""


def make_server(tmp_path: Path, grace: str) -> Server:
    path = tmp_path / "jobdeck.toml"
    path.write_text(config(grace))
    return Server(tmp_path / "data", path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = make_server(tmp_path, "2s")
    yield server.start()
    server.kill()


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_streams(server: Server, cookie: str, count: int) -> list[Stream]:
    streams = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"GET /api/jobs/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: jobdeck_session={cookie}\r\n\r\n".encode()
        )
        await writer.drain()
        await reader.readuntil(b"event: snapshot")
        streams.append((reader, writer))
    return streams


async def seconds_until_all_end(streams: list[Stream]) -> float:
    """Read every stream to its end; close them all; return how long it took."""
    began = time.monotonic()

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    try:
        drains = (drain(reader) for reader, _ in streams)
        await asyncio.wait_for(asyncio.gather(*drains), timeout=10)
    finally:
        for _, writer in streams:
            writer.close()
    return time.monotonic() - began


def start_the_long_runs(server: Server) -> str:
    with closing(sign_in(server.url)) as client:
        for name in ("hung-thread", "long-async"):
            assert client.post(f"/api/jobs/{name}/run").status_code == 202
        return str(client.cookies["jobdeck_session"])


async def test_sigterm_exits_within_the_grace_and_ends_every_stream(
    server: Server,
) -> None:
    cookie = start_the_long_runs(server)
    streams = await open_streams(server, cookie, STREAMS)
    assert server.process is not None

    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    streams_ended = await seconds_until_all_end(streams)
    code = await asyncio.to_thread(server.process.wait, 15)
    took = time.monotonic() - began

    assert streams_ended < 2
    assert took < 2 + 5
    assert code == 0
    # uvicorn raises the signal again once done: not a second signal.
    assert "second signal" not in server.log.read_text()

    server.start()
    with closing(sign_in(server.url)) as client:
        jobs = {job["name"]: job for job in client.get("/api/jobs").json()["jobs"]}
    for name in ("hung-thread", "long-async"):
        assert jobs[name]["status"] == "error"
        assert jobs[name]["last_outcome"] == "interrupted"


async def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    server = make_server(tmp_path, "30s").start()
    try:
        start_the_long_runs(server)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        began = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        await asyncio.to_thread(server.process.wait, 10)
        took = time.monotonic() - began
    finally:
        server.kill()

    assert took < 2


DEAF_CONFIG = """
[server]
shutdown_grace = "1s"

[stock]
enabled = false

[[jobs]]
name = "deaf"
interval = "1h"
callable = "tests.e2e.probe:catch_cancellation"
first_delay = "1h"
"""


async def test_a_body_that_catches_its_cancellation_does_not_hold_up_the_exit(
    tmp_path: Path,
) -> None:
    """asyncio.run waits for every task left at its end, for ever: the server
    leaves such a task behind, and its run is stored as ended by the stop."""
    config = tmp_path / "jobdeck.toml"
    config.write_text(DEAF_CONFIG)
    server = Server(tmp_path / "data", config).start()
    try:
        with closing(sign_in(server.url)) as client:
            assert client.post("/api/jobs/deaf/run").status_code == 202
        assert server.process is not None
        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.process.wait, 20)
        took = time.monotonic() - began

        server.start()
        with closing(sign_in(server.url)) as client:
            (run,) = client.get("/api/jobs/deaf/runs").json()["runs"]
    finally:
        server.kill()

    # The grace, the cancelled runs' 2 s, 1 s for their last steps, the
    # leftover tasks' 2 s, and a margin.
    assert code == 0 and took < 1 + 2 + 1 + 2 + 2
    assert (run["outcome"], run["error"]) == (
        "interrupted",
        "interrupted: the server stopped before the run ended",
    )
    assert "did not end when cancelled" in server.log.read_text()


SIGNAL_BEFORE_UVICORN = """
import os, signal, sys
from jobdeck import server

original = server.ConsoleServer.serve

async def serve_after_a_signal(self, sockets=None):
    os.kill(os.getpid(), signal.SIGINT)  # before uvicorn sets its own handlers
    await original(self, sockets)

server.ConsoleServer.serve = serve_after_a_signal
from jobdeck.cli import main
sys.argv[0] = "jobdeck"
main()
"""


def test_a_signal_before_uvicorn_listens_stops_the_server_gracefully(
    tmp_path: Path,
) -> None:
    """A signal in the instant between jobdeck's start-up and uvicorn's own
    handlers: the same graceful stop as later, not an exit from wherever the
    process happened to be."""
    config = tmp_path / "jobdeck.toml"
    config.write_text("[stock]\nenabled = false\n")
    command = [
        sys.executable, "-c", SIGNAL_BEFORE_UVICORN, "serve", "--host", "127.0.0.1",
        "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
        "--config", str(config),
    ]  # fmt: skip
    env = {**os.environ, "JOBDECK_ADMIN_PASSWORD": ADMIN_PASSWORD}

    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )

    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "scheduler stopping" in said
    assert "Traceback" not in said and "never awaited" not in said


def open_a_slow_control(server: Server, client: httpx.Client) -> socket.socket:
    """A control whose body never finishes coming: uvicorn waits for it, up to its
    connections' grace, when it shuts down."""
    head = (
        "PUT /api/jobs/long-async/interval HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: jobdeck_session={client.cookies['jobdeck_session']}\r\n"
        f"X-CSRF-Token: {client.headers['X-CSRF-Token']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.sendall(head.encode() + b'{"interval"')
    return slow


def stop_with_a_control_open(server: Server, signals: int) -> float:
    """Start long-async, open a slow control, send `signals` SIGTERMs a second
    apart; how long the exit took from the first."""
    assert server.process is not None
    with closing(sign_in(server.url)) as client:
        assert client.post("/api/jobs/long-async/run").status_code == 202
        slow = open_a_slow_control(server, client)
    try:
        began = time.monotonic()
        for sent in range(signals):
            if sent:
                time.sleep(1)
            server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0
        return time.monotonic() - began
    finally:
        slow.close()


def last_run_after_a_restart(server: Server) -> tuple[dict[str, Any], str]:
    """The last run of long-async as the restarted server holds it, and what
    that server logged as it started."""
    logged_before = server.log.stat().st_size
    server.start()
    try:
        with closing(sign_in(server.url)) as client:
            runs = client.get("/api/jobs/long-async/runs").json()["runs"]
    finally:
        server.stop()
    return runs[0], server.log.read_bytes()[logged_before:].decode()


def test_the_grace_runs_from_the_signal_while_a_request_is_open(
    tmp_path: Path,
) -> None:
    """uvicorn waits for open requests (up to the grace and 2 s) before it runs the
    lifespan's shutdown: the deck's stop, and so the grace, must not wait for that."""
    server = make_server(tmp_path, "2s").start()
    try:
        stop_with_a_control_open(server, signals=1)
        run, _ = last_run_after_a_restart(server)
    finally:
        server.kill()

    assert run["outcome"] == "interrupted"
    assert run["duration_ms"] < 2000 + 1500  # the grace, not the grace and 4 s more


def test_a_second_signal_with_a_request_open_still_writes_the_runs_ends(
    tmp_path: Path,
) -> None:
    """A second signal makes uvicorn skip the lifespan's shutdown: the deck's stop,
    under way since the first, is still finished, cut short."""
    server = make_server(tmp_path, "30s").start()
    try:
        took = stop_with_a_control_open(server, signals=2)
        stopping = server.log.read_text()
        run, logged = last_run_after_a_restart(server)
    finally:
        server.kill()

    assert took < 1 + 2
    # The lifespan's shutdown ran (uvicorn skips it): not cancelled with a traceback.
    assert "uvicorn/lifespan" not in stopping
    assert run["outcome"] == "interrupted" and run["finished_at"] is not None
    assert "interrupted by the previous process's exit" not in logged

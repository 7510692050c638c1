"""Embedding (README): an application that mounts the console and serves it with
`jobdeck.ConsoleServer` stops on SIGTERM with a stream open, ending the stream
and stopping the deck (a plain uvicorn.Server would wait for the stream)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import REPO, free_port

pytestmark = pytest.mark.e2e


def test_sigterm_ends_the_streams_and_stops_the_embedded_deck() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.embedded", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        secret = process.stdout.readline().strip()
        bearer = {"Authorization": f"Bearer {secret}"}
        url = f"http://127.0.0.1:{port}/jobs/api/jobs/sse"
        with httpx.stream("GET", url, headers=bearer, timeout=10) as stream:
            chunks = stream.iter_bytes()
            assert b"event: snapshot" in next(chunks)

            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            for _ in chunks:
                pass
            ended = time.monotonic() - began
        code = process.wait(timeout=10)
        said = process.stdout.read()
    finally:
        process.kill()
        if process.stdout is not None:
            process.stdout.close()

    assert ended < 2
    # uvicorn raises the signal again once it has shut down, to die of it.
    assert code in (0, -signal.SIGTERM)
    assert "deck stopped" in said


def test_a_client_that_stops_reading_does_not_hold_up_the_exit_under_h11() -> None:
    """Under h11 a stream goes through ASGI `send`, which waits for ever for a
    client that stops reading; uvicorn by itself would wait for that connection
    for ever. ConsoleServer bounds the wait (CONNECTIONS_GRACE_S, 5 s)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.embedded", str(port), "h11", "20000"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    stalled = socket.socket()
    try:
        assert process.stdout is not None
        secret = process.stdout.readline().strip()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connect_when_listening(stalled, port)
        stalled.sendall(
            b"GET /jobs/api/jobs/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + secret.encode() + b"\r\n\r\n"
        )
        assert stalled.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(1)  # the snapshot, megabytes, fills every buffer on the way

        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        took = time.monotonic() - began
        said = process.stdout.read()
    finally:
        stalled.close()
        process.kill()
        if process.stdout is not None:
            process.stdout.close()

    assert took < 5 + 3
    assert code in (0, -signal.SIGTERM)
    assert "deck stopped" in said


def test_a_second_sigterm_with_a_request_open_still_ends_the_commands(
    tmp_path: Path,
) -> None:
    """A second signal makes uvicorn skip the lifespan's shutdown, where the
    application stops its deck: ConsoleServer finishes the stop it began at the
    first, so no command of a run outlives the process."""
    port, pid_file = free_port(), tmp_path / "child"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.embedded", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "EMBEDDED_DEAF_PID_FILE": str(pid_file)},
    )  # fmt: skip
    slow = socket.socket()
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the deck has started
        child = int(wait_for_text(pid_file))
        connect_when_listening(slow, port)
        slow.sendall(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

        process.send_signal(signal.SIGTERM)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        slow.close()
        process.kill()
        if process.stdout is not None:
            process.stdout.close()

    assert gone_within(child, 2)


def gone_within(pid: int, seconds: float) -> bool:
    """Ended: no such process, or a zombie left for init to reap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_second_signal_exits_even_when_the_lifespan_shutdown_hangs() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.embedded", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "EMBEDDED_HANG_IN_SHUTDOWN": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the deck has started
        process.send_signal(signal.SIGTERM)
        assert "deck stopped" in process.stdout.readline()  # then the hang

        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        took = time.monotonic() - began
    finally:
        process.kill()
        if process.stdout is not None:
            process.stdout.close()

    assert took < 3  # FORCED_LIFESPAN_S, and the rest of the exit


def wait_for_text(path: Path, within_s: float = 10) -> str:
    deadline = time.monotonic() + within_s
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"nothing written to {path}"
        time.sleep(0.05)
    return path.read_text()


def connect_when_listening(sock: socket.socket, port: int) -> None:
    """The secret is printed from the lifespan, just before uvicorn listens."""
    deadline = time.monotonic() + 10
    while True:
        try:
            sock.connect(("127.0.0.1", port))
            return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

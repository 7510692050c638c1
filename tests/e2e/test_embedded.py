"""Embedding (README): an application that mounts the console and serves it with
`jobdeck.ConsoleServer` stops on SIGTERM with a stream open, ending the stream
and stopping the deck (a plain uvicorn.Server would wait for the stream)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

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

"""The event stream under a real uvicorn on 127.0.0.1, over both of its HTTP
implementations: with httptools the hub writes frames straight to the socket,
with h11 the stream sends them through ASGI (jobdeck.web.stream). Either way a
client gets the snapshot, each change, heartbeats, an end when its principal is
revoked, and is let go when it hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import re
import socket
import struct
import termios
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from jobdeck.access import Accounts, Role
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.runs import RunContext
from jobdeck.store.memory import MemoryStore
from jobdeck.web.app import create_app
from jobdeck.web.stream import SEND_BUFFER_BYTES
from tests.support import free_port

HEARTBEAT_S = 0.3


class Served:
    def __init__(self, deck: Deck, accounts: Accounts, port: int, http: str) -> None:
        self.deck, self.accounts, self.port, self.http = deck, accounts, port, http

    async def token(self) -> tuple[str, str]:
        secret, token = await self.accounts.create_token(
            "stream", Role.VIEWER, "test", None
        )
        return secret, f"token:{token.id}"


@pytest.fixture(params=["httptools", "h11"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    async with serving(request.param) as served:
        yield served


@pytest.fixture
async def pushed() -> AsyncIterator[Served]:
    """Under httptools only: the streams the hub writes to."""
    async with serving("httptools") as served:
        yield served


@contextlib.asynccontextmanager
async def serving(http: str, heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[Served]:
    store = MemoryStore()
    deck = Deck(store=store, node="test")

    release = asyncio.Event()

    async def report(run: RunContext) -> None:
        run.progress(None, "working")
        await release.wait()  # so the stream shows it working, not finished

    deck.add(define_job("reporter", "1h", report, first_delay_s=3600))

    async def chatter(run: RunContext) -> None:
        for step in range(10_000):  # a big job changing often: 2 MB of frames a second
            run.progress(None, f"step {step}")
            await asyncio.sleep(0.02)

    deck.add(
        define_job(
            "chatter", "1h", chatter, description="x" * 200_000, first_delay_s=3600
        )
    )
    accounts = Accounts(store)
    await deck.start()
    app = create_app(deck, accounts)
    app.state.heartbeat_s = heartbeat_s
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield Served(deck, accounts, port, http)
    finally:
        release.set()
        deck.hub.close_all()
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
        await deck.stop(grace_s=1)


@contextlib.asynccontextmanager
async def connected(served: Served, secret: str) -> AsyncIterator[Client]:
    client = await Client.connect(served.port, secret)
    try:
        yield client
    finally:
        await client.close()


class Client:
    """A raw HTTP/1.1 client that decodes the chunked event stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.text = ""
        self.ended = False

    @classmethod
    async def connect(
        cls, port: int, secret: str, receive_buffer: int | None = None
    ) -> Client:
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /api/jobs/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + secret.encode() + b"\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"transfer-encoding: chunked" in head.lower(), head
        return cls(reader, writer)

    async def read_until(self, pattern: str, timeout_s: float = 3) -> re.Match[str]:
        async with asyncio.timeout(timeout_s):
            while not (found := re.search(pattern, self.text)):
                await self._chunk()
        return found

    async def read_to_end(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not self.ended:
                await self._chunk()

    async def _chunk(self) -> None:
        size = int(await self.reader.readuntil(b"\r\n"), 16)
        data = await self.reader.readexactly(size + 2)
        self.ended = size == 0
        self.text += data[:-2].decode()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    def frames(self, event: str) -> list[dict[str, Any]]:
        found = re.findall(rf"event: {event}\ndata: (.*)\n\n", self.text)
        return [json.loads(data) for data in found]


async def test_a_client_gets_the_snapshot_each_change_and_heartbeats(
    served: Served,
) -> None:
    secret, _ = await served.token()

    async with connected(served, secret) as client:
        await client.read_until("event: snapshot")
        await served.deck.run_now("reporter")
        await client.read_until('"progress_message":"working"')
        await client.read_until(": ping", timeout_s=3 * HEARTBEAT_S)

        names = [job["name"] for job in client.frames("snapshot")[0]["jobs"]]
        assert names == ["reporter", "chatter"]
        # httptools connections are written to by the hub; h11 ones pull.
        pushed = 1 if served.http == "httptools" else 0
        assert len(served.deck.hub._pushed) == pushed


async def test_revoking_the_token_ends_the_stream_at_once(served: Served) -> None:
    secret, owner = await served.token()

    async with connected(served, secret) as client:
        await client.read_until("event: snapshot")
        served.deck.hub.close_owner(owner)

        await client.read_to_end(timeout_s=1)
    assert served.deck.hub.subscriber_count == 0


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_a_client_that_hangs_up_is_let_go_at_once(http: str) -> None:
    """Not at the next heartbeat (a minute away here): the count of open streams
    an operator reads is right as soon as the client has gone."""
    async with serving(http, heartbeat_s=60) as served:
        secret, _ = await served.token()
        async with connected(served, secret) as client:
            await client.read_until("event: snapshot")
            assert served.deck.hub.subscriber_count == 1
            client.writer.transport.abort()

        async with asyncio.timeout(5):
            while served.deck.hub.subscriber_count:
                await asyncio.sleep(0.02)


async def test_a_stream_holds_no_framework_objects_while_it_waits(
    served: Served,
) -> None:
    """The stream's body runs after FastAPI's stack has returned (see
    jobdeck.web.app.Console): no request-scoped exit stack stays alive."""
    secret, _ = await served.token()
    stacks_before = exit_stacks()

    async with connected(served, secret) as client:
        await client.read_until("event: snapshot")

        assert exit_stacks() == stacks_before


def exit_stacks() -> int:
    gc.collect()
    return sum(isinstance(o, contextlib.AsyncExitStack) for o in gc.get_objects())


async def test_streams_opened_while_shutting_down_end_at_once(served: Served) -> None:
    secret, _ = await served.token()
    served.deck.hub.close_all()  # as the first SIGTERM does

    async with connected(served, secret) as client:
        await client.read_to_end(timeout_s=1)

    assert "event: snapshot" in client.text
    served.deck.hub.reopen()


async def test_a_client_that_stops_reading_is_cut_off_when_its_stream_ends(
    pushed: Served,
) -> None:
    """Its end would wait for it to read; it would hold up a shutdown for ever.
    (A stream through ASGI cannot cut its connection: see docs/api.md.)"""
    served = pushed
    secret, owner = await served.token()
    client = await Client.connect(served.port, secret, receive_buffer=4096)
    try:
        await stop_reading_until_skipped(served, client)

        served.deck.hub.close_owner(owner)
        await asyncio.sleep(0.5)  # the server cuts the connection meanwhile
        tail = b""
        async with asyncio.timeout(5):
            while data := await client.reader.read(65536):
                tail = (tail + data)[-16:]
    finally:
        await client.close()

    # What the kernel held comes, then the end of the connection: no end chunk
    # (which would have waited for the client to read all the rest).
    assert not tail.endswith(b"0\r\n\r\n")


async def test_a_client_that_stops_reading_holds_little_in_the_kernel(
    pushed: Served,
) -> None:
    """Left to itself, loopback lets megabytes of stale stream queue in the
    kernel for such a client, and it reads them all before the newest state."""
    served = pushed
    secret, _ = await served.token()
    client = await Client.connect(served.port, secret, receive_buffer=4096)
    try:
        await stop_reading_until_skipped(served, client)
        queued = queued_in_kernel(served)
    finally:
        await client.close()

    assert 0 < queued <= 2 * SEND_BUFFER_BYTES


async def stop_reading_until_skipped(served: Served, client: Client) -> None:
    """The client reads its snapshot, then nothing, while a chatty job runs: the
    server skips it once its own buffer holds 64 KiB, which it fills only when
    the kernel takes no more."""
    await client.read_until("event: snapshot", timeout_s=5)
    await served.deck.run_now("chatter")
    async with asyncio.timeout(20):
        while unread_in_server(served) <= 64 * 1024:
            await asyncio.sleep(0.05)


def queued_in_kernel(served: Served) -> int:
    """Bytes the server's socket to the one client holds unsent (SIOCOUTQ)."""
    subscriber = next(iter(served.deck.hub._pushed))
    transport = subscriber.sink.transport  # type: ignore[union-attr]
    sock = transport.get_extra_info("socket")
    answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    return int(struct.unpack("i", answer)[0])


def unread_in_server(served: Served) -> int:
    subscriber = next(iter(served.deck.hub._pushed))
    writer = subscriber.sink
    return int(writer.transport.get_write_buffer_size())  # type: ignore[union-attr]


async def test_an_http_1_0_client_is_refused_in_words_not_sent_chunks(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn would frame the stream in HTTP/1.1 chunks, which an HTTP/1.0 client
    (or a proxy speaking HTTP/1.0 to jobdeck, nginx's default) cannot read."""
    secret, _ = await served.token()

    answers = [await _ask_in_http_1_0(served.port, secret) for _ in range(2)]

    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 505"), head
        assert b"chunked" not in head.lower(), head
        error = json.loads(body)["error"]
        assert error["code"] == "http_version_not_supported"
        assert "proxy_http_version 1.1" in error["message"]
    assert served.deck.hub.subscriber_count == 0
    # A browser cannot read the answer: the log says it, once.
    warnings = [r for r in caplog.records if "HTTP/1.0" in r.getMessage()]
    assert [r.levelname for r in warnings] == ["WARNING"]


async def _ask_in_http_1_0(port: int, secret: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/jobs/sse HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + secret.encode() + b"\r\n\r\n"
    )
    async with asyncio.timeout(3):
        answer = await reader.read()  # HTTP/1.0: the server closes at the end
    writer.close()
    return answer

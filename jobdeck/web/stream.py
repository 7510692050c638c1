"""The event stream of SPEC §6: a snapshot on connect, then each change.

Frames come encoded from the event hub, once for every client. Each client's
backlog is at most one frame per job (see jobdeck.events), and a client that goes
away is noticed at its next write, at the latest at the next heartbeat. A stream
whose session or token expires ends at the next heartbeat; signing out, revoking a
token or changing the user ends it at once. One whose session another process ended
in the database (`jobdeck reset-password`) ends once a heartbeat finds it gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, cast

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from jobdeck.access import Accounts
from jobdeck.deck import Deck
from jobdeck.events import PING, EventHub, Subscriber, encode_frame
from jobdeck.web.auth import Viewer, accounts_of, viewer
from jobdeck.web.errors import GUARDED_ERRORS, error_response, error_responses

log = logging.getLogger("jobdeck.web")

router = APIRouter(dependencies=[Depends(viewer)], responses=GUARDED_ERRORS)

HEARTBEAT_S = 15.0
HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}
# The scope key of the list where a response leaves the rest of its body, to be
# sent over the server's own `receive` and `send` once the framework has returned
# (see jobdeck.web.app.Console).
LATER = "jobdeck.later"
Body = Callable[[Receive, Send], Awaitable[None]]
# Bytes a client may leave unread in the server's buffer before it is skipped:
# a client that stops reading costs at most this much (beyond its snapshot and
# the kernel's buffer), and when it reads again it gets the newest state of what
# changed meanwhile, at the next frame or heartbeat.
MAX_UNREAD_BYTES = 64 * 1024
# The kernel's send buffer of a stream's socket (Linux doubles what is asked).
# Left to itself, loopback grows it to megabytes for a client that stops reading,
# which then holds that much stale stream in the kernel before the skip above
# begins; 256 KiB still carries a stream over a link of 100 ms at 2.5 MB/s.
SEND_BUFFER_BYTES = 128 * 1024
HTTPTOOLS_CYCLE_MODULE = "uvicorn.protocols.http.httptools_impl"
# How long the end of a stream may wait for its client to read.
END_TIMEOUT_S = 1.0


class EventStream(Response):
    """A `text/event-stream` response.

    Under uvicorn's default HTTP implementation the hub writes each frame
    straight to the client's socket as an HTTP chunk (see `ChunkWriter`): at a
    thousand clients and ten frames a second, a task wake-up and an ASGI
    `send` per delivery were most of the stream's cost. Under any other server
    the stream takes its frames from the hub and sends them through ASGI.
    """

    media_type = "text/event-stream"

    def __init__(self, subscriber: Subscriber, opening: bytes) -> None:
        # Not Response.__init__: with no body it would announce Content-Length: 0.
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self.subscriber = subscriber
        self.opening = opening

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": self.raw_headers,
                }
            )
        except BaseException:
            self.subscriber.close()
            raise

        # Console (web/app.py), which serves every route of the console, follows
        # the body once the framework has returned.
        scope[LATER].append(self.follow)

    async def follow(self, receive: Receive, send: Send) -> None:
        """Send the snapshot, then every change until the subscriber is closed."""
        subscriber = self.subscriber
        # The snapshot can be a megabyte: hold it no longer than it takes to send.
        opening, self.opening = self.opening, b""
        try:
            writer = ChunkWriter.over(send, subscriber)
            if writer is not None:
                writer.write_once(opening)
                del opening
                await subscriber.push_to(writer)
                await writer.end(send)
            else:
                await _pull(subscriber, opening, receive, send)
                await _end(send)
        except OSError:
            pass  # the client went away mid-write
        finally:
            subscriber.close()


class ChunkWriter:
    """Writes a stream's bytes as HTTP/1.1 chunks straight to the transport of
    uvicorn's httptools connection, beside uvicorn's own `send`, which still
    starts and ends the response. The chunk of the hub's shared frames is made
    once for every client."""

    __slots__ = ("subscriber", "transport")

    # The last bytes chunked, and their chunk: every client gets the same batch.
    _last: ClassVar[tuple[bytes, bytes]] = (b"", b"")

    def __init__(self, transport: asyncio.Transport, subscriber: Subscriber) -> None:
        self.transport = transport
        self.subscriber = subscriber

    @classmethod
    def over(cls, send: Send, subscriber: Subscriber) -> ChunkWriter | None:
        """A writer to the connection behind `send`, if it is one it can write to:
        uvicorn's httptools `send` is a method of its request's cycle, which
        holds the transport and knows whether the response is chunked. Anything
        else (another server, another uvicorn) gets None, and the stream pulls."""
        cycle = getattr(send, "__self__", None)
        if type(cycle).__module__ != HTTPTOOLS_CYCLE_MODULE:
            return None
        transport = getattr(cycle, "transport", None)
        if transport is None or getattr(cycle, "chunked_encoding", None) is not True:
            return None
        _bound_send_buffer(transport)
        _close_when_lost(transport, subscriber)
        return cls(transport, subscriber)

    def __call__(self, data: bytes) -> bool:
        transport = self.transport
        if transport.is_closing():
            self.subscriber.close()  # the client went away
            return False
        if transport.get_write_buffer_size() > MAX_UNREAD_BYTES:
            return False
        transport.write(self._chunk(data))
        return True

    def write_once(self, data: bytes) -> None:
        """Bytes for this client only (its snapshot): not kept for the others."""
        if not self.transport.is_closing():
            self.transport.write(_as_chunk(data))

    async def end(self, send: Send) -> None:
        """End the response through uvicorn, unless the client has gone or stopped
        reading: its end would wait for it for ever (and hold up a shutdown), so
        its connection is cut instead."""
        transport = self.transport
        if transport.is_closing():
            return
        reading = transport.get_write_buffer_size() <= MAX_UNREAD_BYTES
        if reading and await _end(send):
            return
        transport.abort()
        await asyncio.sleep(0)  # uvicorn hears of it before the response returns

    @classmethod
    def _chunk(cls, data: bytes) -> bytes:
        last_data, last_chunk = cls._last
        if data is last_data:
            return last_chunk
        chunk = _as_chunk(data)
        cls._last = (data, chunk)
        return chunk


def _bound_send_buffer(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Not every socket takes the option: it is a bound, not a need.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def _close_when_lost(transport: asyncio.Transport, subscriber: Subscriber) -> None:
    """Close the subscriber as soon as its client hangs up. uvicorn tells a
    request of it only through `receive`, which a pushed stream never waits on
    (a task per client is what pushing saves): without this it would count as
    open until its next write or heartbeat."""
    protocol = cast(Any, transport.get_protocol())
    heard = protocol.connection_lost

    def lost(exc: Exception | None) -> None:
        subscriber.close()
        heard(exc)

    protocol.connection_lost = lost


def _as_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


async def _pull(
    subscriber: Subscriber, opening: bytes, receive: Receive, send: Send
) -> None:
    """The stream through plain ASGI: a task per client waits for the hub's
    shared wake-up and sends what its client lacks."""
    hangup = asyncio.ensure_future(_hang_up(receive, subscriber))
    try:
        await _body(send, opening)
        while (frames := await subscriber.next_frames()) is not None:
            await _body(send, frames or PING)
    finally:
        hangup.cancel()


async def _end(send: Send) -> bool:
    """Send the response's end; False if the client did not take it in time (a
    client that stops reading would hold it up for ever)."""
    try:
        async with asyncio.timeout(END_TIMEOUT_S):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except TimeoutError:
        return False
    return True


async def _body(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _hang_up(receive: Receive, subscriber: Subscriber) -> None:
    """Close the subscriber when the client disconnects."""
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close()


@router.get(
    "/api/jobs/sse",
    response_class=EventStream,
    status_code=200,
    responses=error_responses(505),
)
async def job_events(request: Request, principal: Viewer) -> Response:
    if request.scope.get("http_version") == "1.0":
        return _refuse_http_1_0(request)

    deck: Deck = request.app.state.deck
    heartbeat_s: float = getattr(request.app.state, "heartbeat_s", HEARTBEAT_S)

    # Subscribing and taking the snapshot happen with no await between them, so
    # the snapshot holds exactly the changes up to the subscriber's first id.
    deck.hub.heartbeat_s = heartbeat_s
    accounts = accounts_of(request)
    subscriber = deck.hub.subscribe(
        principal.session_id, functools.partial(accounts.stream_ended, principal)
    )
    opening = _retry_hint() + encode_frame(
        deck.hub.last_id, "snapshot", deck.snapshot()
    )
    return EventStream(subscriber, opening)


class EndedElsewhere:
    """At each heartbeat, ends the streams whose session or token is gone from
    the store: another process on the same database ended it and could not tell
    this one. One lookup at a time, for every open stream at once."""

    def __init__(self, hub: EventHub, accounts: Accounts) -> None:
        self.hub = hub
        self.accounts = accounts
        self._check: asyncio.Task[None] | None = None
        self._failing = False

    def __call__(self) -> None:
        if self._check is None or self._check.done():
            self._check = asyncio.ensure_future(self._end_streams())

    async def _end_streams(self) -> None:
        try:
            gone = await self.accounts.ended_elsewhere(self.hub.owners())
        except Exception as exc:  # a store of the application's may raise anything
            # The streams go on: whether their sessions still stand is unknown.
            if not self._failing:
                log.warning(
                    "could not check that the open streams' sessions still stand: "
                    "%s: %s",
                    type(exc).__name__,
                    exc,
                    extra={"action": "stream_check_failed"},
                )
            self._failing = True
            return

        if self._failing:
            log.info(
                "the open streams' sessions can be checked again",
                extra={"action": "stream_check_recovered"},
            )
        self._failing = False
        for owner in gone:
            self.hub.close_owner(owner)
        if gone:
            log.info(
                "ended the event streams of %d session(s) or token(s) that "
                "another process ended in the database",
                len(gone),
                extra={"action": "streams_ended_elsewhere"},
            )


HTTP_1_0_REFUSED = (
    "the event stream needs HTTP/1.1 or newer; a proxy in front of jobdeck must "
    "speak HTTP/1.1 to it (nginx: proxy_http_version 1.1)"
)


def _refuse_http_1_0(request: Request) -> Response:
    """uvicorn frames a body of unknown length in HTTP/1.1 chunks even for an
    HTTP/1.0 client, which would read the chunks' sizes as events: a plain
    refusal says what to change (most often a proxy's setting). A browser cannot
    read it, so the first one is also logged, once: the page retries for ever."""
    state = request.app.state
    if not getattr(state, "http_1_0_logged", False):
        state.http_1_0_logged = True
        log.warning(
            "refused an HTTP/1.0 request for the event stream: %s",
            HTTP_1_0_REFUSED,
            extra={"action": "stream_http_1_0"},
        )
    return error_response(505, "http_version_not_supported", HTTP_1_0_REFUSED)


def _retry_hint() -> bytes:
    # A random reconnect delay spreads clients out after a restart (case BC-27).
    return f"retry: {random.randint(1000, 4000)}\n\n".encode()

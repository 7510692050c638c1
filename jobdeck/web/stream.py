"""The event stream of SPEC §6: a snapshot on connect, then each change.

Frames come encoded from the event hub, once for every client. Each client's
backlog is at most one frame per job (see jobdeck.events), and a client that goes
away is noticed at its next write, at the latest at the next heartbeat. A stream
whose session or token expires ends at the next heartbeat; signing out, revoking a
token or changing the user ends it at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from jobdeck.deck import Deck
from jobdeck.events import Subscriber, encode_frame
from jobdeck.web.auth import Viewer, viewer
from jobdeck.web.errors import GUARDED_ERRORS

router = APIRouter(dependencies=[Depends(viewer)], responses=GUARDED_ERRORS)

HEARTBEAT_S = 15.0
HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}
PING = b": ping\n\n"
# The scope key under which the application leaves the server's own `send`.
SERVER_SEND = "jobdeck.server_send"


class EventStream(Response):
    """A `text/event-stream` response written straight to the ASGI server.

    At a thousand clients and ten frames a second, each delivery's own cost is
    the stream's whole cost: so one `send` per delivery, no task or queue per
    frame, and one task per client only to hear it hang up. (Starlette's
    streaming response ran a task group per client and cost several times more.)
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        subscriber: Subscriber,
        opening: bytes,
        expired: Callable[[], bool],
    ) -> None:
        # Not Response.__init__: with no body it would announce Content-Length: 0.
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self.subscriber = subscriber
        self.opening = opening
        self.expired = expired

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber = self.subscriber
        hangup = asyncio.ensure_future(_hang_up(receive, subscriber))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": self.raw_headers,
                }
            )
            send = scope.get(SERVER_SEND, send)
            await _body(send, self.opening)
            await self._follow(subscriber, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            hangup.cancel()
            subscriber.close()

    async def _follow(self, subscriber: Subscriber, send: Send) -> None:
        while True:
            frames = await subscriber.next_frames()
            if frames is None:
                return  # closed: signed out, revoked, or the client hung up
            if frames:
                await _body(send, frames)
            elif not self.expired():
                await _body(send, PING)
            else:
                return  # expired: the client's reconnect gets a 401


async def _body(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _hang_up(receive: Receive, subscriber: Subscriber) -> None:
    """Close the subscriber when the client disconnects."""
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close()


@router.get("/api/jobs/sse", response_class=EventStream, status_code=200)
async def job_events(request: Request, principal: Viewer) -> EventStream:
    deck: Deck = request.app.state.deck
    heartbeat_s: float = getattr(request.app.state, "heartbeat_s", HEARTBEAT_S)

    # Subscribing and taking the snapshot happen with no await between them, so
    # the snapshot holds exactly the changes up to the subscriber's first id.
    deck.hub.heartbeat_s = heartbeat_s
    subscriber = deck.hub.subscribe(owner=principal.session_id)
    opening = _retry_hint() + encode_frame(
        deck.hub.last_id, "snapshot", deck.snapshot()
    )
    return EventStream(subscriber, opening, principal.expired)


def _retry_hint() -> bytes:
    # A random reconnect delay spreads clients out after a restart (case BC-27).
    return f"retry: {random.randint(1000, 4000)}\n\n".encode()

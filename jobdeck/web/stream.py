"""The event stream of SPEC §6: a snapshot on connect, then each change.

Frames come encoded from the event hub, once for every client. Each client's
backlog is at most one frame per job (see jobdeck.events), and a client that goes
away is noticed at its next write, at the latest at the next heartbeat. A stream
whose session or token expires ends at the next heartbeat; signing out, revoking a
token or changing the user ends it at once.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse

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


@router.get("/api/jobs/sse")
async def job_events(request: Request, principal: Viewer) -> EventSourceResponse:
    deck: Deck = request.app.state.deck
    heartbeat_s: float = getattr(request.app.state, "heartbeat_s", HEARTBEAT_S)

    # Subscribing and taking the snapshot happen with no await between them, so
    # the snapshot holds exactly the changes up to the subscriber's first id.
    deck.hub.heartbeat_s = heartbeat_s
    subscriber = deck.hub.subscribe(owner=principal.session_id)
    opening = _retry_hint() + encode_frame(
        deck.hub.last_id, "snapshot", deck.snapshot()
    )
    frames = _frames(subscriber, opening, principal.expired)
    return EventSourceResponse(frames, headers=HEADERS)


async def _frames(
    subscriber: Subscriber,
    opening: bytes,
    expired: Callable[[], bool],
) -> AsyncIterator[bytes]:
    try:
        yield opening
        while True:
            frames = await subscriber.next_frames()
            if frames is None:
                return
            if frames:
                yield frames
            elif not expired():
                yield b": ping\n\n"
            else:
                return  # expired: the client's reconnect gets a 401
    finally:
        subscriber.close()


def _retry_hint() -> bytes:
    # A random reconnect delay spreads clients out after a restart (case BC-27).
    return f"retry: {random.randint(1000, 4000)}\n\n".encode()

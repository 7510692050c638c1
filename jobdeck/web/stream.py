"""The event stream of SPEC §6: a snapshot on connect, then each change.

Frames come encoded from the event hub, once for every client. Each client's
backlog is at most one frame per job (see jobdeck.events), and a client that goes
away is noticed at its next write, at the latest at the next heartbeat.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse

from jobdeck.deck import Deck
from jobdeck.errors import NotSignedIn
from jobdeck.events import Subscriber, encode_frame
from jobdeck.web.auth import Viewer, viewer

router = APIRouter(dependencies=[Depends(viewer)])

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
    subscriber = deck.hub.subscribe(owner=principal.session_id)
    opening = _retry_hint() + encode_frame(
        deck.hub.last_id, "snapshot", deck.snapshot()
    )
    frames = _frames(subscriber, opening, heartbeat_s, lambda: _signed_in(request))
    return EventSourceResponse(frames, headers=HEADERS)


async def _frames(
    subscriber: Subscriber,
    opening: bytes,
    heartbeat_s: float,
    still_signed_in: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    try:
        yield opening
        while True:
            frames = await subscriber.next_frames(timeout=heartbeat_s)
            if frames is None:
                return
            if frames:
                yield frames
            elif await still_signed_in():
                yield b": ping\n\n"
            else:
                return  # expired or revoked: the client's reconnect gets a 401
    finally:
        subscriber.close()


async def _signed_in(request: Request) -> bool:
    """Checked at every heartbeat, so an expired session or token ends its stream
    within one heartbeat even when nothing else closes it."""
    try:
        await viewer(request)
    except NotSignedIn:
        return False
    return True


def _retry_hint() -> bytes:
    # A random reconnect delay spreads clients out after a restart (case BC-27).
    return f"retry: {random.randint(1000, 4000)}\n\n".encode()

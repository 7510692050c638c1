"""Events: each change of a job or of the scheduler, numbered and fanned out.

The deck only marks a subject (a job, or the scheduler) as changed; that costs next
to nothing, and nothing at all while no one listens. At most every `min_gap_s` the
hub renders each changed subject once, encodes it once as a Server-Sent Events frame
and wakes every subscriber with the same bytes. A slow subscriber that missed
batches catches up with the newest frame of each subject changed since its last id,
so its backlog is bounded by the number of subjects, never by time (SPEC §6).

A subscriber either pulls (waits on the one wake-up all pullers share, then takes
its frames) or is pushed to: at each flush the hub writes its frames straight to
a sink, a function that writes bytes to the client's connection at once. Pushing
costs no task wake-up per client, which at thousands of clients is most of the
cost of a frame; the web stream pushes whenever its server lets it (see
jobdeck.web.stream).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

SCHEDULER_SUBJECT = "\x00scheduler"

# Renders a subject's current state as (event type, data).
Renderer = Callable[[str], tuple[str, dict[str, Any]]]

# Writes bytes to one client at once; False when the client is too far behind to
# take them now (it gets the newest frames later instead).
Sink = Callable[[bytes], bool]

# An SSE comment line: keeps idle connections open and finds the dead ones.
PING = b": ping\n\n"

# How many subscribers one loop step pushes to: at ten thousand clients a flush
# is tens of milliseconds of writes, which must not hold up the jobs' starts.
PUSHES_PER_STEP = 500


def encode_frame(event_id: int, event_type: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {event_type}\ndata: {payload}\n\n".encode()


# How many frames may go out back to back before the pace of one per gap holds.
FLUSH_BURST = 2

# Ended principals remembered (close_owner). The race they close lasts as long as
# one request's checks of its credentials: a few thousand would do.
ENDED_OWNERS_KEPT = 10_000


class EventHub:
    def __init__(
        self, render: Renderer, min_gap_s: float = 0.1, heartbeat_s: float = 15.0
    ) -> None:
        self.render = render
        self.min_gap_s = min_gap_s
        self.heartbeat_s = heartbeat_s
        # Called at each heartbeat, after the subscribers' own checks.
        self.on_heartbeat: Callable[[], None] | None = None
        # Heartbeats are counted here, one timer for every subscriber.
        self.beat = 0
        self._beat_handle: asyncio.TimerHandle | None = None
        self._last_id = 0
        self._dirty: dict[str, None] = {}
        self._frames: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._batch = _Batch(0, 0, b"")
        self._subscribers: set[Subscriber] = set()
        self._pushed: set[Subscriber] = set()
        self._shut = False
        # Principals whose streams were ended, newest last: a request checked
        # before the sign-out (or revoke) may subscribe only after it.
        self._ended_owners: dict[str, None] = {}
        self._changed: asyncio.Future[None] | None = None
        self._flush_handle: asyncio.Handle | None = None
        # Flushes are paced by a bucket of FLUSH_BURST tokens, one refilled every
        # min_gap_s: see _schedule_flush.
        self._tokens = float(FLUSH_BURST)
        self._tokens_at = 0.0

    @property
    def last_id(self) -> int:
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def changed(self, subject: str) -> None:
        """Mark `subject` as changed; it is rendered at the next flush."""
        if not self._subscribers:
            return
        self._dirty[subject] = None
        if self._flush_handle is None:
            self._schedule_flush()

    def subscribe(
        self, owner: str | None = None, expired: Callable[[], bool] = lambda: False
    ) -> Subscriber:
        """A new subscriber, caught up to now: take the snapshot with no await
        between this call and it. `expired` is asked at each heartbeat; once it
        says yes, the subscriber is closed."""
        subscriber = Subscriber(self, owner, expired, self._last_id)
        if self._shut or owner in self._ended_owners:
            subscriber.closed = True  # its stream sends the snapshot and ends
            return subscriber
        self._subscribers.add(subscriber)
        if self._beat_handle is None:
            self._arm_heartbeat()
        return subscriber

    def owners(self) -> set[str]:
        """The principals with streams open."""
        return {s.owner for s in self._subscribers if s.owner is not None}

    def close_owner(self, owner: str) -> None:
        """End the streams of one principal (signed out, expired, revoked), and
        any it opens later: session and token ids are never reused."""
        self._ended_owners[owner] = None
        if len(self._ended_owners) > ENDED_OWNERS_KEPT:
            del self._ended_owners[next(iter(self._ended_owners))]
        for subscriber in list(self._subscribers):
            if subscriber.owner == owner:
                subscriber.close()

    def close_all(self) -> None:
        """End every stream, and every stream opened from now on at once (the
        server is shutting down) until `reopen`."""
        self._shut = True
        for subscriber in list(self._subscribers):
            subscriber.close()

    def reopen(self) -> None:
        self._shut = False

    def _arm_heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        self._beat_handle = loop.call_later(self.heartbeat_s, self._heartbeat)

    def _heartbeat(self) -> None:
        self._beat_handle = None
        if not self._subscribers:
            return
        self.beat += 1
        self._wake_all()
        self._push_all(Subscriber.heartbeat)
        self._arm_heartbeat()
        if self.on_heartbeat is not None:
            self.on_heartbeat()

    def _wake_all(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    def wait_for_change(self) -> asyncio.Future[None]:
        """A future that completes at the next flush, shared by every waiter."""
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def frames_since(self, last_id: int) -> tuple[int, bytes]:
        """Everything a subscriber at `last_id` lacks, and the id it reaches."""
        batch = self._batch
        if last_id == batch.first_id - 1:
            return batch.last_id, batch.frames  # the common case: the shared bytes
        missed = []
        for event_id, frame in reversed(self._frames.values()):
            if event_id <= last_id:
                break
            missed.append(frame)
        missed.reverse()
        return self._last_id, b"".join(missed)

    def _schedule_flush(self) -> None:
        # A frame goes out at once while there is a token, else when the next one
        # comes: at most one frame per gap on average. A plain minimum gap since
        # the last flush would lock a change that comes once a gap into a fixed
        # lag: once one flush ran late, every later change would wait for it.
        loop = asyncio.get_running_loop()
        tokens = self._refill(loop.time())
        if tokens >= 1:
            self._flush_handle = loop.call_soon(self._flush)
        else:
            delay = (1 - tokens) * self.min_gap_s
            self._flush_handle = loop.call_later(delay, self._flush)

    def _refill(self, now: float) -> float:
        elapsed = now - self._tokens_at
        self._tokens = min(FLUSH_BURST, self._tokens + elapsed / self.min_gap_s)
        self._tokens_at = now
        return self._tokens

    def _flush(self) -> None:
        self._flush_handle = None
        self._refill(asyncio.get_running_loop().time())
        self._tokens = max(0.0, self._tokens - 1)
        subjects, self._dirty = self._dirty, {}
        if not subjects or not self._subscribers:
            return

        first_id = self._last_id + 1
        frames = [self._encode(subject) for subject in subjects]
        self._batch = _Batch(first_id, self._last_id, b"".join(frames))
        self._wake_all()
        self._push_all(Subscriber.push)

    def _push_all(self, action: Callable[[Subscriber], None]) -> None:
        if self._pushed:
            self._push_from(list(self._pushed), 0, action)

    def _push_from(
        self,
        subscribers: list[Subscriber],
        start: int,
        action: Callable[[Subscriber], None],
    ) -> None:
        end = start + PUSHES_PER_STEP
        for subscriber in subscribers[start:end]:
            if not subscriber.closed:
                action(subscriber)
        if end < len(subscribers):
            loop = asyncio.get_running_loop()
            loop.call_soon(self._push_from, subscribers, end, action)

    def _encode(self, subject: str) -> bytes:
        event_type, data = self.render(subject)
        self._last_id += 1
        frame = encode_frame(self._last_id, event_type, data)
        self._frames[subject] = (self._last_id, frame)
        self._frames.move_to_end(subject)
        return frame

    def _discard(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._pushed.discard(subscriber)
        if not self._subscribers:
            # No one to catch up: keep no frames while no one listens.
            self._frames.clear()
            self._dirty.clear()


class _Batch:
    __slots__ = ("first_id", "frames", "last_id")

    def __init__(self, first_id: int, last_id: int, frames: bytes) -> None:
        self.first_id = first_id
        self.last_id = last_id
        self.frames = frames


class Subscriber:
    __slots__ = (
        "beat", "closed", "ended", "expired", "hub", "last_id", "owner", "sink",
    )  # fmt: skip

    def __init__(
        self,
        hub: EventHub,
        owner: str | None,
        expired: Callable[[], bool],
        last_id: int,
    ) -> None:
        self.hub = hub
        self.owner = owner
        self.expired = expired
        self.last_id = last_id
        self.beat = hub.beat
        self.closed = False
        self.sink: Sink | None = None
        self.ended: asyncio.Future[None] | None = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.hub._discard(self)
        self.sink = None
        if self.ended is not None:
            if not self.ended.done():
                self.ended.set_result(None)
        else:
            self.hub._wake_all()  # every puller looks; only the closed one leaves

    # Pulling -----------------------------------------------------------------

    async def next_frames(self) -> bytes | None:
        """Frames since the last call; b"" at a heartbeat; None once closed."""
        hub = self.hub
        while not self.closed:
            if self.last_id < hub.last_id:
                self.beat = hub.beat
                self.last_id, frames = hub.frames_since(self.last_id)
                return frames
            if self.beat < hub.beat:
                self.beat = hub.beat
                if self.expired():
                    self.close()
                    return None
                return b""
            await hub.wait_for_change()
        return None

    # Being pushed to ---------------------------------------------------------

    async def push_to(self, sink: Sink) -> None:
        """From now on the hub writes every frame straight to `sink`; returns
        once the subscriber is closed."""
        if self.closed:
            return
        self.sink = sink
        self.ended = asyncio.get_running_loop().create_future()
        self.hub._pushed.add(self)
        self.push()  # what came between subscribing and now
        await self.ended

    def push(self) -> None:
        hub = self.hub
        if self.last_id < hub.last_id and self.sink is not None:
            last_id, frames = hub.frames_since(self.last_id)
            if self.sink(frames):
                self.last_id = last_id

    def heartbeat(self) -> None:
        if self.expired():
            self.close()
        elif self.last_id < self.hub.last_id:
            self.push()
        elif self.sink is not None:
            self.sink(PING)

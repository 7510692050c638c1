"""Events: each change of a job or of the scheduler, numbered and fanned out.

The hub keeps, per subject (a job, or the scheduler), only the newest event, encoded
once as a Server-Sent Events frame. A subscriber remembers the last id it sent and, on
waking, takes every subject that changed since: a slow client therefore never holds
more than one frame per subject, and never slows the deck (SPEC §6).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SCHEDULER_SUBJECT = "\x00scheduler"


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    subject: str
    data: dict[str, Any]
    frame: bytes = field(repr=False)


def encode_frame(event_id: int, event_type: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {event_type}\ndata: {payload}\n\n".encode()


class EventHub:
    def __init__(self) -> None:
        self._last_id = 0
        self._latest: OrderedDict[str, Event] = OrderedDict()
        self._changed: asyncio.Future[None] | None = None
        self._subscribers: set[Subscriber] = set()
        self._listeners: list[Callable[[Event], None]] = []

    @property
    def last_id(self) -> int:
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event_type: str, subject: str, data: dict[str, Any]) -> Event:
        self._last_id += 1
        event = Event(
            self._last_id,
            event_type,
            subject,
            data,
            encode_frame(self._last_id, event_type, data),
        )
        self._latest[subject] = event
        self._latest.move_to_end(subject)
        for listener in self._listeners:
            listener(event)
        self._wake_all()
        return event

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` synchronously with every event (for metrics and logs)."""
        self._listeners.append(listener)

    def subscribe(self, owner: str | None = None) -> Subscriber:
        subscriber = Subscriber(self, owner, self._last_id)
        self._subscribers.add(subscriber)
        return subscriber

    def changes_since(self, last_id: int) -> list[Event]:
        """The newest event of every subject changed after `last_id`, oldest first."""
        found = []
        for event in reversed(self._latest.values()):
            if event.id <= last_id:
                break
            found.append(event)
        found.reverse()
        return found

    def close_owner(self, owner: str) -> None:
        """End the streams of one principal (signed out, expired, revoked)."""
        for subscriber in list(self._subscribers):
            if subscriber.owner == owner:
                subscriber.close()

    def close_all(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()

    def changed(self) -> asyncio.Future[None]:
        """A future that completes at the next change, shared by every waiter."""
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def _wake_all(self) -> None:
        # One shared future per round wakes every waiting subscriber at once.
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    def _discard(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)


class Subscriber:
    def __init__(self, hub: EventHub, owner: str | None, last_id: int) -> None:
        self.hub = hub
        self.owner = owner
        self.last_id = last_id
        self.closed = False
        self._closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def close(self) -> None:
        self.closed = True
        if not self._closing.done():
            self._closing.set_result(None)
        self.hub._discard(self)

    async def next_batch(self, timeout: float) -> list[Event] | None:
        """Changes since the last batch; [] after `timeout` idle; None once closed."""
        while not self.closed:
            events = self.hub.changes_since(self.last_id)
            if events:
                self.last_id = events[-1].id
                return events
            if not await self._wait(timeout):
                return []
        return None

    async def _wait(self, timeout: float) -> bool:
        done, _ = await asyncio.wait(
            (self.hub.changed(), self._closing),
            timeout=timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        return bool(done)

"""Time as the deck sees it: a monotonic clock for timing, a wall clock for display.

Intervals are elapsed time, measured on the monotonic clock, so a step of the wall
clock (NTP, a manual change, DST) neither fires a burst of runs nor stalls the deck.
Wall-clock times are derived from it only to show and store them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

from jobdeck.errors import InvalidInput


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences mean anything."""

    def now(self) -> datetime:
        """The wall-clock time, timezone-aware UTC."""

    async def sleep_until(
        self, deadline: float | None, woken: asyncio.Future[None]
    ) -> None:
        """Sleep until the monotonic deadline, or until `woken` is done."""


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(
        self, deadline: float | None, woken: asyncio.Future[None]
    ) -> None:
        # One timer and one future, no task: this runs once per wake of the deck.
        timer = None
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            timer = asyncio.get_running_loop().call_later(delay, resolve, woken)
        try:
            await woken
        finally:
            if timer is not None:
                timer.cancel()


class WallTimes:
    """Wall-clock times of monotonic instants, stable from one reading to the next.

    The offset between the two clocks is taken once and moved only when the wall
    clock itself steps (by more than `step_s`), so an instant shown twice reads the
    same to the millisecond, and displayed times still follow a changed wall clock.
    """

    def __init__(self, clock: Clock, step_s: float = 0.5) -> None:
        self.clock = clock
        self.step_s = step_s
        self._offset: float | None = None

    def follow(self) -> None:
        """Look at the wall clock, and take its new offset if it has stepped."""
        offset = self.clock.now().timestamp() - self.clock.monotonic()
        if self._offset is None or abs(offset - self._offset) > self.step_s:
            self._offset = offset

    def of(self, monotonic_time: float) -> datetime:
        """The wall time of `monotonic_time`, following the wall clock."""
        self.follow()
        return self.at(monotonic_time)

    def at(self, monotonic_time: float) -> datetime:
        """The wall time of `monotonic_time` by the offset last followed: for a
        caller that has just called follow(), as the deck does once per wake."""
        return from_unix(self.unix(monotonic_time))

    def unix(self, monotonic_time: float) -> float:
        """at() as a Unix time, to the millisecond: cheap enough for every run."""
        if self._offset is None:
            self.follow()
        assert self._offset is not None
        # Half up (positive times): int() is several times cheaper than round(x, 3).
        return int((self._offset + monotonic_time) * 1000 + 0.5) / 1000


def as_utc(moment: datetime, what: str) -> datetime:
    """A time given from outside, as UTC: what is stored and shown is always UTC,
    whatever offset it came with. Refused when it has no time zone, or lies beyond
    what a datetime holds once in UTC (9999-12-31T23:59:59-23:59 does, and
    0001-01-01T00:00:00+01:00)."""
    if moment.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone, e.g. 2027-01-01T00:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{what} lies outside the years 1 to 9999 in UTC") from None


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def resolve(future: asyncio.Future[None]) -> None:
    """Complete `future` unless it already is."""
    if not future.done():
        future.set_result(None)

"""Time as the deck sees it: a monotonic clock for timing, a wall clock for display.

Intervals are elapsed time, measured on the monotonic clock, so a step of the wall
clock (NTP, a manual change, DST) neither fires a burst of runs nor stalls the deck.
Wall-clock times are derived from it only to show and store them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences mean anything."""

    def now(self) -> datetime:
        """The wall-clock time, timezone-aware UTC."""

    async def sleep_until(self, deadline: float | None, wake: asyncio.Event) -> None:
        """Sleep until the monotonic deadline, or until `wake` is set."""


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, deadline: float | None, wake: asyncio.Event) -> None:
        if wake.is_set():
            return
        loop = asyncio.get_running_loop()
        woken = loop.create_future()
        timer = None
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            timer = loop.call_later(delay, _resolve, woken)
        waiter = loop.create_task(wake.wait())
        waiter.add_done_callback(lambda _: _resolve(woken))
        try:
            await woken
        finally:
            if timer is not None:
                timer.cancel()
            waiter.cancel()


def wall_time_of(clock: Clock, monotonic_time: float) -> datetime:
    """The wall-clock time at which a monotonic instant falls, as seen now."""
    return clock.now() + timedelta(seconds=monotonic_time - clock.monotonic())


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

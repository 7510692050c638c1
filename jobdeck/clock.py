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


def wall_time_of(clock: Clock, monotonic_time: float) -> datetime:
    """The wall-clock time at which a monotonic instant falls, as seen now."""
    return clock.now() + timedelta(seconds=monotonic_time - clock.monotonic())


def resolve(future: asyncio.Future[None]) -> None:
    """Complete `future` unless it already is."""
    if not future.done():
        future.set_result(None)

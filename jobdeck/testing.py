"""Helpers for testing code that uses jobdeck, shared by jobdeck's own tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from jobdeck.clock import resolve


class FakeClock:
    """A clock that moves only when told to, for testing timing rules.

    `advance()` moves both clocks together; `jump_wall()` moves the wall clock alone,
    as an NTP step or a manual change of the system time would.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._monotonic = 1000.0
        self._wall = start or datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
        self._sleepers: list[tuple[float | None, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return self._wall

    async def sleep_until(
        self, deadline: float | None, woken: asyncio.Future[None]
    ) -> None:
        if deadline is not None and deadline <= self._monotonic:
            resolve(woken)
        entry = (deadline, woken)
        self._sleepers.append(entry)
        try:
            await woken
        finally:
            self._sleepers.remove(entry)

    async def advance(self, seconds: float, step: float = 0.25) -> None:
        """Move time forward in steps, letting the deck act at each step."""
        remaining = seconds
        while remaining > 1e-9:
            delta = min(step, remaining)
            self._monotonic += delta
            self._wall += timedelta(seconds=delta)
            remaining -= delta
            self._wake_due()
            await settle()

    def jump_wall(self, seconds: float) -> None:
        self._wall += timedelta(seconds=seconds)

    def _wake_due(self) -> None:
        for deadline, woken in list(self._sleepers):
            if deadline is not None and deadline <= self._monotonic:
                resolve(woken)


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until the loop is quiet."""
    for _ in range(rounds):
        await asyncio.sleep(0)

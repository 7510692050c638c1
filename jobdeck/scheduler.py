"""When runs are due: the cadence rules of SPEC §3.2 and the timer that keeps them.

All times here are monotonic seconds. The rules are pure functions so that every
one of them can be tested without a clock.
"""

from __future__ import annotations

import heapq
import math


def next_after(anchor: float, interval: float, now: float) -> float:
    """The first `anchor + k × interval` (k ≥ 1) that lies strictly after `now`."""
    if anchor + interval > now:
        return anchor + interval
    steps = math.floor((now - anchor) / interval) + 1
    due = anchor + steps * interval
    # Float rounding can land a hair at or before `now`.
    return due if due > now else due + interval


def due_on_resume(anchor: float | None, interval: float, now: float) -> float:
    """Resuming keeps the cadence and never fires a catch-up run by itself."""
    if anchor is None:
        return now + interval
    return next_after(anchor, interval, now)


def due_on_interval_change(anchor: float | None, interval: float, now: float) -> float:
    """A new interval counts from the last scheduled start, or now if that is past."""
    if anchor is None:
        return now + interval
    return max(anchor + interval, now)


class Timer:
    """A heap of (due, name) with lazy removal: rescheduling a job leaves its old
    entry in the heap, and that entry is ignored when it surfaces."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._sequence = 0

    def set(self, name: str, due: float | None) -> None:
        if due is None:
            self._due.pop(name, None)
            return
        self._due[name] = due
        self._sequence += 1
        heapq.heappush(self._heap, (due, self._sequence, name))

    def next_due(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int | None = None) -> list[tuple[str, float]]:
        """Every (name, due) whose time has come, earliest first; at most `limit`."""
        fired: list[tuple[str, float]] = []
        while self._heap and self._heap[0][0] <= now and len(fired) != limit:
            due, _, name = heapq.heappop(self._heap)
            if self._due.get(name) == due:
                del self._due[name]
                fired.append((name, due))
        return fired

    def _drop_stale(self) -> None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)

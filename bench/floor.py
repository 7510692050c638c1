"""The floor: the least an asyncio scheduler can do per run and still keep a history.

A heap of due times, one task per run, and one row per run in the same SQLite table
jobdeck writes, in batches of the same window, from one thread. Nothing else: no job
state beyond whether it is running, no events, no metrics, no timeouts, no records of
skipped ticks, no controls. No one should schedule with it. It is here to show, on
the machine at hand and in the same run as the others, how low any scheduler of this
design can go, and so whether a CPU target is within reach of the design at all.
"""

from __future__ import annotations

import asyncio
import heapq
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobdeck.store.records import RunRecord
from jobdeck.store.sql import ROWS_PER_PAUSE, _sqlite_time

BATCH_WINDOW_S = 0.5  # as jobdeck's store writer


class FloorScheduler:
    def __init__(self, database: Path) -> None:
        self._database = database
        self._heap: list[tuple[float, int]] = []
        self._intervals: list[float] = []
        self._bodies: list[Callable[[], Any]] = []
        self._names: list[str] = []
        self._running: list[bool] = []
        self._pending: list[tuple[Any, ...]] = []
        self._counter = 0
        self._tasks: list[asyncio.Task[None]] = []

    def add(
        self, name: str, body: Callable[[], Any], interval_s: float, first_due: float
    ) -> None:
        """A job whose async `body` runs every `interval_s` from `first_due`
        (the event loop's time)."""
        self._heap.append((first_due, len(self._bodies)))
        self._intervals.append(interval_s)
        self._bodies.append(body)
        self._names.append(name)
        self._running.append(False)

    def start(self) -> None:
        heapq.heapify(self._heap)
        self._tasks = [
            asyncio.create_task(self._schedule()),
            asyncio.create_task(self._write_batches()),
        ]

    async def stop(self) -> int:
        """Stop, write what is pending, and count the rows written."""
        scheduling, writing = self._tasks
        scheduling.cancel()
        await asyncio.gather(scheduling, return_exceptions=True)
        # Runs started in the scheduler's last step take theirs now: the bench's
        # bodies end in it, and their rows must be counted (none are tracked,
        # which would cost the floor per run).
        await asyncio.sleep(0)
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        rows, self._pending = self._pending, []
        connection = self._connect()
        _write(connection, rows)
        count = int(connection.execute("SELECT count(*) FROM runs").fetchone()[0])
        connection.close()
        return count

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        heap = self._heap
        while True:
            now = loop.time()
            while heap[0][0] <= now:
                due, index = heapq.heappop(heap)
                heapq.heappush(heap, (due + self._intervals[index], index))
                if not self._running[index]:
                    # Not kept: a body that waits is held by what it waits on.
                    loop.create_task(self._run(index))  # noqa: RUF006
            await asyncio.sleep(heap[0][0] - loop.time())

    async def _run(self, index: int) -> None:
        self._running[index] = True
        started_at = datetime.now(UTC)
        self._counter += 1
        run_id = f"floor{self._counter:012x}"
        outcome = "success"
        try:
            await self._bodies[index]()
        except Exception:
            outcome = "error"
        finished_at = datetime.now(UTC)
        duration_ms = int((finished_at - started_at).total_seconds() * 1000)
        self._running[index] = False
        self._pending.append((run_id, self._names[index], "schedule", started_at,
                              None, "bench", finished_at, duration_ms, outcome,
                              None, None, None, None, None))  # fmt: skip

    async def _write_batches(self) -> None:
        """One thread writes each batch in one transaction and in chunks, as
        jobdeck's writer does, so that the hand-offs and the pages written cost
        the same, and the loop is never held for long."""
        loop = asyncio.get_running_loop()
        thread = ThreadPoolExecutor(1)
        connection = await loop.run_in_executor(thread, self._connect)
        taken: list[tuple[Any, ...]] = []
        start = 0
        try:
            while True:
                await asyncio.sleep(BATCH_WINDOW_S)
                taken, self._pending, start = self._pending, [], 0
                await loop.run_in_executor(thread, connection.execute, "BEGIN")
                while start < len(taken):
                    chunk = taken[start : start + ROWS_PER_PAUSE]
                    # Counted before the wait, and shielded: the thread writes the
                    # chunk even if this task is cancelled meanwhile (a job of the
                    # executor that had not started would be dropped).
                    start += ROWS_PER_PAUSE
                    rows = [_as_text(row) for row in chunk]
                    await asyncio.shield(
                        loop.run_in_executor(
                            thread, connection.executemany, _INSERT, rows
                        )
                    )
                await loop.run_in_executor(thread, connection.execute, "COMMIT")
        finally:
            self._pending[:0] = taken[start:]
            thread.shutdown(wait=True)
            if connection.in_transaction:
                connection.execute("COMMIT")
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._database, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection


def _as_text(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[:3], _sqlite_time(row[3]), *row[4:6], _sqlite_time(row[6]),
            *row[7:])  # fmt: skip


_COLUMNS = ", ".join(f'"{name}"' for name in RunRecord._fields)
_INSERT = (
    f"INSERT INTO runs ({_COLUMNS}) "
    f"VALUES ({', '.join('?' for _ in RunRecord._fields)})"
)


def _write(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    connection.execute("BEGIN")
    connection.executemany(_INSERT, [_as_text(row) for row in rows])
    connection.execute("COMMIT")

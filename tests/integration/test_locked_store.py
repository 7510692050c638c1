"""A store that is locked for 5 s delays no scheduled start, shows on the status,
and loses nothing once it answers again (SPEC §8, issue 3). Real clock, real SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from jobdeck.clock import SystemClock
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.store.records import RunRecord
from jobdeck.store.sql import SqlStore
from jobdeck.store.writer import StoreWriter


async def test_an_exclusive_lock_on_the_database_moves_no_start(tmp_path: Path) -> None:
    path = tmp_path / "jobdeck.sqlite3"
    store = SqlStore.sqlite_file(path)
    await store.open()
    deck = Deck(store=store)
    starts: list[float] = []

    async def probe() -> None:
        starts.append(time.monotonic())

    deck.add(define_job("probe", "1s", probe, first_delay_s=0))
    await deck.start()
    await asyncio.sleep(1.5)

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    await asyncio.sleep(4)
    during = deck.scheduler_object()
    await asyncio.sleep(1)
    blocker.execute("COMMIT")
    blocker.close()
    await asyncio.sleep(2.5)
    await asyncio.wait_for(deck.flush(), timeout=10)
    after = deck.scheduler_object()
    await deck.stop()
    stored = await store.list_runs("probe", limit=100)
    await store.close()

    gaps = [b - a for a, b in pairwise(starts)]
    assert len(starts) >= 8
    assert all(0.95 <= gap <= 1.05 for gap in gaps), gaps
    assert during["store_ok"] is False
    assert "locked" in during["store_error"]
    assert after["store_ok"] is True
    assert len(stored) == len(starts)


async def test_a_run_sqlite_cannot_take_is_dropped_and_the_rest_written(
    tmp_path: Path,
) -> None:
    """A value out of SQLite's range fails its whole batch on every try: the
    writer writes that batch apart and drops only the record it cannot take."""
    store = SqlStore.sqlite_file(tmp_path / "jobdeck.sqlite3")
    await store.open()
    health: list[str | None] = []
    writer = StoreWriter(store, health.append, SystemClock(), batch_window_s=0.05)
    task = writer.start()
    started = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    for run_id, duration_ms in (("before", 5), ("huge", 2**70), ("after", 7)):
        record = RunRecord(run_id, "probe", "schedule", started, finished_at=started,
                           duration_ms=duration_ms, outcome="success")  # fmt: skip
        writer.put_run(run_id, tuple(record))

    await asyncio.wait_for(writer.flush(), timeout=10)
    stored = await store.list_runs("probe", 10)
    task.cancel()
    await store.close()

    assert sorted(run.id for run in stored) == ["after", "before"]
    assert writer.dropped_records == 1
    assert health == [None]

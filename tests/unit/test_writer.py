"""The store writer's two lanes: a job's row changed by a control is written
within one batch window; a row changed only by a run's outcome may wait up to
LATER_S, with every other such row, and a flush writes it at once. Also: a burst
of due ticks larger than one step of the deck's loop starts every run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from jobdeck.deck import STARTS_PER_STEP, Deck
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import JobRecord
from jobdeck.store.writer import LATER_S, StoreWriter
from jobdeck.testing import FakeClock, settle

WINDOW_S = 0.1


@dataclass
class Counted:
    """A job whose record says how many times it was made."""

    name: str
    total_runs: int = 0

    def record(self) -> JobRecord:
        return JobRecord(self.name, total_runs=self.total_runs)


@pytest.fixture
async def writer() -> AsyncIterator[tuple[StoreWriter, MemoryStore, FakeClock]]:
    store, clock = MemoryStore(), FakeClock()
    writer = StoreWriter(store, lambda error: None, clock, batch_window_s=WINDOW_S)
    task = asyncio.create_task(writer.run())
    yield writer, store, clock
    task.cancel()


async def test_a_row_that_may_wait_is_written_within_its_delay(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    write, store, clock = writer
    job = Counted("probe", total_runs=1)
    write.put_job(job, soon=False)

    await clock.advance(LATER_S - 0.5, step=0.1)
    assert "probe" not in store.jobs

    job.total_runs = 2  # changed again meanwhile: the row written is the latest
    write.put_job(job, soon=False)
    await clock.advance(0.5 + 2 * WINDOW_S, step=0.05)
    assert store.jobs["probe"].total_runs == 2


async def test_a_control_change_overtakes_a_row_that_waits(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    write, store, clock = writer
    job = Counted("probe", total_runs=1)
    write.put_job(job, soon=False)
    write.put_job(job, soon=True)

    await clock.advance(2 * WINDOW_S, step=0.05)
    assert store.jobs["probe"].total_runs == 1


async def test_a_flush_writes_the_rows_that_wait_at_once(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    write, store, _ = writer
    write.put_job(Counted("probe", total_runs=3), soon=False)

    await write.flush()
    assert store.jobs["probe"].total_runs == 3


def noting(started: list[str], name: str) -> Callable[[], Awaitable[None]]:
    async def body() -> None:
        started.append(name)

    return body


async def test_a_burst_of_due_ticks_starts_every_run() -> None:
    clock = FakeClock()
    deck = Deck(store=MemoryStore(), clock=clock, node="test")
    started: list[str] = []
    count = 4 * STARTS_PER_STEP + 7
    for index in range(count):
        name = f"job-{index}"
        deck.add(define_job(name, "1h", noting(started, name), first_delay_s=1.0))
    await deck.start()

    # One step of the clock past every first run: all are due in one wake.
    await clock.advance(3.0, step=3.0)
    await settle(rounds=50)
    assert sorted(started) == sorted(f"job-{i}" for i in range(count))
    assert all(deck.job_object(f"job-{i}")["run_count"] == 1 for i in range(count))
    await deck.stop(grace_s=0.1)

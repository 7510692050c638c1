"""The store writer's two lanes: a job's row changed by a control is written
within one batch window; a row changed only by a run's outcome may wait up to
LATER_S, with every other such row, and a flush writes it at once. A reader of the
history gets every run that ended before it asked, without waiting out the batch
window. Also: a burst of due ticks larger than one step of the deck's loop starts
every run."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from jobdeck.deck import STARTS_PER_STEP, Deck
from jobdeck.errors import StoreError
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import AuditEntry, JobRecord, RunRecord
from jobdeck.store.writer import LATER_S, StoreWriter
from jobdeck.testing import FakeClock, settle

WINDOW_S = 0.1
T = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def _wrapped(cause: Exception) -> StoreError:
    """A driver's error as the SQL store raises it."""
    error = StoreError(f"database error: {cause}")
    error.__cause__ = cause
    return error


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
    task = writer.start()
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


async def test_a_control_change_is_written_at_once_and_takes_a_waiting_row(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    """A control's answer says it is done: a crash right after must not undo it,
    so its row and audit entry do not wait out the batch window."""
    write, store, _ = writer
    job = Counted("probe", total_runs=1)
    write.put_job(job, soon=False)
    write.put_job(job, soon=True)
    write.put_audit(AuditEntry(at=T, actor="ann", action="pause", job_name="probe"))

    await settle()  # the fake clock does not move: no batch window ends

    assert store.jobs["probe"].total_runs == 1
    assert [entry.action for entry in store.audit] == ["pause"]


async def test_a_flush_writes_the_rows_that_wait_at_once(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    write, store, _ = writer
    write.put_job(Counted("probe", total_runs=3), soon=False)

    await write.flush()
    assert store.jobs["probe"].total_runs == 3


def finished_run(run_id: str) -> tuple[Any, ...]:
    started = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    record = RunRecord(run_id, "probe", "schedule", started, finished_at=started,
                       duration_ms=0, outcome="success")  # fmt: skip
    return tuple(record)


async def test_a_history_reader_gets_the_runs_at_once_but_rows_that_wait_wait(
    writer: tuple[StoreWriter, MemoryStore, FakeClock],
) -> None:
    write, store, _ = writer
    write.put_job(Counted("probe", total_runs=1), soon=False)
    write.put_run("run-1", finished_run("run-1"))

    # The fake clock never moves: only the hurry can end the batch window.
    await asyncio.wait_for(write.write_soon(), timeout=2)

    assert "run-1" in store.runs
    assert "probe" not in store.jobs


class GatedStore(MemoryStore):
    """A store whose writes wait for the test to open the gate."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def write_batch(self, jobs: Any, runs: Any, audit: list[AuditEntry]) -> None:
        self.entered.set()
        await self.gate.wait()
        if self.fail:
            raise StoreError("database is locked")
        await super().write_batch(jobs, runs, audit)


def running_writer(store: MemoryStore) -> tuple[StoreWriter, asyncio.Task[None]]:
    write = StoreWriter(store, lambda error: None, FakeClock(), batch_window_s=WINDOW_S)
    return write, write.start()


async def reader_of_a_held_batch(
    write: StoreWriter, store: GatedStore
) -> asyncio.Task[None]:
    """A reader waiting for the batch of run-1, which the store holds unwritten."""
    write.put_run("run-1", finished_run("run-1"))
    reader = asyncio.create_task(write.write_soon())
    await asyncio.wait_for(store.entered.wait(), timeout=2)
    return reader


async def test_a_reader_during_a_write_waits_for_that_write() -> None:
    store = GatedStore()
    write, task = running_writer(store)
    first = await reader_of_a_held_batch(write, store)

    second = asyncio.create_task(write.write_soon())  # nothing pending, one in flight
    await settle()
    assert not first.done() and not second.done()

    store.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=2)
    assert "run-1" in store.runs
    task.cancel()


async def test_a_reader_is_answered_when_the_write_fails() -> None:
    store = GatedStore(fail=True)
    write, task = running_writer(store)
    store.gate.set()
    write.put_run("run-1", finished_run("run-1"))

    await asyncio.wait_for(write.write_soon(), timeout=2)
    assert store.runs == {}

    # While the store fails, a reader does not wait for the retry at all.
    write.put_run("run-2", finished_run("run-2"))
    await asyncio.wait_for(write.write_soon(), timeout=0.1)
    task.cancel()


class BrokenOnceStore(MemoryStore):
    """A store whose first write raises what no store should: a fault in an
    application's own Store."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def write_batch(self, jobs: Any, runs: Any, audit: list[AuditEntry]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the application's store broke")
        await super().write_batch(jobs, runs, audit)


async def test_an_unexpected_error_is_reported_and_retried_not_fatal() -> None:
    store, clock, health = BrokenOnceStore(), FakeClock(), []
    write = StoreWriter(store, health.append, clock, batch_window_s=WINDOW_S)
    task = write.start()
    write.put_run("run-1", finished_run("run-1"))

    await asyncio.wait_for(write.write_soon(), timeout=2)
    assert health == ["RuntimeError: the application's store broke"]
    assert not task.done()

    await clock.advance(1.0, step=0.1)  # past the first retry's pause
    await asyncio.wait_for(write.flush(), timeout=2)
    assert "run-1" in store.runs
    assert health[-1] is None
    task.cancel()


async def test_readers_are_answered_when_the_writer_stops() -> None:
    store = GatedStore()
    write, task = running_writer(store)
    in_flight = await reader_of_a_held_batch(write, store)
    write.put_run("run-2", finished_run("run-2"))
    next_batch = asyncio.create_task(write.write_soon())
    await settle()

    task.cancel()  # as Deck.stop does, once it has flushed
    await asyncio.wait_for(asyncio.gather(in_flight, next_batch), timeout=2)

    # No batch is coming any more: a read does not wait for one, nor a flush.
    await asyncio.wait_for(write.write_soon(), timeout=0.1)
    await asyncio.wait_for(write.flush(), timeout=0.1)


async def test_a_second_start_is_refused_while_running_but_not_after_a_stop() -> None:
    write, task = running_writer(MemoryStore())

    with pytest.raises(RuntimeError, match="already running"):
        write.start()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    again = write.start()

    assert not again.done()
    again.cancel()


async def test_a_reader_right_after_the_start_waits_for_the_first_batch() -> None:
    """The writer's task has not taken its first step yet when the reader asks:
    a run handed over by then must still be in what the reader reads."""
    store = MemoryStore()
    write, task = running_writer(store)
    write.put_run("run-1", finished_run("run-1"))

    await write.write_soon()  # no wait_for: its task would let the writer start

    assert "run-1" in store.runs
    task.cancel()


async def test_a_run_just_ended_is_in_the_history_at_once() -> None:
    """With the default batch window (0.5 s) and the real clock."""
    deck = Deck(store=MemoryStore(), node="test")
    deck.add(define_job("quick", "1h", noting([], "quick"), first_delay_s=3600))
    await deck.start()
    await deck.run_now("quick")
    while deck.job_object("quick")["status"] == "running":
        await asyncio.sleep(0.001)

    asked = time.monotonic()
    (run,) = await deck.list_runs("quick", 5)
    assert run.outcome == "success"
    assert time.monotonic() - asked < 0.25
    await deck.stop(grace_s=0.1)


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


async def test_runs_finished_by_an_eager_task_are_not_tracked() -> None:
    """Under an eager task factory a body that never waits has run to its end by
    the time its task is made (Python 3.12's asyncio.eager_task_factory; on 3.11 a
    factory that does the same for such bodies stands in)."""
    loop = asyncio.get_running_loop()
    loop.set_task_factory(getattr(asyncio, "eager_task_factory", _eager_enough))
    try:
        deck = Deck(store=MemoryStore(), node="test")
        deck.add(define_job("quick", "1h", noting([], "quick"), first_delay_s=3600))
        await deck.start()
        for _ in range(100):
            await deck.run_now("quick")
        job = deck.job_object("quick")
        tracked = len(deck._runs)
        await deck.stop(grace_s=0.1)
    finally:
        loop.set_task_factory(None)

    assert (job["status"], job["run_count"]) == ("idle", 100)
    assert tracked == 0


def _eager_enough(
    loop: asyncio.AbstractEventLoop, coroutine: Any, **options: Any
) -> asyncio.Future[Any]:
    """Steps the coroutine at once; one that finishes comes back as a done future,
    one that waits goes on in a task."""
    if getattr(coroutine, "__qualname__", "") != "Deck._drive":
        return asyncio.Task(coroutine, loop=loop, **options)
    try:
        coroutine.send(None)
    except StopIteration as stop:
        done = loop.create_future()
        done.set_result(stop.value)
        return done
    raise AssertionError("the test's body never waits")


class PoisonedStore(MemoryStore):
    """A store that cannot take one run's values, failing every batch holding it
    the way the SQL store would: a driver's data error as a StoreError's cause,
    or a conversion's own error."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def write_batch(self, jobs: Any, runs: Any, audit: list[AuditEntry]) -> None:
        jobs, runs = list(jobs), list(runs)
        if any(run.id == "poison" for run in runs):
            raise self.error
        await super().write_batch(jobs, runs, audit)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(sqlite3.IntegrityError("NOT NULL constraint failed: runs.job_name")),
        OverflowError("date value out of range"),
    ],
    ids=["driver", "conversion"],
)
async def test_a_record_the_store_cannot_take_is_dropped_not_retried_for_ever(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    store, health = PoisonedStore(error), []
    write = StoreWriter(store, health.append, FakeClock(), batch_window_s=WINDOW_S)
    task = write.start()
    for run_id in ("before", "poison", "after"):
        write.put_run(run_id, finished_run(run_id))
    write.put_job(Counted("probe", total_runs=3))
    write.put_audit(AuditEntry(at=T, actor="ann", action="pause", job_name="probe"))

    await asyncio.wait_for(write.flush(), timeout=2)

    assert sorted(store.runs) == ["after", "before"]
    assert store.jobs["probe"].total_runs == 3 and len(store.audit) == 1
    assert write.dropped_records == 1
    assert health == [None]  # the store works: nothing to show on the status bar
    assert "the run poison, which is dropped" in caplog.text
    task.cancel()


async def test_a_store_that_fails_outright_keeps_every_record_for_the_retry() -> None:
    locked = StoreError("database error: database is locked")
    locked.__cause__ = sqlite3.OperationalError("database is locked")
    store, health = PoisonedStore(locked), []
    write = StoreWriter(store, health.append, FakeClock(), batch_window_s=WINDOW_S)
    task = write.start()
    write.put_run("poison", finished_run("poison"))
    write.put_run("other", finished_run("other"))

    await asyncio.wait_for(write.write_soon(), timeout=2)

    assert store.runs == {} and write.dropped_records == 0
    assert health == ["database error: database is locked"]
    assert sorted(write._runs) == ["other", "poison"]
    task.cancel()


class HangingStore(MemoryStore):
    """A store that never answers a write."""

    async def write_batch(self, jobs: Any, runs: Any, audit: list[AuditEntry]) -> None:
        await asyncio.Event().wait()


async def test_a_stop_says_what_a_store_that_does_not_answer_did_not_take(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deck = Deck(store=HangingStore(), node="test")
    deck.add(define_job("probe", "1h", lambda: None, first_delay_s=3600))
    await deck.start()
    await deck.run_now("probe")
    await asyncio.sleep(0.1)

    deck.hurry_stop()  # the flush waits 0.5 s, not 5
    await deck.stop(grace_s=0.1)

    lost = re.search(r"(\d+) runs, (\d+) job rows and (\d+) audit entries", caplog.text)
    assert lost is not None, caplog.text
    assert [int(count) for count in lost.groups()] == [1, 1, 1]

"""The one writer task between the deck and its store.

The deck hands records over without waiting; the writer coalesces them (the newest
record of a job or a run wins) and writes them in batches, one transaction each. A
slow or failing store therefore never delays a scheduled start (SPEC §8): the failure
is reported through `on_health` and the batch is retried with a growing pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from jobdeck.clock import Clock, resolve
from jobdeck.errors import StoreError
from jobdeck.store.base import Store
from jobdeck.store.records import AuditEntry, JobRecord, RunRecord

log = logging.getLogger("jobdeck.store")


class JobSource(Protocol):
    """A job whose latest record the writer takes at write time."""

    @property
    def name(self) -> str: ...

    def record(self) -> JobRecord: ...


# A finished run's values (a plain tuple in the order of RunRecord's fields), or
# a function that makes an open run's latest values.
RunValues = tuple[Any, ...]
RunItem = RunValues | Callable[[], RunValues]

# A job's row changed only by a run's outcome is written at most this long after:
# at thousands of runs a second, writing each job's row on every run would double
# the writes, and the runs themselves, written at once, say the same.
LATER_S = 10.0

# How long a batch gathers records after the first. At 10,000 runs a second, 0.5 s
# against 0.1 s cut the CPU per run by a tenth and the starts' lateness p99 from
# 2.1-2.4 ms to 1.3-1.4 ms (docs/benchmarks.md). Readers of the history do not wait
# for it: they call write_soon().
BATCH_WINDOW_S = 0.5

# PEP 249's names for a database's errors caused by the values written: every
# driver, and SQLAlchemy's wrappers of them, has classes by these names.
DATA_ERRORS = frozenset({"DataError", "IntegrityError"})

# Beyond this many unwritten runs (a store down for long), the oldest are dropped
# and counted, so that memory stays bounded.
MAX_PENDING_RUNS = 100_000


class StoreWriter:
    def __init__(
        self,
        store: Store,
        on_health: Callable[[str | None], None],
        clock: Clock,
        retry_pause_s: tuple[float, float] = (0.5, 5.0),
        batch_window_s: float = BATCH_WINDOW_S,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_health = on_health
        self.dropped_runs = 0
        # Records the store refused for their values, each logged (_write_apart).
        self.dropped_records = 0
        self._jobs: dict[str, JobSource] = {}
        self._runs: dict[str, RunItem] = {}
        self._audit: list[AuditEntry] = []
        # Job rows that may wait, and when they are due (monotonic).
        self._later: dict[str, JobSource] = {}
        self._later_due: float | None = None
        self._wake: asyncio.Future[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._retry_pause_s = retry_pause_s
        self._batch_window_s = batch_window_s
        self._hurry: asyncio.Future[None] | None = None
        self._flush_asked = False
        self._failing = False
        # Readers waiting for the batch that will carry what is pending now, and
        # for the batch being written.
        self._next_readers: list[asyncio.Future[None]] = []
        self._current_readers: list[asyncio.Future[None]] = []
        # What the batch being written holds; None while none is.
        self._in_flight: (
            tuple[dict[str, JobSource], dict[str, RunItem], list[AuditEntry]] | None
        ) = None
        self._running = False

    def put_job(self, job: JobSource, soon: bool = True) -> None:
        """Hand over a changed job. Its record is made once, at write time, so a
        job that changes many times between two batches is written once.
        With `soon` (a control, whose answer says it is done) the row is written
        without waiting out the batch window; with `soon=False` (a run's outcome)
        it may wait up to LATER_S, with other such rows."""
        name = job.name
        if soon or name in self._jobs:
            self._jobs[name] = job
            self._later.pop(name, None)
            self._signal()
            if soon:
                self._hurry_batch()
            return
        self._later[name] = job
        if self._later_due is None:
            self._later_due = self.clock.monotonic() + LATER_S
            self._signal()

    def put_run(self, run_id: str, run: RunItem) -> None:
        """Hand over a run's latest state: the values of a finished run, or for
        one in progress a function making them at write time.

        A finished run is handed over as a plain tuple of plain values, which the
        garbage collector stops tracking at its first pass, and nothing here keeps
        the run's own objects alive: at thousands of runs a second, objects that
        outlive a few young collections are what brings the slow full ones round."""
        self._runs[run_id] = run
        if len(self._runs) > MAX_PENDING_RUNS:
            del self._runs[next(iter(self._runs))]
            self.dropped_runs += 1
        self._signal()

    def put_audit(self, entry: AuditEntry) -> None:
        """Hand over an audit entry, written without waiting out the batch window."""
        self._audit.append(entry)
        self._signal()
        self._hurry_batch()

    def unwritten(self) -> tuple[int, int, int]:
        """Runs, job rows and audit entries not in the store yet, those of the
        batch being written included."""
        jobs, runs, audit = self._in_flight or ({}, {}, [])
        return (
            len(runs.keys() | self._runs.keys()),
            len(jobs.keys() | self._jobs.keys() | self._later.keys()),
            len(audit) + len(self._audit),
        )

    async def flush(self) -> None:
        """Wait until everything handed over so far is written (or given up).
        At once when the writer is not running: no batch would come."""
        if not self._running:
            return
        self._promote_later()
        self._hurry_batch()
        await self._idle.wait()

    def _hurry_batch(self) -> None:
        """Cut the gathering of the next batch short."""
        self._flush_asked = True
        if self._wake is not None:
            resolve(self._wake)
        if self._hurry is not None:
            resolve(self._hurry)

    async def write_soon(self) -> None:
        """Wait until the runs and audit entries handed over so far are written
        (or their batch failed), hurrying the batch that gathers them. Job rows
        that may wait still wait: this is for readers of the history."""
        if not self._running or self._failing:
            # Stopped or not started, no batch is coming; or the store is failing
            # and retries at its own pace: the reader gets what the store holds.
            return
        if self._runs or self._audit:
            readers = self._next_readers
            self._hurry_batch()
        elif self._in_flight is not None:
            readers = self._current_readers
        else:
            return
        future = asyncio.get_running_loop().create_future()
        readers.append(future)
        await future

    def start(self) -> asyncio.Task[None]:
        """Write batches in a task of their own until it is cancelled. Readers
        wait for batches from now on, even before the task's first step."""
        if self._running:
            # Two writers would write the same records in two batches at once.
            raise RuntimeError("the store writer is already running")
        self._running = True
        task = asyncio.create_task(self._write_batches(), name="writer")
        task.add_done_callback(self._stopped)
        return task

    def _stopped(self, _task: asyncio.Task[None]) -> None:
        # No batch will come for those still waiting: let them read. (A task
        # cancelled before its first step never runs its coroutine's `finally`.)
        self._running = False
        _answer(self._next_readers)

    async def _write_batches(self) -> None:
        pause = self._retry_pause_s[0]
        while True:
            await self._until_work()
            await self._gather_more()
            if await self._write_pending():
                pause = self._retry_pause_s[0]
            else:
                await self._pause(pause)
                pause = min(pause * 2, self._retry_pause_s[1])

    async def _until_work(self) -> None:
        """Wait for records to write, or for the rows that wait to be due."""
        while True:
            due = self._later_due
            if due is not None and self.clock.monotonic() >= due:
                self._promote_later()
            if self._jobs or self._runs or self._audit:
                return
            self._wake = asyncio.get_running_loop().create_future()
            await self.clock.sleep_until(self._later_due, self._wake)
            self._wake = None

    def _promote_later(self) -> None:
        for name, job in self._later.items():
            self._jobs.setdefault(name, job)
        self._later.clear()
        self._later_due = None

    async def _gather_more(self) -> None:
        # A short window lets one batch take many records: a short run's opening
        # and closing records become one row, and a job's record is written once.
        if not self._flush_asked:
            self._hurry = asyncio.get_running_loop().create_future()
            deadline = self.clock.monotonic() + self._batch_window_s
            await self.clock.sleep_until(deadline, self._hurry)
        self._flush_asked = False

    async def _pause(self, seconds: float) -> None:
        # Only the clock ends the pause: new records must not cut a retry short.
        deadline = self.clock.monotonic() + seconds
        await self.clock.sleep_until(
            deadline, asyncio.get_running_loop().create_future()
        )

    async def _write_pending(self) -> bool:
        jobs, runs, audit = self._take()
        self._current_readers, self._next_readers = self._next_readers, []
        self._in_flight = (jobs, runs, audit)
        try:
            await self._write(jobs.values(), runs.values(), audit)
        except Exception as exc:
            # Besides the store's own failures (StoreError), a fault in an
            # application's Store must not end the writer either: history would
            # stop being written without a word.
            failure: Exception | None = exc
            if _refuses_the_records(exc):
                failure = await self._write_apart(jobs, runs, audit)
            if failure is not None:
                self._put_back(jobs, runs, audit)
                self._report(failure)
                return False
        finally:
            self._in_flight = None
            _answer(self._current_readers)

        self._report(None)
        if not (self._jobs or self._runs or self._audit or self._later):
            self._idle.set()
        return True

    async def _write_apart(
        self,
        jobs: dict[str, JobSource],
        runs: dict[str, RunItem],
        audit: list[AuditEntry],
    ) -> Exception | None:
        """Write a batch refused for what it holds one record at a time, so that
        a record the store cannot take is dropped and logged rather than retried
        for ever with every record after it. Written and dropped records leave
        the three collections; on a failure of the store itself, what is left
        stays in them and the failure is returned."""
        for name, job in list(jobs.items()):
            if failure := await self._write_one(f"job {name}", jobs=(job,)):
                return failure
            del jobs[name]
        for run_id, run in list(runs.items()):
            if failure := await self._write_one(f"run {run_id}", runs=(run,)):
                return failure
            del runs[run_id]
        while audit:
            entry = audit[0]
            what = f"audit entry ({entry.action} {entry.job_name})"
            if failure := await self._write_one(what, audit=(entry,)):
                return failure
            del audit[0]
        return None

    async def _write_one(
        self,
        what: str,
        jobs: tuple[JobSource, ...] = (),
        runs: tuple[RunItem, ...] = (),
        audit: tuple[AuditEntry, ...] = (),
    ) -> Exception | None:
        """Write one record; drop it if the store refuses it. None unless the
        store itself failed."""
        try:
            await self._write(jobs, runs, list(audit))
        except Exception as exc:
            if not _refuses_the_records(exc):
                return exc
            self.dropped_records += 1
            log.error(
                "the store cannot take the %s, which is dropped: %s",
                what,
                _describe(exc),
                extra={"action": "record_dropped"},
            )
        return None

    async def _write(
        self,
        jobs: Iterable[JobSource],
        runs: Iterable[RunItem],
        audit: list[AuditEntry],
    ) -> None:
        await self.store.write_batch(
            # Made one at a time as the store reads them, and let go at once.
            (job.record() for job in jobs),
            (_run_record(run) for run in runs),
            audit,
        )

    def _take(
        self,
    ) -> tuple[dict[str, JobSource], dict[str, RunItem], list[AuditEntry]]:
        taken = (self._jobs, self._runs, self._audit)
        self._jobs, self._runs, self._audit = {}, {}, []
        return taken

    def _put_back(
        self,
        jobs: dict[str, JobSource],
        runs: dict[str, RunItem],
        audit: list[AuditEntry],
    ) -> None:
        # Records handed over while the batch was out are newer: they win.
        for name, job in jobs.items():
            self._jobs.setdefault(name, job)
        for run_id, run_build in runs.items():
            self._runs.setdefault(run_id, run_build)
        self._audit[:0] = audit

    def _report(self, failure: Exception | None) -> None:
        """Tell of a failed batch (or, with None, of a written one)."""
        error = None if failure is None else _describe(failure)
        if error is not None and not self._failing:
            log.error(
                "store write failed, will retry: %s",
                error,
                # The traceback only for what is not the store's own failure.
                exc_info=None if isinstance(failure, StoreError) else failure,
                extra={"action": "store_failed"},
            )
        elif error is None and self._failing:
            log.info("store writes work again", extra={"action": "store_recovered"})
        self._failing = error is not None
        self.on_health(error)

    def _signal(self) -> None:
        self._idle.clear()
        if self._wake is not None:
            resolve(self._wake)


def _answer(readers: list[asyncio.Future[None]]) -> None:
    """Let waiting readers go (those that gave up are already done)."""
    for reader in readers:
        resolve(reader)
    readers.clear()


def _refuses_the_records(exc: Exception) -> bool:
    """Whether a failed batch failed for what it holds (a value out of range, a
    constraint), not because the store is unreachable, locked or failing: such
    a batch would fail the same way on every retry."""
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    if any(kind.__name__ in DATA_ERRORS for kind in type(cause).__mro__):
        return True
    # A value the store's code could not convert, before the database saw it.
    return not isinstance(exc, StoreError) and isinstance(
        exc, ValueError | TypeError | ArithmeticError
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _run_record(run: RunItem) -> RunRecord:
    return RunRecord._make(run if isinstance(run, tuple) else run())

"""The one writer task between the deck and its store.

The deck hands records over without waiting; the writer coalesces them (the newest
record of a job or a run wins) and writes them in batches, one transaction each. A
slow or failing store therefore never delays a scheduled start (SPEC §8): the failure
is reported through `on_health` and the batch is retried with a growing pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from jobdeck.clock import Clock, resolve
from jobdeck.errors import StoreError
from jobdeck.store.base import Store
from jobdeck.store.records import AuditEntry, JobRecord, RunRecord

log = logging.getLogger("jobdeck.store")

R = TypeVar("R")
_Builders = dict[str, Callable[[], R]]

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
        batch_window_s: float = 0.1,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_health = on_health
        self.dropped_runs = 0
        self._jobs: dict[str, Callable[[], JobRecord]] = {}
        self._runs: dict[str, Callable[[], RunRecord]] = {}
        self._audit: list[AuditEntry] = []
        self._work = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._retry_pause_s = retry_pause_s
        self._batch_window_s = batch_window_s
        self._hurry: asyncio.Future[None] | None = None
        self._flush_asked = False
        self._failing = False

    def put_job(self, name: str, build: Callable[[], JobRecord]) -> None:
        """Hand over a job's latest state. `build` is called once, at write time,
        so a job that changes many times between two batches is built once."""
        self._jobs[name] = build
        self._signal()

    def put_run(self, run_id: str, build: Callable[[], RunRecord]) -> None:
        """Hand over a run's latest state, built at write time like put_job."""
        self._runs[run_id] = build
        if len(self._runs) > MAX_PENDING_RUNS:
            del self._runs[next(iter(self._runs))]
            self.dropped_runs += 1
        self._signal()

    def put_audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)
        self._signal()

    async def flush(self) -> None:
        """Wait until everything handed over so far is written (or given up)."""
        self._flush_asked = True
        if self._hurry is not None:
            resolve(self._hurry)
        await self._idle.wait()

    async def run(self) -> None:
        """Write batches until cancelled."""
        pause = self._retry_pause_s[0]
        while True:
            await self._work.wait()
            await self._gather_more()
            self._work.clear()
            if await self._write_pending():
                pause = self._retry_pause_s[0]
            else:
                await self._pause(pause)
                pause = min(pause * 2, self._retry_pause_s[1])
                self._work.set()

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
        try:
            await self.store.write_batch(
                [build() for build in jobs.values()],
                [build() for build in runs.values()],
                audit,
            )
        except StoreError as exc:
            self._put_back(jobs, runs, audit)
            self._report(str(exc))
            return False

        self._report(None)
        if not (self._jobs or self._runs or self._audit):
            self._idle.set()
        return True

    def _take(
        self,
    ) -> tuple[_Builders[JobRecord], _Builders[RunRecord], list[AuditEntry]]:
        taken = (self._jobs, self._runs, self._audit)
        self._jobs, self._runs, self._audit = {}, {}, []
        return taken

    def _put_back(
        self,
        jobs: _Builders[JobRecord],
        runs: _Builders[RunRecord],
        audit: list[AuditEntry],
    ) -> None:
        # Records handed over while the batch was out are newer: they win.
        for name, build in jobs.items():
            self._jobs.setdefault(name, build)
        for run_id, run_build in runs.items():
            self._runs.setdefault(run_id, run_build)
        self._audit[:0] = audit

    def _report(self, error: str | None) -> None:
        if error is not None and not self._failing:
            log.error(
                "store write failed, will retry: %s",
                error,
                extra={"action": "store_failed"},
            )
        elif error is None and self._failing:
            log.info("store writes work again", extra={"action": "store_recovered"})
        self._failing = error is not None
        self.on_health(error)

    def _signal(self) -> None:
        self._idle.clear()
        self._work.set()

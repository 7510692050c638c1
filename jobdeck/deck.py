"""The deck: the registry of jobs, the timer loop, and the controls of SPEC §3.2.

The loop is a short coordinator: start what is due (or record why it was skipped),
then sleep until the next due time or until a control changes the plan. Runs are
tasks of their own; their records go to the store through one writer task, so that
nothing on the timing path waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from inspect import CORO_CREATED, getcoroutinestate
from typing import Any, cast

from jobdeck import scheduler
from jobdeck.clock import Clock, SystemClock, WallTimes, as_utc, resolve
from jobdeck.commands import Commands
from jobdeck.errors import InvalidInput, InvalidJob, JobConflict, JobNotFound
from jobdeck.events import SCHEDULER_SUBJECT, EventHub
from jobdeck.intervals import format_interval, parse_interval
from jobdeck.jobs import Job, JobBody, define_job
from jobdeck.metrics import JobMetrics
from jobdeck.runs import (
    FAILED,
    Outcome,
    Run,
    RunContext,
    RunResult,
    Trigger,
    execute,
    loggable,
)
from jobdeck.status import JobState, iso
from jobdeck.store.base import Store
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import AuditEntry, RunRecord
from jobdeck.store.writer import StoreWriter
from jobdeck.threads import DEFAULT_MAX_THREADS, WorkerThreads

log = logging.getLogger("jobdeck.scheduler")

INTERRUPTED_REASON = "interrupted: the process exited during the run"
# A run the deck's stop cut off once its grace was over: the process did not
# crash, and the message must not say it did.
STOPPED_REASON = "interrupted: the server stopped before the run ended"

# The signals that stop a service (systemd's SIGTERM, then SIGKILL; a terminal's
# SIGINT or SIGHUP): a command ended by one while the deck stops was ended by the
# stop. One that crashed meanwhile (SIGSEGV, SIGABRT, ...) failed by itself.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP})

# A thread cannot be stopped, nor an async body that catches its cancellation:
# the body of a run given up may go on, and a second body of the same job must
# not run beside it.
GIVEN_UP_BODY_RUNNING = (
    "the body of a run given up (cancelled or timed out) is still running, in its "
    "thread or past its cancellation, and no new run starts until it returns"
)

if sys.version_info >= (3, 12):

    def _start_task(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        # A run's first step is taken at once, in the task's own context and as
        # the current task, so a body that never waits is never scheduled at
        # all. The application's task factory, if it set one, is not used.
        loop = asyncio.get_running_loop()  # 3.12.1 needs it named for eager_start
        return asyncio.Task(coroutine, loop=loop, eager_start=True)

else:
    _start_task = asyncio.create_task


@dataclass(frozen=True)
class Actor:
    """Who asked for a control: a user or token name, and where from."""

    name: str
    client: str | None = None


SYSTEM = Actor("system")

# At most this many scheduled runs are started before the loop lets others step.
STARTS_PER_STEP = 50

# How long a read of the history waits for the runs and audit entries not written yet.
HISTORY_WAIT_S = 1.0
# How long a stop waits for the runs it has cancelled before it kills what is left
# of their commands: an async body may clean up on its cancellation meanwhile.
CANCELLED_RUNS_WAIT_S = 2.0

# Who resumes a job whose pause had an end: audited as such.
PAUSE_ENDED = Actor("system (the pause ended)")


class Deck:
    def __init__(
        self,
        store: Store | None = None,
        clock: Clock | None = None,
        node: str | None = None,
        max_threads: int = DEFAULT_MAX_THREADS,
        default_timeout_s: float | None = None,
    ) -> None:
        self.store = store or MemoryStore()
        self.clock = clock or SystemClock()
        self._walls = WallTimes(self.clock)
        self.node = node or socket.gethostname()
        self.hub = EventHub(self._render)
        self._jobs: dict[str, JobState] = {}
        self._timer = scheduler.Timer()
        self._pause_ends = scheduler.Timer()
        # Runs in progress are looked at for overruns when the earliest of them
        # is due to be flagged: one time to keep, rather than a timer per run.
        self._overrun_check_at: float | None = None
        # The loop sleeps on `_woken` until `_sleeping_until`; only a due time
        # earlier than that needs to wake it.
        self._woken: asyncio.Future[None] | None = None
        self._sleeping_until: float | None = None
        self._hurry = asyncio.Event()
        self.default_timeout_s = default_timeout_s
        self._threads = WorkerThreads(max_threads, self._on_given_up_end)
        self._commands = Commands()
        self._random = random.Random()  # for jitter
        self._writer = StoreWriter(self.store, self._on_store_health, self.clock)
        self._tasks: list[asyncio.Task[None]] = []
        # Resolved when the latest start has ended, however it ended.
        self._start_done: asyncio.Future[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        # The task of every run in progress, and its job.
        self._runs: dict[asyncio.Task[None], JobState] = {}
        self.running = False
        self.stopped_reason: str | None = "not started"
        self.store_error: str | None = None
        self.started_at: datetime | None = None
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self._id_prefix = uuid.uuid4().hex[:20]
        self._id_counter = 0

    # Registering jobs --------------------------------------------------------------

    def add(self, job: Job) -> Job:
        if job.name in self._jobs:
            raise InvalidJob(f"a job named {job.name!r} is already registered")
        state = JobState(job)
        self._jobs[job.name] = state
        if self.running:
            self._schedule_first(state, None)
            self._publish(state)
        return job

    def job(
        self,
        interval: str,
        *,
        name: str | None = None,
        category: str = "general",
        description: str | None = None,
        timeout: str | None = None,
        first_delay_s: float = 5.0,
        jitter_s: float = 0.0,
    ) -> Callable[[JobBody], JobBody]:
        """Register the decorated function as a job; it stays callable as it was."""

        def register(body: JobBody) -> JobBody:
            self.add(
                define_job(
                    name or body.__name__,
                    interval,
                    body,
                    category=category,
                    description=description or _first_line(body.__doc__),
                    timeout=timeout,
                    first_delay_s=first_delay_s,
                    jitter_s=jitter_s,
                )
            )
            return body

        return register

    # Reading -----------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._jobs)

    def state(self, name: str) -> JobState:
        try:
            return self._jobs[name]
        except KeyError:
            raise JobNotFound(f"no job named {name!r:.80}") from None

    def controlled_state(self, name: str) -> JobState:
        """The job's state, if this process may steer it."""
        state = self.state(name)
        if not self.running:
            raise JobConflict(f"this process does not run jobs: {self.stopped_reason}")
        return state

    def job_object(self, name: str) -> dict[str, Any]:
        return self._object(self.state(name))

    def job_objects(self) -> list[dict[str, Any]]:
        return [self._object(state) for state in self._jobs.values()]

    def _object(self, state: JobState) -> dict[str, Any]:
        job = state.job_object(self._walls.of, self.node)
        job["why_not_running"] = self._why_not_running(state, job)
        return job

    def _why_not_running(
        self, state: JobState, job: dict[str, Any]
    ) -> dict[str, str] | None:
        """A plain-words answer for a job that is not running (SPEC §4)."""
        if state.running is not None:
            return None
        reason, text = self._why_waiting(state, job)
        if self.store_error is not None:
            text += (
                f"; the database is failing ({self.store_error}), so its history "
                "is held in memory until it answers"
            )
        return {"reason": reason, "text": text}

    def _why_waiting(self, state: JobState, job: dict[str, Any]) -> tuple[str, str]:
        next_run = job["next_run_at"]
        if not self.running:
            return (
                "scheduler_stopped",
                f"the scheduler is stopped: {self.stopped_reason}",
            )
        if state.paused:
            until = job["paused_until"] or "someone resumes it"
            by = f"paused by {state.paused_by} since {job['paused_at']}"
            return "paused", f"{by}, until {until}"
        if self._threads.bodies.running(state.name):
            return "given_up_body_running", (
                f"{GIVEN_UP_BODY_RUNNING}; its next tick is due at {next_run}"
            )
        if state.last_skip_reason is not None:
            skipped = f"its last tick was skipped ({state.last_skip_reason})"
            return "skipped", f"{skipped}; the next is due at {next_run}"
        return "waiting", f"waiting for its next tick, due at {next_run}"

    def scheduler_object(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "reason": self.stopped_reason,
            "node": self.node,
            "started_at": iso(self.started_at),
            "store_ok": self.store_error is None,
            "store_error": self.store_error,
            "job_count": len(self._jobs),
            "streams": self.hub.subscriber_count,
        }

    def dropped_records(self) -> dict[str, int]:
        """Records the store never got, by why: refused for their values, or
        beyond the backlog held while it was down (docs/behaviour.md)."""
        writer = self._writer
        return {"refused": writer.dropped_records, "backlog": writer.dropped_runs}

    def snapshot(self) -> dict[str, Any]:
        """The body of GET /api/jobs."""
        return {"scheduler": self.scheduler_object(), "jobs": self.job_objects()}

    # Life cycle --------------------------------------------------------------------

    async def start(self, schedule: bool = True, refusal: str | None = None) -> None:
        """Load persisted state and, unless told not to, start scheduling."""
        starting = self._start_done is not None and not self._start_done.done()
        if self._tasks or starting:
            # A second loop and writer would start every run twice.
            raise RuntimeError("the deck is already started: stop() it first")
        self._start_done = asyncio.get_running_loop().create_future()
        try:
            await self._start(schedule, refusal)
        finally:
            self._start_done.set_result(None)

    async def _start(self, schedule: bool, refusal: str | None) -> None:
        self._stopping = None
        self._hurry.clear()
        self.started_at = self.clock.now()
        self._loop_ref = asyncio.get_running_loop()
        self.hub.reopen()
        await self._restore(take_over=schedule)
        self._tasks.append(self._writer.start())
        if not schedule:
            self.stopped_reason = refusal or "scheduling is off"
            log.warning(
                "not scheduling: %s", self.stopped_reason, extra={"action": "refuse"}
            )
            self._publish_scheduler()
            return

        for state in self._jobs.values():
            self._schedule_first(state, state.last_scheduled_at)
        self.running = True
        self.stopped_reason = None
        self._tasks.append(asyncio.create_task(self._loop(), name="scheduler"))
        log.info(
            "scheduler started with %d jobs on %s",
            len(self._jobs),
            self.node,
            extra={"action": "start"},
        )
        self._publish_scheduler()

    def stop_scheduling(self, reason: str = "shutting down") -> None:
        """Start no new run from now on; safe to call from a signal's callback."""
        if self.running:
            log.info("scheduler stopping: %s", reason, extra={"action": "stopping"})
        self.running = False
        self.stopped_reason = reason
        if self._woken is not None:
            resolve(self._woken)
        self._publish_scheduler()

    def hurry_stop(self) -> None:
        """Cut the grace short: a second signal asks to exit at once."""
        self._hurry.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop starting runs, give running ones `grace_s`, cancel the rest, flush.
        A stop already under way (ConsoleServer starts one at a signal) is waited
        for, with the grace it was given; one cancelled caller does not end it."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(grace_s))
        await asyncio.shield(self._stopping)

    async def _stop(self, grace_s: float) -> None:
        if self._start_done is not None:
            # Asked for while the deck starts (a signal in a server's start-up):
            # what the start begins is stopped once it has begun it.
            await self._start_done
        was_running = self.running or self.stopped_reason == "shutting down"
        self.stop_scheduling("stopped")
        await self._finish_runs(grace_s)
        # Commands that ignore SIGTERM: their runs wait for their groups, which
        # get SIGKILL only after KILL_AFTER_S; a stop may not wait that out.
        await self._commands.kill_all()
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=1)
        for state in list(self._runs.values()):
            if state.running is not None:  # its body caught the cancellation
                self._give_up(state, state.running, _cancelled_result(state.running))
        flush_s = 0.5 if self._hurry.is_set() else 5.0
        try:
            await asyncio.wait_for(self._writer.flush(), timeout=flush_s)
        except TimeoutError:
            runs, jobs, audit = self._writer.unwritten()
            log.error(
                "the store did not take the last records within %g s: %d runs, "
                "%d job rows and %d audit entries are lost",
                flush_s,
                runs,
                jobs,
                audit,
                extra={"action": "flush_failed"},
            )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._threads.shutdown()
        # A deck may be started again: its thread bodies then need threads.
        old = self._threads
        self._threads = WorkerThreads(
            old.max_threads, self._on_given_up_end, old.bodies
        )
        self._publish_scheduler()
        self.hub.close_all()
        if was_running:
            log.info("scheduler stopped", extra={"action": "stop"})

    async def prune_history(self, older_than: datetime) -> int:
        """Delete finished runs that started before `older_than`; return how many."""
        return await self.store.prune_runs(older_than)

    async def flush(self) -> None:
        """Wait until every record handed to the store so far is written."""
        await self._writer.flush()

    async def list_runs(
        self, name: str, limit: int, offset: int = 0
    ) -> list[RunRecord]:
        """A job's history, newest first, with every run that ended before the call
        (runs wait up to the writer's batch window otherwise)."""
        await self._history_written()
        return await self.store.list_runs(name, limit, offset)

    async def list_audit(
        self, limit: int, offset: int = 0, job: str | None = None
    ) -> list[AuditEntry]:
        """The audit log, newest first, with every entry made before the call."""
        await self._history_written()
        return await self.store.list_audit(limit, offset, job)

    async def _history_written(self) -> None:
        # Bounded: a slow or failing store is read for what it holds.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._writer.write_soon(), HISTORY_WAIT_S)

    # Controls ----------------------------------------------------------------------

    async def run_now(self, name: str, actor: Actor = SYSTEM) -> dict[str, Any]:
        state = self.controlled_state(name)
        if state.running is not None:
            raise JobConflict(f"job {name!r} is already running")
        if self._threads.bodies.running(name):
            raise JobConflict(f"job {name!r} cannot run: {GIVEN_UP_BODY_RUNNING}")
        self._start_run(state, Trigger.MANUAL, actor.name)
        self._audit(actor, "run", state, None, {"trigger": "manual"})
        return self._object(state)

    async def cancel(self, name: str, actor: Actor = SYSTEM) -> dict[str, Any]:
        """Stop the running run: an async body is cancelled, a thread body is told
        through its context and its thread given up, a command is terminated."""
        state = self.controlled_state(name)
        run = state.running
        if run is None:
            raise JobConflict(f"job {name!r} is not running")
        if run.cancelled_by is None:
            run.cancelled_by = actor.name
            self._cancel_run(state, run)
        elif run.task is not None:
            # Asked again, and the run's task still goes on: its body caught the
            # first cancellation. The run ends now; its body is left to itself.
            self._give_up(state, run, _cancelled_result(run))
        self._audit(
            actor, "cancel", state, {"running_since": iso(run.started_at)}, None
        )
        return self._object(state)

    async def pause(
        self,
        name: str,
        actor: Actor = SYSTEM,
        until: datetime | None = None,
        *,
        until_resumed: bool = False,
    ) -> dict[str, Any]:
        """Pause scheduled runs; with `until`, the job resumes by itself then.
        Pausing a paused job changes nothing (SPEC §3.2) unless it is given an
        end, `until` or explicitly none (`until_resumed`): that is how a pause
        is made longer, shorter, or endless."""
        state = self.controlled_state(name)
        if until is not None:
            until = as_utc(until, "the end of a pause")
            if until <= self.clock.now():
                raise InvalidInput("the end of a pause must lie in the future")
        before = _controls(state)
        new_end = until is not None or until_resumed
        if not state.paused or (new_end and until != state.paused_until):
            if not state.paused:
                state.paused = True
                state.paused_by, state.paused_at = actor.name, self.clock.now()
                self._set_due(state, None)
            state.paused_until = until
            self._set_pause_end(state)
            self._changed(state, persist=True)
        self._audit(actor, "pause", state, before, _controls(state))
        return self._object(state)

    async def resume(self, name: str, actor: Actor = SYSTEM) -> dict[str, Any]:
        return self._resume(self.controlled_state(name), actor)

    def _resume(self, state: JobState, actor: Actor) -> dict[str, Any]:
        before = _controls(state)
        if state.paused:
            state.paused = False
            state.paused_by = state.paused_at = state.paused_until = None
            self._pause_ends.set(state.name, None)
            now = self.clock.monotonic()
            due = scheduler.due_on_resume(
                state.last_scheduled_due, state.interval_seconds, now
            )
            self._set_due(state, due)
            self._changed(state, persist=True)
        self._audit(actor, "resume", state, before, _controls(state))
        return self._object(state)

    def _set_pause_end(self, state: JobState) -> None:
        """Arm (or disarm) the automatic resume at the pause's end."""
        if state.paused_until is None:
            self._pause_ends.set(state.name, None)
            return
        left = (state.paused_until - self.clock.now()).total_seconds()
        ends = self.clock.monotonic() + max(0.0, left)
        self._pause_ends.set(state.name, ends)
        self._wake_if_sooner(ends)

    async def set_interval(
        self, name: str, interval: object, actor: Actor = SYSTEM
    ) -> dict[str, Any]:
        state = self.controlled_state(name)
        seconds = parse_interval(interval)
        override = None if seconds == state.job.interval_seconds else seconds
        return self._apply_interval(state, override, actor, "interval")

    def preview_interval(
        self, name: str, interval: object, count: int = 3
    ) -> dict[str, Any]:
        """The canonical form of `interval` and the next runs it would give,
        by the same rule as set_interval, changing nothing."""
        state = self.state(name)
        seconds = parse_interval(interval)
        now = self.clock.monotonic()
        first = scheduler.due_on_interval_change(state.last_scheduled_due, seconds, now)
        runs = [self._walls.of(first + k * seconds) for k in range(count)]
        return {
            "interval": format_interval(seconds),
            "interval_seconds": seconds,
            "paused": state.paused,
            "next_runs": [] if state.paused else [iso(at) for at in runs],
        }

    async def reset_interval(self, name: str, actor: Actor = SYSTEM) -> dict[str, Any]:
        state = self.controlled_state(name)
        return self._apply_interval(state, None, actor, "interval_reset")

    # The timer loop ----------------------------------------------------------------

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            now = self.clock.monotonic()
            self._walls.follow()
            fired = self._timer.pop_due(now, STARTS_PER_STEP)
            for name, due in fired:
                self._on_tick(self._jobs[name], due, now)
            if self._overrun_check_at is not None and self._overrun_check_at <= now:
                self._check_overruns(now)
            for name, _ in self._pause_ends.pop_due(now):
                self._resume(self._jobs[name], PAUSE_ENDED)
            if len(fired) == STARTS_PER_STEP:
                # More are due: let the runs just started take their first step
                # before starting others, so that a burst of due ticks never has
                # thousands of runs' objects alive at once (the garbage collector
                # would keep them for its slow full passes).
                await asyncio.sleep(0)
                continue
            self._woken = loop.create_future()
            self._sleeping_until = self._next_wake_up()
            await self.clock.sleep_until(self._sleeping_until, self._woken)
            self._woken = None

    def _wake_if_sooner(self, moment: float | None) -> None:
        """Wake the loop if `moment` comes before the time it sleeps until."""
        if self._woken is None:
            return  # not asleep: it looks at the timers before it sleeps again
        if (
            moment is None
            or self._sleeping_until is None
            or moment < self._sleeping_until
        ):
            resolve(self._woken)

    def _next_wake_up(self) -> float | None:
        times = (
            self._timer.next_due(),
            self._pause_ends.next_due(),
            self._overrun_check_at,
        )
        return min((t for t in times if t is not None), default=None)

    def _check_overruns(self, now: float) -> None:
        """Flag the runs that have lasted far longer than usual, and note when
        the next one would be due."""
        next_check = None
        for state in self._runs.values():
            run = state.running
            if run is None or run.overrun_at is None or run.overrunning:
                continue
            if run.overrun_at <= now:
                self._flag_overrun(state, run)
            elif next_check is None or run.overrun_at < next_check:
                next_check = run.overrun_at
        self._overrun_check_at = next_check

    def _flag_overrun(self, state: JobState, run: Run) -> None:
        run.overrunning = True
        log.warning(
            "run of %s has lasted far longer than usual (%d ms)",
            state.name,
            state.usual_ms,
            extra={"action": "overrun", "job": state.name},
        )
        self._changed(state, persist=False)

    def _on_tick(self, state: JobState, due: float, now: float) -> None:
        # From Python 3.12 a body's first step runs inside _start_run, so a run
        # started earlier in this step may have paused this job; and the next
        # tick is planned before this one's run starts, so that a control the
        # body applies to its own job (a pause, a new interval) is the last word.
        if state.paused:
            return
        anchor = due - state.next_jitter
        self._set_due(state, scheduler.next_after(anchor, state.interval_seconds, now))
        if state.running is not None:
            self._skip(
                state, due, f"still running since {iso(state.running.started_at)}"
            )
            return
        if self._threads.bodies.running(state.name):
            self._skip(state, due, GIVEN_UP_BODY_RUNNING)
            return

        state.last_scheduled_due = anchor
        state.last_scheduled_unix = self._walls.unix(anchor)
        if state.metrics is None:
            state.metrics = JobMetrics()  # made at the first run, as note_run would
        state.metrics.last_lateness_s = now - due
        self._start_run(state, Trigger.SCHEDULE, None)

    def _skip(self, state: JobState, due: float, reason: str) -> None:
        state.skipped_count += 1
        state.last_skip_reason = reason
        log.warning(
            "skipped a tick of %s: %s",
            state.name,
            reason,
            extra={"action": "skip", "job": state.name},
        )
        at = self._walls.at(due)
        skip_id = self._new_id()
        skipped = RunRecord(
            id=skip_id,
            job_name=state.name,
            trigger=Trigger.SCHEDULE.value,
            started_at=at,
            finished_at=at,
            duration_ms=0,
            node=self.node,
            outcome=Outcome.SKIPPED.value,
            reason=reason,
        )
        self._writer.put_run(skip_id, tuple(skipped))
        self._changed(state, persist=False)

    def _set_due(self, state: JobState, due: float | None) -> None:
        """Plan the next tick at `due`, its cadence's time, plus a random delay of
        up to the job's jitter (at most half its interval, so that ticks keep
        their order)."""
        if due is not None and state.job.jitter_s:
            most = min(state.job.jitter_s, state.interval_seconds / 2)
            state.next_jitter = self._random.uniform(0, most)
            due += state.next_jitter
        state.next_due = due
        self._timer.set(state.name, due)
        if due is not None:
            self._wake_if_sooner(due)

    def _schedule_first(self, state: JobState, last_at: datetime | None) -> None:
        """First due time in this process: the cadence carried over from the last
        scheduled start, once at most for ticks missed while the process was down."""
        now = self.clock.monotonic()
        anchor = None
        if last_at is not None:
            # The cadence's anchor on this process's clock; a paused job keeps it
            # for its resume (SPEC §3.2).
            anchor = now - (self.clock.now() - last_at).total_seconds()
            state.last_scheduled_due = anchor
        if state.paused:
            self._set_pause_end(state)
            return
        if anchor is None:
            self._set_due(state, now + state.job.start_delay_s())
            return

        due = anchor + state.interval_seconds
        if due <= now:
            due = now + state.job.start_delay_s()
        self._set_due(state, due)

    # Runs --------------------------------------------------------------------------

    def _start_run(
        self,
        state: JobState,
        trigger: Trigger,
        user: str | None,
    ) -> None:
        # The hot path of the deck: at 10,000 runs a second every object made
        # here costs, so a body that takes no run context gets none.
        started = self.clock.monotonic()
        run = Run(
            state.name,
            trigger,
            # The wall clock itself, not the deck's steady offset: a run's start
            # is a fact to record as it was (the ledger of BC-29 compares it).
            self.clock.now(),
            started,
            self._new_id(),
            user,
            node=self.node,
        )
        if state.job.wants_context:
            scheduled = trigger is Trigger.SCHEDULE
            run.context = RunContext(
                state.name,
                run.id,
                trigger,
                state.last_scheduled_at if scheduled else None,
                on_progress=functools.partial(self._on_progress, state, run),
            )
        state.running = run
        state.last_skip_reason = None
        overrun_after = state.overrun_after_s()
        if overrun_after is not None:
            self._watch_overrun(run, started + overrun_after)
        self._writer.put_run(run.id, run.values)
        self._changed(state, persist=False)
        task = _start_task(self._drive(state, run))
        # Started eagerly (Python 3.12+), a body that never waits has already
        # run to its end, finished by _drive: nothing is left to track. One
        # cancelled during its first step is cancelled now that it has a task.
        if not task.done():
            run.task = task
            self._runs[task] = state
            if run.cancelled_by is not None:
                task.cancel()

    def _watch_overrun(self, run: Run, flag_at: float) -> None:
        run.overrun_at = flag_at
        if self._overrun_check_at is None or flag_at < self._overrun_check_at:
            self._overrun_check_at = flag_at
            self._wake_if_sooner(flag_at)

    async def _drive(self, state: JobState, run: Run) -> None:
        try:
            timeout_s = state.job.timeout_s or self.default_timeout_s
            result = await execute(
                state.job, run.context, self._threads, self._commands, timeout_s
            )
        except asyncio.CancelledError:
            result = _cancelled_result(run)
        if result.signal_number in STOP_SIGNALS and self._stopping is not None:
            result = _ended_by_the_stop(result)
        self._finish_run(state, run, result)

    def _cancel_run(self, state: JobState, run: Run) -> None:
        """Cancel a run's task. A task cancelled before its first step never enters
        _drive, so the run would stay `running` for ever: it is finished here.
        A run still in its eager first step has no task yet: _start_run cancels
        it once it has one."""
        task = run.task
        if task is None:
            return
        coroutine = cast(Coroutine[Any, Any, None], task.get_coro())
        not_started = getcoroutinestate(coroutine) == CORO_CREATED
        task.cancel()
        if not_started:
            self._finish_run(state, run, _cancelled_result(run))

    def _give_up(self, state: JobState, run: Run, result: RunResult) -> None:
        """End a run whose task goes on after its cancellation (its body caught
        CancelledError). As for a thread body given up, the job starts no other
        run until that task has ended: two bodies of a job never run at once."""
        task = run.task
        assert task is not None
        bodies = self._threads.bodies
        bodies.enter(state.name)

        def ended(_: object) -> None:
            bodies.leave(state.name)
            self._on_given_up_end(state.name)

        task.add_done_callback(ended)
        log.warning(
            "gave up a run of %s whose body did not stop when cancelled",
            state.name,
            extra={"action": "run_given_up", "job": state.name},
        )
        self._finish_run(state, run, result)

    def _finish_run(self, state: JobState, run: Run, result: RunResult) -> None:
        if run.result is not None:
            return  # given up earlier: its task has ended at last
        duration_ms = int((self.clock.monotonic() - run.started_monotonic) * 1000)
        outcome = result.outcome
        failed = outcome in FAILED
        if run.task is not None:
            del self._runs[run.task]
            run.task = None
        if outcome is Outcome.SUCCESS:
            state.note_success(duration_ms)
        state.running = None
        state.run_count += 1
        state.total_runs += 1
        state.last_run_at = run.started_at
        state.last_duration_ms = duration_ms
        state.last_outcome = outcome
        state.last_error = result.error if failed else None
        state.last_summary = result.summary
        run.result, run.duration_ms = result, duration_ms
        ended_at = run.started_at.timestamp() + duration_ms / 1000
        state.note_run(duration_ms, outcome, failed, ended_at)
        if run.context is not None:
            # Break the run → context → callback → run cycle, so that the run is
            # freed by reference counting, not left for the garbage collector.
            run.context._on_progress = None
        self._writer.put_run(run.id, run.values())
        # The run is written at once; the job's row, which sums up its runs, within
        # seconds (docs/behaviour.md, "Restarts and crashes").
        self._changed(state, persist=True, soon=False)
        if failed:
            self._log_failure(state, result)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug(
                "job %s: %s",
                state.name,
                outcome,
                extra={"action": "run_" + outcome, "job": state.name},
            )

    def _on_given_up_end(self, name: str) -> None:
        """A body given up earlier has returned: its job may run again."""
        state = self._jobs.get(name)
        if state is not None:
            log.info(
                "the body of a given-up run of %s has returned",
                name,
                extra={"action": "given_up_body_ended", "job": name},
            )
            self._changed(state, persist=False)

    def _on_progress(
        self, state: JobState, run: Run, fraction: float | None, message: str | None
    ) -> None:
        # Thread bodies report from their own thread; state is touched on the loop.
        def apply() -> None:
            if state.running is run:
                run.progress, run.progress_message = fraction, message
                self._changed(state, persist=False)

        assert self._loop_ref is not None
        self._loop_ref.call_soon_threadsafe(apply)

    async def _finish_runs(self, grace_s: float) -> None:
        """Wait up to `grace_s` (or until hurried) for runs; cancel what is left,
        which ends those runs as interrupted."""
        await self._wait_for_runs(grace_s)
        for state in list(self._runs.values()):
            if state.running is not None:
                state.running.interrupted = True
                self._cancel_run(state, state.running)
        await self._wait_for_runs(CANCELLED_RUNS_WAIT_S)

    async def _wait_for_runs(self, timeout_s: float) -> None:
        """Until every run has ended, `timeout_s` has passed, or a second signal
        asks to exit at once."""
        if not self._runs or self._hurry.is_set():
            return
        runs_done = asyncio.ensure_future(asyncio.wait(set(self._runs)))
        hurried = asyncio.ensure_future(self._hurry.wait())
        await asyncio.wait(
            {runs_done, hurried}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        runs_done.cancel()
        hurried.cancel()

    # Bookkeeping -------------------------------------------------------------------

    def _apply_interval(
        self, state: JobState, override: int | None, actor: Actor, action: str
    ) -> dict[str, Any]:
        before = _controls(state)
        state.interval_override = override
        state.interval_set_by = actor.name if override is not None else None
        state.interval_set_at = self.clock.now() if override is not None else None
        if not state.paused:
            due = scheduler.due_on_interval_change(
                state.last_scheduled_due,
                state.interval_seconds,
                self.clock.monotonic(),
            )
            self._set_due(state, due)
        self._changed(state, persist=True)
        self._audit(actor, action, state, before, _controls(state))
        return self._object(state)

    async def _restore(self, take_over: bool) -> None:
        """Load the jobs' rows; if this process is to schedule, also settle what
        the previous one left: runs its rows did not count yet, runs it left
        open. A process that does not schedule only reads: the runs left open may
        be the scheduling process's own, running now."""
        records = await self.store.load_jobs()
        for name, record in records.items():
            if name in self._jobs:
                self._jobs[name].restore(record)
        if not take_over:
            return

        # A row for every job from the start, so that the runs a crash keeps from
        # a job's first row are counted at the next start (see _catch_up).
        for name, state in self._jobs.items():
            if name not in records:
                self._writer.put_job(state)
        # Before closing open runs: those are counted by _mark_interrupted.
        self._catch_up(await self.store.runs_after_job_rows())
        closed = await self.store.interrupt_unfinished_runs(
            self.clock.now(), INTERRUPTED_REASON
        )
        for run in closed:
            log.warning(
                "run of %s was interrupted by the previous process's exit",
                run.job_name,
                extra={"action": "interrupted", "job": run.job_name},
            )
            self._mark_interrupted(run)

    def _catch_up(self, runs: list[RunRecord]) -> None:
        """Count the runs a job's row had not caught up with when the previous
        process ended without a clean stop (rows wait up to LATER_S), and take
        the newest one's outcome."""
        newest: dict[str, RunRecord] = {}
        for run in runs:
            state = self._jobs.get(run.job_name)
            if state is None or run.outcome is None:
                continue
            state.total_runs += 1
            known = newest.get(run.job_name)
            if known is None or (run.started_at, run.id) > (known.started_at, known.id):
                newest[run.job_name] = run
        for name, run in newest.items():
            state = self._jobs[name]
            self._take_as_last(state, run, Outcome(run.outcome or Outcome.INTERRUPTED))
            state.last_summary = run.summary
        if newest:
            log.info(
                "counted %d runs of %d jobs that their rows did not hold yet "
                "(the previous process did not stop cleanly)",
                len(runs),
                len(newest),
                extra={"action": "catch_up"},
            )

    def _mark_interrupted(self, run: RunRecord) -> None:
        state = self._jobs.get(run.job_name)
        if state is None or (
            state.last_run_at is not None and state.last_run_at > run.started_at
        ):
            return
        state.total_runs += 1
        self._take_as_last(state, run, Outcome.INTERRUPTED)

    def _take_as_last(self, state: JobState, run: RunRecord, outcome: Outcome) -> None:
        """A stored run becomes the job's latest, and the job's row is rewritten."""
        state.last_run_at = run.started_at
        state.last_duration_ms = run.duration_ms
        state.last_outcome = outcome
        state.last_error = run.error if outcome in FAILED else None
        self._writer.put_job(state)

    def _changed(self, state: JobState, persist: bool, soon: bool = True) -> None:
        state.version += 1
        if persist:
            self._writer.put_job(state, soon=soon)
        self._publish(state)

    def _publish(self, state: JobState) -> None:
        self.hub.changed(state.name)

    def _publish_scheduler(self) -> None:
        self.hub.changed(SCHEDULER_SUBJECT)

    def _new_id(self) -> str:
        """Run ids: a random prefix per process and a counter, unique without
        asking the operating system for randomness on every run."""
        self._id_counter += 1
        return f"{self._id_prefix}{self._id_counter:012x}"

    def _render(self, subject: str) -> tuple[str, dict[str, Any]]:
        if subject == SCHEDULER_SUBJECT:
            return "scheduler", self.scheduler_object()
        return "job", self.job_object(subject)

    def _on_store_health(self, error: str | None) -> None:
        if error != self.store_error:
            self.store_error = error
            self._publish_scheduler()

    def _audit(
        self,
        actor: Actor,
        action: str,
        state: JobState,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        log.info(
            "%s %s by %s",
            action,
            state.name,
            actor.name,
            extra={"action": action, "job": state.name, "actor": actor.name},
        )
        self._writer.put_audit(
            AuditEntry(
                at=self.clock.now(),
                actor=actor.name,
                action=action,
                job_name=state.name,
                before=before,
                after=after,
                client=actor.client,
            )
        )

    def _log_failure(self, state: JobState, result: RunResult) -> None:
        log.error(
            "job %s failed (%s): %s%s",
            state.name,
            result.outcome,
            loggable(result.error or ""),
            "\n" + loggable(result.traceback, keep_newlines=True)
            if result.traceback
            else "",
            extra={"action": "run_" + result.outcome, "job": state.name},
        )


def _cancelled_result(run: Run) -> RunResult:
    if run.cancelled_by is not None:
        return RunResult(Outcome.CANCELLED, summary=f"cancelled by {run.cancelled_by}")
    if run.interrupted:
        return RunResult(Outcome.INTERRUPTED, error=STOPPED_REASON)
    # Neither a user nor the deck's stop: the body, or code it called, cancelled
    # the run's own task.
    return RunResult(
        Outcome.ERROR,
        error="CancelledError: the run's task was cancelled, not by jobdeck "
        "(by the body itself, or by code it called)",
    )


def _ended_by_the_stop(result: RunResult) -> RunResult:
    """A command ended by a signal while the deck stops: the signal that stops
    the server reached it too (systemd sends it to every process of a unit),
    so the stop ended the run, not a fault of the command's own."""
    return RunResult(
        Outcome.INTERRUPTED,
        error=f"interrupted: the server was stopping ({result.error})",
    )


def _controls(state: JobState) -> dict[str, Any]:
    return {
        "paused": state.paused,
        "paused_until": iso(state.paused_until),
        "interval": state.interval_seconds,
        "interval_overridden": state.interval_override is not None,
    }


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""

"""A job's live state and the status shown for it (SPEC §3.1).

JobState is the deck's mutable view of one job. `job_object()` turns it into the job
object of SPEC §5, the one shape the API, the event stream and the CLI all show.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from jobdeck.clock import from_unix
from jobdeck.intervals import format_interval
from jobdeck.jobs import Job
from jobdeck.metrics import JobMetrics
from jobdeck.runs import Outcome, Run
from jobdeck.store.records import JobRecord

# The fields of JobState that a JobRecord keeps across restarts, under one name.
PERSISTED = JobRecord._fields[1:]
_persisted_values = operator.attrgetter(*PERSISTED)


RECENT_RUNS = 9
SPARKLINE_RUNS = 20
OVERRUN_FACTOR = 5
OVERRUN_FLOOR_S = 10.0


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ERROR = "error"
    IDLE = "idle"


@dataclass(slots=True)
class JobState:
    job: Job
    paused: bool = False
    paused_by: str | None = None
    paused_at: datetime | None = None
    paused_until: datetime | None = None
    interval_override: int | None = None
    interval_set_by: str | None = None
    interval_set_at: datetime | None = None
    run_count: int = 0
    total_runs: int = 0
    skipped_count: int = 0
    last_run_at: datetime | None = None
    last_duration_ms: int | None = None
    last_outcome: Outcome | None = None
    last_error: str | None = None
    last_summary: str | None = None
    # Monotonic times: when the next scheduled run is due, and when the latest
    # scheduled run was due (the anchor of the job's cadence).
    next_due: float | None = None
    # The random delay (the job's jitter) in next_due: its cadence goes on from
    # next_due without it, so that jitter never adds up into drift.
    next_jitter: float = 0.0
    last_scheduled_due: float | None = None
    # The wall time of the latest scheduled start, as a Unix time: made into a
    # datetime only when asked for (last_scheduled_at), not at every run.
    last_scheduled_unix: float | None = None
    running: Run | None = None
    last_skip_reason: str | None = None
    # Durations of the latest successful runs, to tell when a run lasts far longer
    # than usual, and the latest runs' durations and outcomes. Flat tuples of plain
    # values, remade at each run: the garbage collector stops tracking them at its
    # first look. Lists, or a tuple of (duration, outcome) pairs, can outlive that
    # look, and at ten thousand jobs they age into its oldest generation and bring
    # a full pass (60–90 ms) round.
    recent_ms: tuple[int, ...] = ()
    recent_durations: tuple[int, ...] = ()
    recent_outcomes: tuple[str, ...] = ()
    # Counts for /metrics, made at the first run.
    metrics: JobMetrics | None = None
    # Their median, once there are a few: a run's usual duration.
    usual_ms: int | None = None
    version: int = 0

    def note_run(
        self, duration_ms: int, outcome: Outcome, failed: bool, ended_at: float
    ) -> None:
        """Keep the latest runs' durations and outcomes, for the sparkline and the
        metrics; `ended_at` is a Unix time."""
        if self.metrics is None:
            self.metrics = JobMetrics()
        text = outcome.value  # a plain str: see Run.values
        self.metrics.observe_run(text, failed, duration_ms / 1000, ended_at)
        kept = 1 - SPARKLINE_RUNS
        self.recent_durations = (*self.recent_durations[kept:], duration_ms)
        self.recent_outcomes = (*self.recent_outcomes[kept:], text)

    def note_success(self, duration_ms: int) -> None:
        self.recent_ms = (*self.recent_ms[1 - RECENT_RUNS :], duration_ms)
        if len(self.recent_ms) >= 3:
            ordered = sorted(self.recent_ms)
            self.usual_ms = ordered[len(ordered) // 2]

    def overrun_after_s(self) -> float | None:
        """How long a run may last before it is flagged as far longer than usual."""
        usual = self.usual_ms
        if usual is None:
            return None
        return max(OVERRUN_FACTOR * usual / 1000, OVERRUN_FLOOR_S)

    @property
    def last_scheduled_at(self) -> datetime | None:
        unix = self.last_scheduled_unix
        return None if unix is None else from_unix(unix)

    @last_scheduled_at.setter
    def last_scheduled_at(self, moment: datetime | None) -> None:
        self.last_scheduled_unix = None if moment is None else moment.timestamp()

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def interval_seconds(self) -> int:
        if self.interval_override is not None:
            return self.interval_override
        return self.job.interval_seconds

    @property
    def status(self) -> Status:
        if self.running is not None:
            return Status.RUNNING
        if self.paused:
            return Status.PAUSED
        if self.last_outcome is not None and self.last_outcome.failed:
            return Status.ERROR
        return Status.IDLE

    def restore(self, record: JobRecord) -> None:
        """Take back what a previous process persisted."""
        for name in PERSISTED:
            setattr(self, name, getattr(record, name))
        if record.last_outcome is not None:
            self.last_outcome = Outcome(record.last_outcome)

    def record(self) -> JobRecord:
        """What must survive a restart."""
        # last_outcome goes as the Outcome itself, which is its own str value.
        return JobRecord(self.job.name, *_persisted_values(self))

    def job_object(
        self, wall: Callable[[float], datetime], node: str | None = None
    ) -> dict[str, Any]:
        """The job object of SPEC §5."""
        job = self.job
        running = self.running
        next_run = None
        if self.next_due is not None and not self.paused:
            next_run = wall(self.next_due)
        return {
            "name": job.name,
            "category": job.category,
            "description": job.description,
            "status": self.status.value,
            "interval": format_interval(self.interval_seconds),
            "interval_seconds": self.interval_seconds,
            "default_interval": format_interval(job.interval_seconds),
            "interval_overridden": self.interval_override is not None,
            "interval_set_by": self.interval_set_by,
            "paused": self.paused,
            "paused_by": self.paused_by,
            "paused_at": iso(self.paused_at),
            "paused_until": iso(self.paused_until),
            "run_count": self.run_count,
            "total_runs": self.total_runs,
            "skipped_count": self.skipped_count,
            "last_run_at": iso(self.last_run_at),
            "last_duration_ms": self.last_duration_ms,
            "last_outcome": self.last_outcome.value if self.last_outcome else None,
            "last_error": self.last_error,
            "last_summary": self.last_summary,
            "next_run_at": iso(next_run),
            "running_since": iso(running.started_at) if running else None,
            "running_trigger": running.trigger.value if running else None,
            "progress": running.progress if running else None,
            "progress_message": running.progress_message if running else None,
            "overrunning": running.overrunning if running else False,
            "usual_duration_ms": self.usual_ms,
            "recent_runs": [
                {"duration_ms": ms, "outcome": outcome}
                for ms, outcome in zip(
                    self.recent_durations, self.recent_outcomes, strict=True
                )
            ],
            "scope": job.scope.value,
            "node": node,
            "version": self.version,
        }


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with a `Z`, to the millisecond; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo not in (UTC, None):
        moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")

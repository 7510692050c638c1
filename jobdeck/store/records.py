"""The records a store keeps: plain frozen data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class JobRecord(NamedTuple):
    """What survives a restart of one job: its controls and its latest outcome.
    A named tuple, like RunRecord: every job's is made every few seconds."""

    name: str
    paused: bool = False
    paused_by: str | None = None
    paused_at: datetime | None = None
    paused_until: datetime | None = None
    interval_override: int | None = None
    interval_set_by: str | None = None
    interval_set_at: datetime | None = None
    total_runs: int = 0
    last_run_at: datetime | None = None
    last_duration_ms: int | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_scheduled_at: datetime | None = None
    last_summary: str | None = None


class RunRecord(NamedTuple):
    """One run, or one skipped tick (outcome `skipped`, with its reason).

    A named tuple rather than a dataclass: one is made for every run, and a tuple
    is made several times faster and goes to the database driver as it is."""

    id: str
    job_name: str
    trigger: str
    started_at: datetime
    user: str | None = None
    node: str | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    outcome: str | None = None
    summary: str | None = None
    error: str | None = None
    reason: str | None = None
    log: str | None = None
    traceback: str | None = None

    def interrupted(self, finished_at: datetime, reason: str) -> RunRecord:
        """This run, closed as interrupted: its process ended before it did."""
        duration = int((finished_at - self.started_at).total_seconds() * 1000)
        return self._replace(
            finished_at=finished_at,
            duration_ms=max(0, duration),
            outcome="interrupted",
            error=reason,
        )


@dataclass(frozen=True)
class AuditEntry:
    """One control action: who did what to which job, with before and after."""

    at: datetime
    actor: str
    action: str
    job_name: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    client: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class UserRecord:
    username: str
    password_hash: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in browser. The id stored is a hash of the cookie's secret."""

    id: str
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class TokenRecord:
    """An API token. The secret itself is shown once and never stored."""

    id: str
    name: str
    role: str
    secret_hash: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None


def as_row(record: Any) -> dict[str, Any]:
    """A record as a column → value dict; shallow, unlike dataclasses.asdict,
    which deep-copies every value and costs more than the write itself."""
    if isinstance(record, RunRecord):
        return record._asdict()
    return {name: getattr(record, name) for name in record.__dataclass_fields__}

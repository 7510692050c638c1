"""A store in memory: for tests, and for decks that need nothing to survive."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime

from jobdeck.errors import InvalidInput
from jobdeck.store.base import Store
from jobdeck.store.records import (
    AuditEntry,
    JobRecord,
    RunRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)

# The newest runs kept per job. A deck left on its default store for months keeps
# this much history of each job, rather than every run it ever made.
RUNS_KEPT_PER_JOB = 1000


class MemoryStore(Store):
    def __init__(self, runs_kept_per_job: int | None = RUNS_KEPT_PER_JOB) -> None:
        if runs_kept_per_job is not None and runs_kept_per_job < 1:
            raise ValueError("runs_kept_per_job must be 1 or more, or None for all")
        self.runs_kept_per_job = runs_kept_per_job
        self.jobs: dict[str, JobRecord] = {}
        self.runs: dict[str, RunRecord] = {}
        # Each job's run ids, oldest first, to let the oldest go.
        self._run_ids: dict[str, deque[str]] = {}
        self.audit: list[AuditEntry] = []
        self.users: dict[str, UserRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.failing: Exception | None = None

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        self._raise_if_failing()

    async def load_jobs(self) -> dict[str, JobRecord]:
        self._raise_if_failing()
        return dict(self.jobs)

    async def write_batch(
        self,
        jobs: Iterable[JobRecord],
        runs: Iterable[RunRecord],
        audit: Sequence[AuditEntry],
    ) -> None:
        self._raise_if_failing()
        for job in jobs:
            self.jobs[job.name] = job
        for run in runs:
            if run.id not in self.runs:
                self._keep_newest(run)
            self.runs[run.id] = run
        for entry in audit:
            self.audit.append(dataclasses.replace(entry, id=len(self.audit) + 1))

    async def list_runs(
        self, job_name: str, limit: int, offset: int = 0
    ) -> list[RunRecord]:
        self._raise_if_failing()
        mine = [run for run in self.runs.values() if run.job_name == job_name]
        mine.sort(key=lambda run: (run.started_at, run.id), reverse=True)
        return mine[offset : offset + limit]

    async def runs_after_job_rows(self) -> list[RunRecord]:
        self._raise_if_failing()
        return [
            run
            for run in self.runs.values()
            if run.job_name in self.jobs
            and run.finished_at is not None
            and run.outcome not in (None, "skipped")
            and _after(run.started_at, self.jobs[run.job_name].last_run_at)
        ]

    async def interrupt_unfinished_runs(
        self, finished_at: datetime, reason: str
    ) -> list[RunRecord]:
        self._raise_if_failing()
        closed = []
        for run in list(self.runs.values()):
            if run.finished_at is None:
                done = run.interrupted(finished_at, reason)
                self.runs[run.id] = done
                closed.append(done)
        return closed

    async def prune_runs(self, older_than: datetime) -> int:
        self._raise_if_failing()
        old = [
            run.id
            for run in self.runs.values()
            if run.finished_at is not None and run.started_at < older_than
        ]
        for run_id in old:
            del self.runs[run_id]
        for ids in self._run_ids.values():
            kept = [run_id for run_id in ids if run_id in self.runs]
            ids.clear()
            ids.extend(kept)
        return len(old)

    async def list_audit(
        self, limit: int, offset: int = 0, job_name: str | None = None
    ) -> list[AuditEntry]:
        self._raise_if_failing()
        entries = [e for e in self.audit if job_name in (None, e.job_name)]
        entries.reverse()
        return entries[offset : offset + limit]

    async def count_users(self) -> int:
        return len(self.users)

    async def get_user(self, username: str) -> UserRecord | None:
        return self.users.get(username)

    async def add_user(self, user: UserRecord) -> None:
        if user.username in self.users:
            raise InvalidInput(f"a user named {user.username!r} already exists")
        self.users[user.username] = user

    async def list_users(self) -> list[UserRecord]:
        return sorted(self.users.values(), key=lambda user: user.username)

    async def replace_user(self, user: UserRecord) -> bool:
        if user.username not in self.users:
            return False
        self.users[user.username] = user
        return True

    async def delete_user(self, username: str) -> bool:
        return self.users.pop(username, None) is not None

    async def delete_sessions_of(self, username: str) -> list[str]:
        ended = [s.id for s in self.sessions.values() if s.username == username]
        for session_id in ended:
            del self.sessions[session_id]
        return ended

    async def add_token(self, token: TokenRecord) -> None:
        self.tokens[token.id] = token

    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        found = [t for t in self.tokens.values() if t.secret_hash == secret_hash]
        return found[0] if found else None

    async def list_tokens(self) -> list[TokenRecord]:
        return sorted(self.tokens.values(), key=lambda token: token.created_at)

    async def delete_token(self, token_id: str) -> bool:
        return self.tokens.pop(token_id, None) is not None

    async def add_session(self, session: SessionRecord) -> None:
        self.sessions[session.id] = session

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return self.sessions.get(session_id)

    async def delete_ended_sessions(self, now: datetime, unused_since: datetime) -> int:
        ended = [
            s.id
            for s in self.sessions.values()
            if s.expires_at <= now or (s.last_seen_at or s.created_at) < unused_since
        ]
        for session_id in ended:
            del self.sessions[session_id]
        return len(ended)

    async def existing_sessions(self, session_ids: Iterable[str]) -> set[str]:
        return {s for s in session_ids if s in self.sessions}

    async def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    async def touch_session(self, session_id: str, seen_at: datetime) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            self.sessions[session_id] = dataclasses.replace(
                session, last_seen_at=seen_at
            )

    def _keep_newest(self, run: RunRecord) -> None:
        """Note a new run, and let its job's oldest go beyond the limit, but not
        the run in progress: ticks skipped during a long run pile up behind it."""
        ids = self._run_ids.setdefault(run.job_name, deque())
        ids.append(run.id)
        if self.runs_kept_per_job is None:
            return
        for _ in range(len(ids) - self.runs_kept_per_job):
            oldest = ids.popleft()
            kept = self.runs.get(oldest)
            if kept is not None and kept.finished_at is None:
                ids.append(oldest)  # it stays, counted as the newest
            else:
                self.runs.pop(oldest, None)

    def _raise_if_failing(self) -> None:
        if self.failing is not None:
            raise self.failing


def _after(moment: datetime, known: datetime | None) -> bool:
    return known is None or moment > known

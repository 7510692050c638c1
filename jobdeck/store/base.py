"""The store interface: everything the deck and the console persist.

One module per backend implements it (`memory`, `sql` for SQLite and PostgreSQL),
and one contract test suite runs against each. Methods raise StoreError, with the
driver's error as the cause, when the database fails.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime

from jobdeck.store.records import (
    AuditEntry,
    JobRecord,
    RunRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)


class Store(ABC):
    @abstractmethod
    async def open(self) -> None:
        """Connect, and bring the schema up to date."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError if the database cannot answer now."""

    # Jobs and runs -----------------------------------------------------------------

    @abstractmethod
    async def load_jobs(self) -> dict[str, JobRecord]: ...

    @abstractmethod
    async def write_batch(
        self,
        jobs: Iterable[JobRecord],
        runs: Iterable[RunRecord],
        audit: Sequence[AuditEntry],
    ) -> None:
        """Write everything in one transaction: job rows and runs are upserted.
        `jobs` and `runs` may be iterators: each is read once."""

    @abstractmethod
    async def list_runs(
        self, job_name: str, limit: int, offset: int = 0
    ) -> list[RunRecord]:
        """The job's runs and skipped ticks, newest first."""

    @abstractmethod
    async def runs_after_job_rows(self) -> list[RunRecord]:
        """Finished runs (not skipped ticks) that started after the latest run
        their job's row knows of: those a crash kept from reaching the row."""

    @abstractmethod
    async def interrupt_unfinished_runs(
        self, finished_at: datetime, reason: str
    ) -> list[RunRecord]:
        """Close runs left open by a process that died; return them as closed."""

    @abstractmethod
    async def prune_runs(self, older_than: datetime) -> int:
        """Delete finished runs that started before the cut-off; return how many."""

    @abstractmethod
    async def list_audit(
        self, limit: int, offset: int = 0, job_name: str | None = None
    ) -> list[AuditEntry]:
        """Audit entries, newest first."""

    # Users and sessions ------------------------------------------------------------

    @abstractmethod
    async def count_users(self) -> int: ...

    @abstractmethod
    async def get_user(self, username: str) -> UserRecord | None: ...

    @abstractmethod
    async def add_user(self, user: UserRecord) -> None:
        """Add a user; InvalidInput if the name is taken."""

    @abstractmethod
    async def list_users(self) -> list[UserRecord]:
        """Every user, by name."""

    @abstractmethod
    async def replace_user(self, user: UserRecord) -> bool:
        """Store a changed user; False if there is none of that name."""

    @abstractmethod
    async def delete_user(self, username: str) -> bool:
        """False if there was none of that name."""

    @abstractmethod
    async def delete_sessions_of(self, username: str) -> list[str]:
        """End every session of a user; return their ids."""

    @abstractmethod
    async def add_token(self, token: TokenRecord) -> None: ...

    @abstractmethod
    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None: ...

    @abstractmethod
    async def list_tokens(self) -> list[TokenRecord]:
        """Every token, oldest first."""

    @abstractmethod
    async def delete_token(self, token_id: str) -> bool:
        """Revoke a token; False if there was none with that id."""

    @abstractmethod
    async def add_session(self, session: SessionRecord) -> None: ...

    @abstractmethod
    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    @abstractmethod
    async def delete_session(self, session_id: str) -> None: ...

    async def delete_ended_sessions(self, now: datetime, unused_since: datetime) -> int:
        """Delete the sessions past their end (`expires_at`) or last used (or,
        never used, made) before `unused_since`; return how many. This default,
        for stores written before it, deletes none."""
        return 0

    async def existing_sessions(self, session_ids: Iterable[str]) -> set[str]:
        """Which of these sessions still exist. Asked for every stream at each
        heartbeat (jobdeck.web.stream), so stores answer in one query; this
        default, for stores written before it, asks for each session."""
        return {s for s in session_ids if await self.get_session(s) is not None}

    @abstractmethod
    async def touch_session(self, session_id: str, seen_at: datetime) -> None:
        """Note that the session was used at `seen_at`."""

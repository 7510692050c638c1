"""The store on a SQL database through SQLAlchemy Core (async): SQLite or PostgreSQL.

Dialect differences are named here and nowhere else: how a row is upserted, and
what a fresh SQLite connection must be told (WAL, a busy timeout).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from jobdeck.errors import InvalidInput, StoreError
from jobdeck.store import schema
from jobdeck.store.base import Store
from jobdeck.store.records import (
    AuditEntry,
    JobRecord,
    RunRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
    as_row,
)

# Rows go to the driver this many at a time, the event loop free in between, so
# that a big batch never holds up a run due meanwhile. Measured at 10,000 runs a
# second (docs/benchmarks.md, interleaved runs of 64 against 32, then 32 against
# 16): the lateness p99 went from 2.1–4.8 to 1.7 ms with async bodies and from
# 2.9–3.3 to 1.8–2.8 ms with sync ones, for up to ~5 µs more CPU per sync run.
# Each chunk's completion wakes the loop, which then starts the runs come due.
ROWS_PER_PAUSE = 16

# Ids looked up in one `IN (...)`: SQLite before 3.32 takes at most 999 parameters.
IDS_PER_QUERY = 500

P = ParamSpec("P")
R = TypeVar("R")

MIGRATIONS = Path(__file__).parent / "migrations"
THREADS_END_WITHIN_S = 2.0


def _wrap_errors(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn driver errors into StoreError, keeping the driver's error as the cause."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        # sqlite3's own errors come from the hot write, which calls the driver.
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise StoreError(f"database error: {_described(exc)}") from exc

    return wrapper


class SqlStore(Store):
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None

    @classmethod
    def sqlite_file(cls, path: Path) -> SqlStore:
        return cls(f"sqlite+aiosqlite:///{path}")

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreError("the store is not open")
        return self._engine

    @property
    def dialect(self) -> str:
        return sa.engine.make_url(self.url).get_backend_name()

    @_wrap_errors
    async def open(self) -> None:
        threads_before = set(threading.enumerate())
        self._engine = create_async_engine(self.url, **self._engine_options())
        if self.dialect == "sqlite":
            sa.event.listen(self._engine.sync_engine, "connect", _tune_sqlite)
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_upgrade_schema)
        except BaseException:
            await self.close()
            await _new_threads_ended(threads_before)
            raise

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @_wrap_errors
    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    # Jobs and runs -----------------------------------------------------------------

    @_wrap_errors
    async def load_jobs(self) -> dict[str, JobRecord]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(sa.select(schema.jobs))
            return {row.name: JobRecord(**row._asdict()) for row in rows}

    @_wrap_errors
    async def write_batch(
        self,
        jobs: Iterable[JobRecord],
        runs: Iterable[RunRecord],
        audit: Sequence[AuditEntry],
    ) -> None:
        async with self._transaction() as connection:
            await self._bulk_upsert(connection, schema.jobs, "name", jobs)
            await self._bulk_upsert(connection, schema.runs, "id", runs)
            if audit:
                rows = [_without_id(entry) for entry in audit]
                await connection.execute(sa.insert(schema.audit), rows)

    @_wrap_errors
    async def list_runs(
        self, job_name: str, limit: int, offset: int = 0
    ) -> list[RunRecord]:
        query = (
            sa.select(schema.runs)
            .where(schema.runs.c.job_name == job_name)
            .order_by(schema.runs.c.started_at.desc(), schema.runs.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [RunRecord(**row._asdict()) for row in rows]

    @_wrap_errors
    async def runs_after_job_rows(self) -> list[RunRecord]:
        runs, jobs = schema.runs, schema.jobs
        # One seek of the (job_name, started_at) index per job: cheap even with a
        # long history, since a row lags its runs by seconds at most.
        query = (
            sa.select(runs)
            .join(jobs, jobs.c.name == runs.c.job_name)
            .where(
                runs.c.finished_at.is_not(None),
                runs.c.outcome != "skipped",
                sa.or_(
                    jobs.c.last_run_at.is_(None),
                    runs.c.started_at > jobs.c.last_run_at,
                ),
            )
        )
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [RunRecord(**row._asdict()) for row in rows]

    @_wrap_errors
    async def interrupt_unfinished_runs(
        self, finished_at: datetime, reason: str
    ) -> list[RunRecord]:
        open_runs = sa.select(schema.runs).where(schema.runs.c.finished_at.is_(None))
        async with self._transaction() as connection:
            found = [
                RunRecord(**row._asdict())
                for row in await connection.execute(open_runs)
            ]
            closed = [run.interrupted(finished_at, reason) for run in found]
            if closed:
                rows = [as_row(run) for run in closed]
                await connection.execute(self._upsert(schema.runs, "id"), rows)
        return closed

    @_wrap_errors
    async def prune_runs(self, older_than: datetime) -> int:
        statement = sa.delete(schema.runs).where(
            schema.runs.c.finished_at.is_not(None),
            schema.runs.c.started_at < older_than,
        )
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    @_wrap_errors
    async def list_audit(
        self, limit: int, offset: int = 0, job_name: str | None = None
    ) -> list[AuditEntry]:
        query = sa.select(schema.audit).order_by(schema.audit.c.id.desc())
        if job_name is not None:
            query = query.where(schema.audit.c.job_name == job_name)
        async with self.engine.connect() as connection:
            rows = await connection.execute(query.limit(limit).offset(offset))
            return [AuditEntry(**row._asdict()) for row in rows]

    # Users and sessions ------------------------------------------------------------

    @_wrap_errors
    async def count_users(self) -> int:
        query = sa.select(sa.func.count()).select_from(schema.users)
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    @_wrap_errors
    async def get_user(self, username: str) -> UserRecord | None:
        query = sa.select(schema.users).where(schema.users.c.username == username)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return UserRecord(**row._asdict()) if row else None

    async def add_user(self, user: UserRecord) -> None:
        try:
            await self._insert_user(user)
        except StoreError as exc:
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                message = f"a user named {user.username!r} already exists"
                raise InvalidInput(message) from exc
            raise

    @_wrap_errors
    async def _insert_user(self, user: UserRecord) -> None:
        async with self._transaction() as connection:
            await connection.execute(sa.insert(schema.users), [as_row(user)])

    @_wrap_errors
    async def list_users(self) -> list[UserRecord]:
        query = sa.select(schema.users).order_by(schema.users.c.username)
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [UserRecord(**row._asdict()) for row in rows]

    @_wrap_errors
    async def replace_user(self, user: UserRecord) -> bool:
        statement = (
            sa.update(schema.users)
            .where(schema.users.c.username == user.username)
            .values(password_hash=user.password_hash, role=user.role)
        )
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    @_wrap_errors
    async def delete_user(self, username: str) -> bool:
        statement = sa.delete(schema.users).where(schema.users.c.username == username)
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    @_wrap_errors
    async def delete_sessions_of(self, username: str) -> list[str]:
        sessions = schema.sessions
        async with self._transaction() as connection:
            rows = await connection.execute(
                sa.select(sessions.c.id).where(sessions.c.username == username)
            )
            ended = [row.id for row in rows]
            await connection.execute(
                sa.delete(sessions).where(sessions.c.username == username)
            )
        return ended

    @_wrap_errors
    async def touch_session(self, session_id: str, seen_at: datetime) -> None:
        statement = (
            sa.update(schema.sessions)
            .where(schema.sessions.c.id == session_id)
            .values(last_seen_at=seen_at)
        )
        async with self._transaction() as connection:
            await connection.execute(statement)

    @_wrap_errors
    async def add_token(self, token: TokenRecord) -> None:
        async with self._transaction() as connection:
            await connection.execute(sa.insert(schema.tokens), [as_row(token)])

    @_wrap_errors
    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        query = sa.select(schema.tokens).where(
            schema.tokens.c.secret_hash == secret_hash
        )
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return TokenRecord(**row._asdict()) if row else None

    @_wrap_errors
    async def list_tokens(self) -> list[TokenRecord]:
        query = sa.select(schema.tokens).order_by(schema.tokens.c.created_at)
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [TokenRecord(**row._asdict()) for row in rows]

    @_wrap_errors
    async def delete_token(self, token_id: str) -> bool:
        statement = sa.delete(schema.tokens).where(schema.tokens.c.id == token_id)
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    @_wrap_errors
    async def add_session(self, session: SessionRecord) -> None:
        async with self._transaction() as connection:
            await connection.execute(sa.insert(schema.sessions), [as_row(session)])

    @_wrap_errors
    async def get_session(self, session_id: str) -> SessionRecord | None:
        query = sa.select(schema.sessions).where(schema.sessions.c.id == session_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return SessionRecord(**row._asdict()) if row else None

    @_wrap_errors
    async def delete_ended_sessions(self, now: datetime, unused_since: datetime) -> int:
        sessions = schema.sessions
        last_used = sa.func.coalesce(sessions.c.last_seen_at, sessions.c.created_at)
        statement = sa.delete(sessions).where(
            sa.or_(sessions.c.expires_at <= now, last_used < unused_since)
        )
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    @_wrap_errors
    async def existing_sessions(self, session_ids: Iterable[str]) -> set[str]:
        wanted = list(session_ids)
        ids = schema.sessions.c.id
        found: set[str] = set()
        async with self.engine.connect() as connection:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                rows = await connection.execute(sa.select(ids).where(ids.in_(chunk)))
                found.update(row.id for row in rows)
        return found

    @_wrap_errors
    async def delete_session(self, session_id: str) -> None:
        statement = sa.delete(schema.sessions).where(schema.sessions.c.id == session_id)
        async with self._transaction() as connection:
            await connection.execute(statement)

    # Dialect capabilities ----------------------------------------------------------

    def _engine_options(self) -> dict[str, Any]:
        if self.dialect == "sqlite":
            # One connection serialises writers, which SQLite does anyway, and keeps
            # the busy timeout from stacking up across a pool.
            return {"poolclass": sa.pool.AsyncAdaptedQueuePool, "pool_size": 1}
        return {"pool_size": 5, "pool_pre_ping": True}

    async def _bulk_upsert(
        self,
        connection: AsyncConnection,
        table: sa.Table,
        key: str,
        records: Iterable[JobRecord] | Iterable[RunRecord],
    ) -> None:
        """Upsert many records through the driver with one prepared statement.

        This is the hot write of the deck (every run, and jobs' latest states).
        SQLAlchemy's per-row parameter processing cost about 40 µs a row here,
        the driver alone a few µs; so the rows are plain tuples in the order of
        the record's fields, with times converted the way each backend stores them.
        Each record is let go once converted: none outlives a garbage collection.
        """
        fields = (JobRecord if table is schema.jobs else RunRecord)._fields
        time_value = _sqlite_time if self.dialect == "sqlite" else _as_utc
        times = [i for i, field in enumerate(fields) if _is_time(table, field)]
        statement = self._upsert_statement(table, key, fields)
        send = await self._row_sender(connection)
        rows = []
        for record in records:
            row: list[Any] = list(record)
            for i in times:
                if row[i] is not None:
                    row[i] = time_value(row[i])
            rows.append(tuple(row))
            if len(rows) == ROWS_PER_PAUSE:
                # One statement per chunk: the driver's own handling of ten
                # thousand rows in one call held the event loop for ~10 ms.
                await send(statement, rows)
                rows = []
        if rows:
            await send(statement, rows)

    async def _row_sender(self, connection: AsyncConnection) -> Any:
        """The driver's own executemany, in the connection's transaction.

        For SQLite, aiosqlite's: one trip to its thread per chunk of rows, where
        SQLAlchemy's cursor made three (open, execute, close), about 2 µs a run at
        10,000 runs a second."""
        if self.dialect != "sqlite":
            return connection.exec_driver_sql
        raw = await connection.get_raw_connection()
        return raw.driver_connection.executemany  # type: ignore[union-attr]

    @functools.cache  # noqa: B019 - one store per process; the statements are few
    def _upsert_statement(
        self, table: sa.Table, key: str, columns: tuple[str, ...]
    ) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        updates = ", ".join(
            f"{quote(c)} = excluded.{quote(c)}" for c in columns if c != key
        )
        return (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(marker for _ in columns)}) "
            f"ON CONFLICT ({quote(key)}) DO UPDATE SET {updates}"
        )

    def _upsert(self, table: sa.Table, key: str) -> Any:
        dialect = sqlite if self.dialect == "sqlite" else postgresql
        statement = dialect.insert(table)
        changes = {
            column.name: statement.excluded[column.name]
            for column in table.columns
            if column.name != key
        }
        return statement.on_conflict_do_update(index_elements=[key], set_=changes)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection


async def _new_threads_ended(before: set[threading.Thread]) -> None:
    """Wait a little for the threads started since `before` to end. aiosqlite
    stops the thread of a connection that failed to open without waiting for it,
    and the thread then reports to the event loop: if a failed start-up has closed
    the loop by then, the thread prints a traceback on the way out."""
    deadline = time.monotonic() + THREADS_END_WITHIN_S
    for thread in set(threading.enumerate()) - before:
        while thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade_schema(connection: sa.Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores and reads back: naive UTC to
    the microsecond. Twice for every run, so the text of the second is reused."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    unix = moment.timestamp()
    if not 0 <= unix < CACHED_UNTIL:
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    second = int(unix)
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= SECONDS_KEPT:
            _SECONDS.clear()
        naive = moment.replace(microsecond=0, tzinfo=None)
        prefix = _SECONDS[second] = naive.isoformat(sep=" ")
    return f"{prefix}.{moment.microsecond:06d}"


# The text of recent seconds (Unix time → "YYYY-MM-DD HH:MM:SS"), for _sqlite_time.
_SECONDS: dict[int, str] = {}
SECONDS_KEPT = 256
# Below 2**33 s (the year 2242) a timestamp's float is within half a microsecond,
# so int() gives the instant's own second; beyond, .999999 could round up to the
# next. Before 1970, int() would round towards zero.
CACHED_UNTIL = 2**33


@functools.cache
def _is_time(table: sa.Table, column: str) -> bool:
    return isinstance(table.c[column].type, schema.UtcTime)


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _without_id(entry: AuditEntry) -> dict[str, Any]:
    row = as_row(entry)
    del row["id"]
    return row


def _described(exc: BaseException) -> str:
    """The error's first line and, from SQLite, its extended code: "disk I/O
    error" alone does not say which of some twenty kinds it was."""
    driver_error = getattr(exc, "orig", exc)
    code = getattr(driver_error, "sqlite_errorname", None)
    return f"{_first_line(exc)} [{code}]" if code else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__

"""One contract for every store: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobdeck.errors import InvalidInput
from jobdeck.store import (
    AuditEntry,
    JobRecord,
    MemoryStore,
    RunRecord,
    SessionRecord,
    SqlStore,
    Store,
    TokenRecord,
    UserRecord,
    schema,
)

T0 = datetime(2027, 3, 28, 0, 59, 59, 123000, tzinfo=UTC)


async def _fresh_postgres(url: str) -> SqlStore:
    store = SqlStore(url)
    await store.open()
    async with store.engine.begin() as connection:
        for table in reversed(schema.metadata.sorted_tables):
            await connection.execute(sa.delete(table))
    return store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        backend: Store = MemoryStore()
        await backend.open()
    elif request.param == "sqlite":
        backend = SqlStore.sqlite_file(tmp_path / "store.sqlite3")
        await backend.open()
    else:
        backend = await _fresh_postgres(request.getfixturevalue("postgres_url"))
    yield backend
    await backend.close()


def run(
    run_id: str, started: datetime, finished: bool = True, **more: object
) -> RunRecord:
    return RunRecord(
        id=run_id,
        job_name=str(more.pop("job_name", "probe")),
        trigger="schedule",
        started_at=started,
        finished_at=started + timedelta(seconds=1) if finished else None,
        duration_ms=1000 if finished else None,
        outcome=more.pop("outcome", "success" if finished else None),  # type: ignore[arg-type]
        **more,  # type: ignore[arg-type]
    )


async def test_job_records_round_trip_with_utc_instants(store: Store) -> None:
    record = JobRecord(
        name="probe", paused=True, paused_by="ann", paused_at=T0,
        interval_override=300, interval_set_by="bob", interval_set_at=T0,
        total_runs=7, last_run_at=T0, last_duration_ms=12, last_outcome="error",
        last_error="ValueError: €" * 3, last_scheduled_at=T0,
    )  # fmt: skip
    await store.write_batch([record], [], [])

    loaded = (await store.load_jobs())["probe"]

    assert loaded == record
    assert loaded.paused_at is not None and loaded.paused_at.utcoffset() == timedelta(0)


async def test_writing_a_job_again_replaces_it(store: Store) -> None:
    await store.write_batch([JobRecord("probe", paused=True)], [], [])
    await store.write_batch([JobRecord("probe", paused=False, total_runs=2)], [], [])
    assert (await store.load_jobs())["probe"] == JobRecord("probe", total_runs=2)


async def test_runs_come_newest_first_and_page(store: Store) -> None:
    runs = [run(f"r{i}", T0 + timedelta(minutes=i)) for i in range(5)]
    runs.append(run("other", T0, job_name="other"))
    await store.write_batch([], runs, [])

    page = await store.list_runs("probe", limit=2, offset=1)

    assert [r.id for r in page] == ["r3", "r2"]
    assert page[0] == runs[3]


async def test_a_run_written_twice_keeps_its_latest_form(store: Store) -> None:
    await store.write_batch([], [run("r1", T0, finished=False)], [])
    await store.write_batch([], [run("r1", T0, summary="done")], [])
    (only,) = await store.list_runs("probe", 10)
    assert (only.outcome, only.summary) == ("success", "done")


async def test_unfinished_runs_are_closed_as_interrupted(store: Store) -> None:
    await store.write_batch([], [run("open", T0, finished=False), run("done", T0)], [])

    closed = await store.interrupt_unfinished_runs(T0 + timedelta(seconds=5), "gone")

    assert [(r.id, r.outcome, r.error, r.duration_ms) for r in closed] == [
        ("open", "interrupted", "gone", 5000)
    ]
    assert await store.interrupt_unfinished_runs(T0, "again") == []


async def test_runs_newer_than_their_job_row_are_found(store: Store) -> None:
    later = T0 + timedelta(minutes=1)
    await store.write_batch(
        [JobRecord("probe", total_runs=1, last_run_at=T0), JobRecord("idle")],
        [
            run("known", T0),  # the row counts it already
            run("after", later),
            run("skip", later + timedelta(seconds=1), outcome="skipped"),
            run("open", later + timedelta(seconds=2), finished=False),
            run("never", later, job_name="idle"),  # a row that knows no run yet
            run("no-row", later, job_name="ghost"),  # a job with no row at all
        ],
        [],
    )

    found = await store.runs_after_job_rows()

    assert sorted(r.id for r in found) == ["after", "never"]


async def test_pruning_deletes_only_old_finished_runs(store: Store) -> None:
    await store.write_batch(
        [],
        [run("old", T0), run("new", T0 + timedelta(days=2)), run("open", T0, False)],
        [],
    )
    assert await store.prune_runs(T0 + timedelta(days=1)) == 1
    assert {r.id for r in await store.list_runs("probe", 10)} == {"new", "open"}


async def test_audit_entries_come_newest_first_and_filter_by_job(store: Store) -> None:
    entries = [
        AuditEntry(T0, "ann", "pause", "a", {"paused": False}, {"paused": True}, "::1"),
        AuditEntry(T0, "bob", "resume", "b", None, None),
        AuditEntry(T0, "ann", "interval", "a", {"interval": 60}, {"interval": 300}),
    ]
    await store.write_batch([], [], entries)

    newest = await store.list_audit(limit=10)
    only_a = await store.list_audit(limit=10, job_name="a")

    assert [e.action for e in newest] == ["interval", "resume", "pause"]
    assert [e.action for e in only_a] == ["interval", "pause"]
    assert only_a[1].before == {"paused": False} and only_a[1].client == "::1"


async def test_users_and_sessions(store: Store) -> None:
    assert await store.count_users() == 0
    await store.add_user(UserRecord("ann", "hash", "admin", T0))
    session = SessionRecord("sid", "ann", "csrf", T0, T0 + timedelta(hours=1))
    await store.add_session(session)

    assert await store.count_users() == 1
    assert await store.get_user("ann") == UserRecord("ann", "hash", "admin", T0)
    assert await store.get_session("sid") == session
    await store.delete_session("sid")
    assert await store.get_session("sid") is None
    assert await store.get_user("nobody") is None


async def test_the_sessions_that_still_exist_are_found_among_many(
    store: Store,
) -> None:
    """Asked for every open stream at each heartbeat: more ids than one query's
    parameters may hold."""
    await store.add_user(UserRecord("ann", "hash", "admin", T0))
    later = T0 + timedelta(hours=1)
    for kept in ("s7", "s1100"):
        await store.add_session(SessionRecord(kept, "ann", "c", T0, later))
    asked = [f"s{i}" for i in range(1200)]

    assert await store.existing_sessions(asked) == {"s7", "s1100"}
    assert await Store.existing_sessions(store, asked) == {"s7", "s1100"}
    assert await store.existing_sessions([]) == set()


async def test_sessions_past_their_end_or_unused_too_long_are_deleted(
    store: Store,
) -> None:
    await store.add_user(UserRecord("ann", "hash", "admin", T0))
    hour = timedelta(hours=1)
    sessions = [
        SessionRecord("expired", "ann", "c", T0 - 13 * hour, T0, T0 - hour),
        SessionRecord("idle", "ann", "c", T0 - 3 * hour, T0 + hour, T0 - 2 * hour),
        SessionRecord("never-used", "ann", "c", T0 - 2 * hour, T0 + hour, None),
        SessionRecord("live", "ann", "c", T0 - 3 * hour, T0 + hour, T0),
        SessionRecord("new", "ann", "c", T0, T0 + hour, None),
    ]
    for session in sessions:
        await store.add_session(session)

    deleted = await store.delete_ended_sessions(T0, unused_since=T0 - hour)

    assert deleted == 3
    assert await store.existing_sessions([s.id for s in sessions]) == {"live", "new"}


async def test_user_names_are_unique_and_listed_in_order(store: Store) -> None:
    await store.add_user(UserRecord("zoe", "hash", "viewer", T0))
    await store.add_user(UserRecord("ann", "hash", "admin", T0))

    with pytest.raises(InvalidInput, match="already exists"):
        await store.add_user(UserRecord("ann", "other", "viewer", T0))
    assert [u.username for u in await store.list_users()] == ["ann", "zoe"]


async def test_tokens_are_found_by_their_hash_and_revoked(store: Store) -> None:
    expires = T0 + timedelta(days=1)
    token = TokenRecord("t1", "ci", "viewer", "hash-1", "ann", T0, expires)
    await store.add_token(token)

    assert await store.token_by_hash("hash-1") == token
    assert await store.token_by_hash("other") is None
    assert await store.list_tokens() == [token]
    assert await store.delete_token("t1") is True
    assert await store.delete_token("t1") is False
    assert await store.token_by_hash("hash-1") is None


async def test_users_change_and_leave_with_their_sessions(store: Store) -> None:
    await store.add_user(UserRecord("ann", "hash", "admin", T0))
    later = T0 + timedelta(hours=1)
    await store.add_session(SessionRecord("s1", "ann", "c", T0, later))
    await store.add_session(SessionRecord("s2", "ann", "c", T0, later))

    assert await store.replace_user(UserRecord("ann", "new", "viewer", T0)) is True
    assert await store.replace_user(UserRecord("bob", "x", "viewer", T0)) is False
    assert sorted(await store.delete_sessions_of("ann")) == ["s1", "s2"]
    assert await store.get_session("s1") is None
    assert (await store.get_user("ann")) == UserRecord("ann", "new", "viewer", T0)
    assert await store.delete_user("ann") is True
    assert await store.delete_user("ann") is False


async def test_a_session_remembers_its_last_use(store: Store) -> None:
    later = T0 + timedelta(hours=1)
    await store.add_session(SessionRecord("s1", "ann", "c", T0, later))
    await store.touch_session("s1", T0 + timedelta(minutes=5))
    await store.touch_session("missing", T0)

    session = await store.get_session("s1")
    assert session is not None
    assert session.last_seen_at == T0 + timedelta(minutes=5)


async def test_the_memory_store_keeps_each_jobs_newest_runs_only() -> None:
    store = MemoryStore(runs_kept_per_job=3)
    first = [run(f"r{i}", T0 + timedelta(minutes=i)) for i in range(3)]
    other = run("other", T0 + timedelta(days=1), job_name="other")
    await store.write_batch([], [*first, other], [])
    await store.write_batch([], [run("r0", T0, summary="rewritten")], [])
    await store.prune_runs(T0 + timedelta(seconds=30))  # takes r0
    more = [run(f"r{i}", T0 + timedelta(minutes=i)) for i in range(3, 6)]
    await store.write_batch([], more, [])

    kept = await store.list_runs("probe", 10)

    # A rewrite is not a new run; a pruned run leaves room for a newer one.
    assert [r.id for r in kept] == ["r5", "r4", "r3"]
    assert [r.id for r in await store.list_runs("other", 10)] == ["other"]
    with pytest.raises(ValueError, match="1 or more"):
        MemoryStore(runs_kept_per_job=0)


async def test_the_memory_store_keeps_a_run_in_progress_past_its_limit() -> None:
    """A long run and the ticks skipped meanwhile: the skips go, the run stays."""
    store = MemoryStore(runs_kept_per_job=3)
    await store.write_batch([], [run("long", T0, finished=False)], [])
    skips = [
        run(f"skip-{i}", T0 + timedelta(seconds=i), outcome="skipped")
        for i in range(1, 6)
    ]
    await store.write_batch([], skips, [])

    kept = {r.id for r in await store.list_runs("probe", 10)}

    assert "long" in kept
    assert kept == {"long", "skip-4", "skip-5"}

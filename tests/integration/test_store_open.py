"""A database that cannot be opened fails `SqlStore.open()` with a StoreError and
leaves no driver thread behind: `jobdeck serve` exits right after, and a thread
still running then would print a traceback as the process ends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobdeck.errors import StoreError
from jobdeck.store import SqlStore
from jobdeck.store.records import AuditEntry


async def test_a_database_that_cannot_be_opened_leaves_no_thread(
    tmp_path: Path,
) -> None:
    before = set(threading.enumerate())
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")

    with pytest.raises(StoreError, match="unable to open database file"):
        await store.open()

    assert set(threading.enumerate()) - before == set()


async def test_a_databases_error_names_sqlites_own_code(tmp_path: Path) -> None:
    """ "disk I/O error" alone does not say which of some twenty kinds it was:
    the operator (and the bug report) gets SQLite's extended code too."""
    database = tmp_path / "jobs.sqlite3"
    writable = SqlStore.sqlite_file(database)
    await writable.open()
    await writable.close()
    read_only = SqlStore(f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true")
    await read_only.open()
    entry = AuditEntry(datetime.now(UTC), "admin", "pause", "probe")

    try:
        with pytest.raises(StoreError, match=r"readonly database \[SQLITE_READONLY\]$"):
            await read_only.write_batch([], [], [entry])
    finally:
        await read_only.close()

"""A database that cannot be opened fails `SqlStore.open()` with a StoreError and
leaves no driver thread behind: `jobdeck serve` exits right after, and a thread
still running then would print a traceback as the process ends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from jobdeck.errors import StoreError
from jobdeck.store import SqlStore


async def test_a_database_that_cannot_be_opened_leaves_no_thread(
    tmp_path: Path,
) -> None:
    before = set(threading.enumerate())
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")

    with pytest.raises(StoreError, match="unable to open database file"):
        await store.open()

    assert set(threading.enumerate()) - before == set()

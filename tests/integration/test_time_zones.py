"""Case BC-30: times travel as UTC whatever the zone of the server process or of
the database session, and come back as the same instants after a restart in
another zone. (How the Jobs page shows them: tests/browser/test_job_detail.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.store import SqlStore

NEW_YORK_SESSION = "options=-c%20TimeZone%3DAmerica%2FNew_York"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    # Every connection's session in New York, as a database set up there has.
    return f"{request.getfixturevalue('postgres_url')}?{NEW_YORK_SESSION}"


@pytest.fixture
def process_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test set the process's TZ; the zone is put back afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def in_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()


async def _quick() -> None:
    pass


async def run_once(store: SqlStore) -> dict[str, object]:
    deck = Deck(store=store, node="test")
    deck.add(define_job("probe", "1h", _quick, first_delay_s=3600))
    await deck.start()
    try:
        await deck.run_now("probe")
        while deck.job_object("probe")["status"] == "running":
            await asyncio.sleep(0.01)
        await deck.flush()
        return deck.job_object("probe")
    finally:
        await deck.stop()


async def test_times_are_utc_whatever_the_zones_and_survive_a_change_of_zone(
    store_url: str, process_zone: pytest.MonkeyPatch
) -> None:
    in_zone(process_zone, "Asia/Kolkata")  # +05:30
    store = SqlStore(store_url)
    await store.open()
    session_zone = None
    if store.dialect == "postgresql":
        async with store.engine.connect() as connection:
            session_zone = await connection.scalar(sa.text("SHOW TimeZone"))
    before = datetime.now(UTC)
    job = await run_once(store)
    after = datetime.now(UTC)
    (run,) = await store.list_runs("probe", 5)
    await store.close()

    in_zone(process_zone, "Pacific/Chatham")  # +13:45 in December
    again = SqlStore(store_url)
    await again.open()
    try:
        (run_again,) = await again.list_runs("probe", 5)
        row = (await again.load_jobs())["probe"]
    finally:
        await again.close()

    assert session_zone in (None, "America/New_York")
    assert isinstance(job["last_run_at"], str)
    assert job["last_run_at"].endswith("Z")
    shown = datetime.fromisoformat(job["last_run_at"])
    assert before <= shown <= after
    assert (
        run.started_at.utcoffset()
        == run_again.started_at.utcoffset()
        == UTC.utcoffset(None)
    )
    assert run_again.started_at == run.started_at
    assert abs((run.started_at - shown).total_seconds()) < 0.001
    assert row.last_run_at == run.started_at

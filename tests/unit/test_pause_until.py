"""Pause with an end, and the plain-words answer to "why is it not running?"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from jobdeck.deck import Actor, Deck
from jobdeck.errors import InvalidInput, StoreError
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.store.sql import SqlStore
from jobdeck.testing import FakeClock, settle


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def deck(clock: FakeClock) -> AsyncIterator[Deck]:
    deck = Deck(store=MemoryStore(), clock=clock)
    deck.add(define_job("probe", "10m", lambda: None, first_delay_s=0))
    await deck.start()
    await settle()
    yield deck
    await deck.stop(grace_s=0.1)


async def test_a_pause_with_an_end_resumes_by_itself_and_says_so(
    deck: Deck, clock: FakeClock
) -> None:
    until = clock.now() + timedelta(minutes=30)
    job = await deck.pause("probe", Actor("ann"), until=until)
    assert job["paused_until"] is not None
    assert "until 2027-01-04T12:30:00.000Z" in job["why_not_running"]["text"]

    await clock.advance(29 * 60, step=30)
    assert deck.job_object("probe")["paused"] is True
    await clock.advance(61, step=1)
    job = deck.job_object("probe")
    await deck.flush()
    (latest, *_) = await deck.store.list_audit(10)

    assert (job["paused"], job["status"]) == (False, "idle")
    assert job["next_run_at"] is not None
    assert (latest.action, latest.actor) == ("resume", "system (the pause ended)")


async def test_pausing_a_paused_job_changes_nothing_but_a_new_end_moves_it(
    deck: Deck, clock: FakeClock
) -> None:
    """SPEC §3.2: pausing a paused job is a no-op. Given an end, it moves the
    end (how an operator lengthens or shortens a pause)."""
    first_end = clock.now() + timedelta(hours=2)
    paused = await deck.pause("probe", Actor("ann"), until=first_end)

    again = await deck.pause("probe", Actor("bob"))
    assert again == paused

    later_end = clock.now() + timedelta(hours=3)
    moved = await deck.pause("probe", Actor("bob"), until=later_end)
    assert moved["paused_until"] != paused["paused_until"]
    assert moved["paused_by"] == "ann"


async def test_a_pause_end_in_the_past_is_refused(deck: Deck, clock: FakeClock) -> None:
    with pytest.raises(InvalidInput, match="future"):
        await deck.pause("probe", until=clock.now() - timedelta(seconds=1))
    assert deck.job_object("probe")["paused"] is False


async def test_the_end_of_a_pause_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()

    async def open_deck() -> Deck:
        deck = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock)
        deck.add(define_job("probe", "10m", lambda: None))
        await deck.store.open()
        await deck.start()
        return deck

    first = await open_deck()
    await first.pause("probe", until=clock.now() + timedelta(hours=2))
    await first.stop()
    await first.store.close()

    await clock.advance(3600, step=60)
    again = await open_deck()
    assert again.job_object("probe")["paused"] is True
    await clock.advance(3601, step=60)
    resumed = again.job_object("probe")["paused"] is False
    await again.stop()
    await again.store.close()
    assert resumed


async def test_why_not_running_names_the_reason(deck: Deck, clock: FakeClock) -> None:
    waiting = deck.job_object("probe")["why_not_running"]
    await deck.pause("probe", Actor("ann"))
    paused = deck.job_object("probe")["why_not_running"]
    await deck.resume("probe")
    deck.store.failing = StoreError("database error: disk I/O error")  # type: ignore[attr-defined]
    await deck.run_now("probe")
    for _ in range(500):  # the body runs in a worker thread, on the real clock
        await clock.advance(0.01, step=0.01)
        if deck.job_object("probe")["status"] != "running":
            break
        await asyncio.sleep(0.005)
    await clock.advance(0.5)  # past the writer's batch window: it tries, and fails
    failing = deck.job_object("probe")["why_not_running"]
    deck.store.failing = None  # type: ignore[attr-defined]
    await clock.advance(6, step=0.5)  # the writer's retry, which now succeeds
    deck.stop_scheduling("stopped for the test")
    stopped = deck.job_object("probe")["why_not_running"]

    assert waiting["reason"] == "waiting"
    assert "waiting for its next tick, due at 2027-01-04T12:" in waiting["text"]
    assert paused["reason"] == "paused"
    assert "paused by ann since" in paused["text"]
    assert "until someone resumes it" in paused["text"]
    assert "the database is failing (database error: disk I/O error)" in failing["text"]
    assert stopped["reason"] == "scheduler_stopped"
    assert stopped["text"].startswith("the scheduler is stopped: stopped for the test")


async def test_a_skipped_tick_is_the_answer_until_the_next_run(
    clock: FakeClock,
) -> None:
    deck = Deck(store=MemoryStore(), clock=clock)
    ends = [clock.monotonic() + 25]

    async def long() -> None:
        while clock.monotonic() < ends[0]:
            await settle(1)

    deck.add(define_job("long", "10s", long, first_delay_s=0))
    await deck.start()
    await clock.advance(21, step=0.5)  # running, and one tick skipped already
    ends[0] = 0
    await clock.advance(1)
    why = deck.job_object("long")["why_not_running"]
    await deck.stop(grace_s=0.1)

    assert why["reason"] == "skipped"
    assert "still running since" in why["text"]

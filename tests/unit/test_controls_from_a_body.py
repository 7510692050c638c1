"""A body may steer its own job, or another, before its first wait. From Python
3.12 that first step runs inside the step of the deck that starts the run (the
task starts eagerly); each control must still hold as it does on 3.11, where the
body's first step comes in a later turn of the loop. On a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.testing import FakeClock, settle


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def deck(clock: FakeClock) -> AsyncIterator[Deck]:
    deck = Deck(store=MemoryStore(), clock=clock, node="test")
    yield deck
    await deck.stop(grace_s=0.1)


async def test_a_body_that_pauses_its_own_job_is_not_run_again(
    deck: Deck, clock: FakeClock
) -> None:
    starts: list[float] = []

    async def body() -> None:
        starts.append(clock.monotonic())
        await deck.pause("self-pausing")  # no real wait inside
        await asyncio.sleep(0)

    deck.add(define_job("self-pausing", "1m", body, first_delay_s=0))
    await deck.start()
    await settle()
    await clock.advance(5 * 60, step=5)

    job = deck.job_object("self-pausing")
    assert len(starts) == 1
    assert (job["paused"], job["next_run_at"]) == (True, None)


async def test_a_body_that_pauses_another_job_due_at_the_same_time(
    deck: Deck, clock: FakeClock
) -> None:
    worker_starts: list[float] = []

    async def guard() -> None:
        if not deck.job_object("worker")["paused"]:
            await deck.pause("worker")
        await asyncio.sleep(0)

    async def worker() -> None:
        worker_starts.append(clock.monotonic())

    deck.add(define_job("guard", "1m", guard, first_delay_s=60))
    deck.add(define_job("worker", "1m", worker, first_delay_s=60))
    await deck.start()
    await settle()
    await clock.advance(6 * 60, step=5)

    # Started in the same step as the guard (3.11) or not at all (3.12): never
    # again once paused.
    assert len(worker_starts) <= 1
    assert deck.job_object("worker")["next_run_at"] is None


async def test_a_body_that_sets_its_own_interval_runs_at_the_new_one_next(
    deck: Deck, clock: FakeClock
) -> None:
    starts: list[float] = []

    async def body() -> None:
        starts.append(clock.monotonic())
        if len(starts) == 1:
            await deck.set_interval("backing-off", "10m")
        await asyncio.sleep(0)

    deck.add(define_job("backing-off", "1m", body, first_delay_s=0))
    await deck.start()
    await settle()
    await clock.advance(25 * 60, step=5)

    gaps = [round(later - starts[0]) for later in starts[1:]]
    assert gaps == [600, 1200]


async def test_a_body_that_cancels_its_own_run_before_waiting_is_cancelled(
    deck: Deck, clock: FakeClock
) -> None:
    async def body() -> str:
        await deck.cancel("self-cancelling")
        await asyncio.sleep(0)  # where the cancel lands
        return "not cancelled"

    deck.add(define_job("self-cancelling", "1h", body, first_delay_s=3600))
    await deck.start()
    await deck.run_now("self-cancelling")
    await settle()

    job = deck.job_object("self-cancelling")
    assert (job["status"], job["last_outcome"]) == ("idle", "cancelled")

"""Cancel, timeouts and runs that last far longer than usual (SPEC §3.2; issue 3)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobdeck.deck import STOPPED_REASON, Actor, Deck
from jobdeck.errors import JobConflict
from jobdeck.jobs import define_job
from jobdeck.runs import RunContext
from jobdeck.store.memory import MemoryStore
from jobdeck.testing import FakeClock, settle
from tests.held import HeldBody


@pytest.fixture
async def deck() -> AsyncIterator[Deck]:
    deck = Deck(store=MemoryStore(), node="test", max_threads=2)
    yield deck
    await deck.stop(grace_s=0.5)


async def finished(deck: Deck, name: str, within_s: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        job = deck.job_object(name)
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} is still running after {within_s}s")


async def no_longer_held(deck: Deck, name: str, within_s: float = 5) -> dict[str, Any]:
    """The job once the body of its given-up run has returned and the deck knows."""
    deadline = time.monotonic() + within_s
    while True:
        job = deck.job_object(name)
        why = job["why_not_running"]
        if why is None or why["reason"] != "given_up_body_running":
            return job
        assert time.monotonic() < deadline, f"{name} is still held after {within_s}s"
        await asyncio.sleep(0.01)


async def test_cancelling_an_async_run_cancels_its_task(deck: Deck) -> None:
    reached_end = []

    async def slow() -> None:
        await asyncio.sleep(30)
        reached_end.append(True)

    deck.add(define_job("slow", "1h", slow, first_delay_s=3600))
    await deck.start()
    await deck.run_now("slow")
    await settle()

    await deck.cancel("slow", Actor("ann"))
    job = await finished(deck, "slow")

    assert (job["status"], job["last_outcome"], job["last_error"]) == (
        "idle",
        "cancelled",
        None,
    )
    assert reached_end == []
    await deck.flush()
    (run,) = await deck.store.list_runs("slow", 5)
    assert (run.outcome, run.summary) == ("cancelled", "cancelled by ann")


async def test_a_run_cancelled_before_its_first_step_is_finished(deck: Deck) -> None:
    """run_now and cancel in the same step of the event loop: on Python 3.11 the
    run's task never starts its body, and the run must still end, as cancelled.
    (From 3.12 a run's task starts eagerly: the body is at its first wait.)"""
    started = []

    async def body() -> None:
        started.append(True)
        await asyncio.Event().wait()

    deck.add(define_job("eager", "1h", body, first_delay_s=3600))
    await deck.start()

    await deck.run_now("eager")  # no await in between: the task has not stepped
    await deck.cancel("eager", Actor("ann"))
    job = await finished(deck, "eager")

    assert (job["status"], job["last_outcome"]) == ("idle", "cancelled")
    assert started == ([True] if sys.version_info >= (3, 12) else [])
    await deck.flush()
    (run,) = await deck.store.list_runs("eager", 5)
    assert (run.outcome, run.summary) == ("cancelled", "cancelled by ann")


async def test_cancelling_a_thread_run_tells_the_body_and_frees_its_thread(
    deck: Deck,
) -> None:
    inside, saw_cancel = threading.Event(), threading.Event()

    def cooperative(run: RunContext) -> None:
        inside.set()
        while not run.cancelled:
            time.sleep(0.01)
        saw_cancel.set()

    stuck = HeldBody()
    deck.add(define_job("polite", "1h", cooperative, first_delay_s=3600))
    deck.add(define_job("stuck-1", "1h", stuck, first_delay_s=3600))
    deck.add(define_job("stuck-2", "1h", stuck, first_delay_s=3600))
    deck.add(define_job("quick", "1h", lambda: "done", first_delay_s=3600))
    await deck.start()

    await deck.run_now("polite")
    await asyncio.to_thread(inside.wait, 5)  # a run cancelled sooner never starts
    await deck.cancel("polite")
    assert (await finished(deck, "polite"))["last_outcome"] == "cancelled"
    assert saw_cancel.wait(2)

    # Two hung bodies fill both threads; once given up, others still run.
    await deck.run_now("stuck-1")
    await deck.run_now("stuck-2")
    await stuck.until_entered(2)
    await deck.cancel("stuck-1")
    await deck.cancel("stuck-2")
    await deck.run_now("quick")
    quick = await finished(deck, "quick")
    inside = stuck.inside
    stuck.release.set()

    assert quick["last_outcome"] == "success"
    assert inside == 2  # quick ran while both hung bodies held their threads


async def test_a_body_that_cancels_its_own_task_is_an_error_not_a_shutdown(
    deck: Deck,
) -> None:
    async def body() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    deck.add(define_job("self-cancel", "1h", body, first_delay_s=3600))
    await deck.start()
    await deck.run_now("self-cancel")
    job = await finished(deck, "self-cancel")

    assert job["last_outcome"] == "error"
    assert "not by jobdeck" in job["last_error"]


async def test_a_run_cut_off_by_the_stop_is_interrupted(deck: Deck) -> None:
    deck.add(define_job("long", "1h", asyncio.Event().wait, first_delay_s=3600))
    await deck.start()
    await deck.run_now("long")
    await asyncio.sleep(0.01)

    await deck.stop(grace_s=0.05)
    (run,) = await deck.store.list_runs("long", 5)

    assert (run.outcome, run.error) == ("interrupted", STOPPED_REASON)


async def test_a_deck_started_again_after_a_stop_still_runs_thread_bodies(
    deck: Deck,
) -> None:
    deck.add(define_job("plain", "1h", lambda: "ran", first_delay_s=3600))
    await deck.start()
    await deck.stop(grace_s=0.1)

    await deck.start()
    await deck.run_now("plain")
    job = await finished(deck, "plain")

    assert (job["last_outcome"], job["last_error"]) == ("success", None)


class SlowToLoad(MemoryStore):
    async def load_jobs(self) -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return await super().load_jobs()


async def test_starting_a_started_deck_is_refused_and_changes_nothing(
    deck: Deck,
) -> None:
    deck.add(define_job("plain", "1h", lambda: "ran", first_delay_s=3600))
    await deck.start()
    tasks = list(deck._tasks)

    with pytest.raises(RuntimeError, match="already started"):
        await deck.start()
    again = Deck(store=SlowToLoad())  # two starts at once, the first not done
    first = asyncio.ensure_future(again.start())
    await asyncio.sleep(0.001)
    with pytest.raises(RuntimeError, match="already started"):
        await again.start()
    await first
    await again.stop()
    await deck.run_now("plain")
    job = await finished(deck, "plain")

    assert deck._tasks == tasks
    assert job["total_runs"] == 1


async def test_a_stop_asked_for_while_the_deck_starts_stops_what_it_started() -> None:
    """A signal in a server's start-up asks for the stop while the deck is still
    loading its jobs: the stop must not run first and leave the start to begin
    scheduling after it."""
    deck = Deck(store=SlowToLoad())
    deck.add(define_job("plain", "1h", lambda: "ran", first_delay_s=3600))
    starting = asyncio.ensure_future(deck.start())
    await asyncio.sleep(0.001)

    await deck.stop(grace_s=0.1)
    await starting

    assert not deck.running
    assert deck.scheduler_object()["running"] is False
    # and no task of the deck's is left (the suite's guard checks that too)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_cancelling_a_command_terminates_it(deck: Deck) -> None:
    deck.add(define_job("sleeper", "1h", command=["sleep", "30"], first_delay_s=3600))
    await deck.start()
    await deck.run_now("sleeper")
    await asyncio.sleep(0.2)

    began = time.monotonic()
    await deck.cancel("sleeper")
    job = await finished(deck, "sleeper")

    assert job["last_outcome"] == "cancelled"
    assert time.monotonic() - began < 2


async def test_cancel_of_a_job_that_is_not_running_is_a_conflict(deck: Deck) -> None:
    deck.add(define_job("idle", "1h", lambda: None, first_delay_s=3600))
    await deck.start()
    with pytest.raises(JobConflict, match="not running"):
        await deck.cancel("idle")


async def test_no_run_starts_beside_the_body_of_a_given_up_run(deck: Deck) -> None:
    """A thread cannot be stopped: a body that ignores its cancel goes on, and
    its job must not start a second body beside it (SPEC §3.2, never two runs
    of one job at once), by schedule or by hand, until it returns."""
    stubborn = HeldBody()  # never looks at run.cancelled
    deck.add(define_job("stubborn", "1s", stubborn, first_delay_s=0))
    await deck.start()
    await stubborn.until_entered()  # its first tick comes within a second
    await deck.cancel("stubborn")
    cancelled = await finished(deck, "stubborn")
    await asyncio.sleep(1.2)  # a tick falls while the given-up body runs

    with pytest.raises(JobConflict, match="still running, in its thread"):
        await deck.run_now("stubborn")
    waiting = deck.job_object("stubborn")
    stubborn.release.set()
    after = await no_longer_held(deck, "stubborn")
    await stubborn.until_entered(2)  # the next tick runs it again

    assert cancelled["last_outcome"] == "cancelled"
    assert waiting["why_not_running"]["reason"] == "given_up_body_running"
    assert waiting["skipped_count"] >= 1
    assert after["why_not_running"]["reason"] == "skipped"  # no longer held
    assert stubborn.most_inside == 1


class CatchesItsCancellation:
    """An async body that catches CancelledError and goes on, until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.cancellations = 0
        self.inside = 0
        self.most_inside = 0

    async def __call__(self) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            while not self.release.is_set():
                try:
                    await self.release.wait()
                except asyncio.CancelledError:
                    self.cancellations += 1
        finally:
            self.inside -= 1


async def start_a_run_that_catches_its_cancellation(
    deck: Deck,
) -> CatchesItsCancellation:
    deaf = CatchesItsCancellation()
    deck.add(define_job("deaf", "1h", deaf, first_delay_s=3600))
    await deck.start()
    await deck.run_now("deaf")
    await settle()
    return deaf


async def test_a_second_cancel_gives_up_an_async_body_that_caught_the_first(
    deck: Deck,
) -> None:
    """The first cancel is the body's to honour; the second ends the run, and the
    job, as after a thread body given up, runs again only once the body returns."""
    deaf = await start_a_run_that_catches_its_cancellation(deck)

    try:
        await deck.cancel("deaf", Actor("ann"))
        await settle()
        still = deck.job_object("deaf")
        await deck.cancel("deaf", Actor("ann"))
        given_up = deck.job_object("deaf")
        with pytest.raises(JobConflict, match="still running, in its thread or"):
            await deck.run_now("deaf")
    finally:
        deaf.release.set()
    await no_longer_held(deck, "deaf")
    await deck.run_now("deaf")
    again = await finished(deck, "deaf")
    await deck.flush()
    runs = await deck.store.list_runs("deaf", 5)

    assert still["status"] == "running" and deaf.cancellations >= 1
    assert (given_up["status"], given_up["last_outcome"]) == ("idle", "cancelled")
    assert given_up["why_not_running"]["reason"] == "given_up_body_running"
    assert again["last_outcome"] == "success"
    assert [run.outcome for run in runs] == ["success", "cancelled"]
    assert deaf.most_inside == 1


async def test_the_stop_ends_the_run_of_a_body_that_catches_its_cancellation(
    deck: Deck,
) -> None:
    deaf = await start_a_run_that_catches_its_cancellation(deck)

    try:
        await asyncio.wait_for(deck.stop(grace_s=0.1), timeout=10)
        (run,) = await deck.store.list_runs("deaf", 5)
    finally:
        deaf.release.set()  # or the test's own event loop would wait for it

    assert (run.outcome, run.error) == ("interrupted", STOPPED_REASON)


async def test_a_given_up_body_still_holds_its_job_after_a_restart(
    deck: Deck,
) -> None:
    """The deck's stop gives up bodies that outlast its grace; started again in
    the same process, it must still not run a second body beside one."""
    stubborn = HeldBody()
    deck.add(define_job("stubborn", "1h", stubborn, first_delay_s=3600))
    await deck.start()
    await deck.run_now("stubborn")
    await stubborn.until_entered()
    await deck.stop(grace_s=0.1)  # gives the body up
    await deck.start()

    with pytest.raises(JobConflict, match="still running, in its thread"):
        await deck.run_now("stubborn")
    stubborn.release.set()
    await no_longer_held(deck, "stubborn")
    await deck.run_now("stubborn")

    assert (await finished(deck, "stubborn"))["last_outcome"] == "success"


async def test_a_run_past_its_timeout_ends_as_timeout(deck: Deck) -> None:
    hang = threading.Event()
    deck.add(
        define_job("hangs", "1h", lambda: hang.wait(), timeout="1s", first_delay_s=3600)
    )
    deck.add(define_job("loops", "1h", command=["sleep", "30"], timeout="1s"))
    await deck.start()

    await deck.run_now("hangs")
    await deck.run_now("loops")
    hangs = await finished(deck, "hangs", within_s=4)
    loops = await finished(deck, "loops", within_s=4)
    hang.set()

    for job in (hangs, loops):
        assert (job["status"], job["last_outcome"], job["last_error"]) == (
            "error",
            "timeout",
            "timed out after 1s",
        )


async def test_the_deck_default_timeout_applies_to_jobs_without_one() -> None:
    deck = Deck(store=MemoryStore(), default_timeout_s=0.2)

    async def slow() -> None:
        await asyncio.sleep(5)

    deck.add(define_job("slow", "1h", slow, first_delay_s=3600))
    await deck.start()
    await deck.run_now("slow")
    job = await finished(deck, "slow")
    await deck.stop()
    assert job["last_error"] == "timed out after 0.2s"


async def test_a_run_far_longer_than_usual_is_flagged() -> None:
    clock = FakeClock()
    deck = Deck(store=MemoryStore(), clock=clock)
    lasting = [2.0, 2.0, 2.0, 60.0]

    async def body() -> None:
        end = clock.monotonic() + lasting.pop(0)
        while clock.monotonic() < end:
            await asyncio.sleep(0)

    deck.add(define_job("varies", "1h", body, first_delay_s=3600))
    await deck.start()
    for _ in range(3):
        await deck.run_now("varies")
        await clock.advance(3)

    await deck.run_now("varies")
    await clock.advance(9)
    assert deck.job_object("varies")["overrunning"] is False
    await clock.advance(4)  # past 5 × the usual ~2 s, and past the 10 s floor
    job = deck.job_object("varies")
    await deck.stop(grace_s=0.1)

    assert (job["status"], job["overrunning"]) == ("running", True)
    assert 2000 <= job["usual_duration_ms"] <= 2250  # the fake clock's 0.25 s steps

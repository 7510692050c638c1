"""What survives a restart (SPEC §3.2, §8; cases BC-12, BC-13), and a failing store
never holding up the schedule."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from jobdeck.deck import Actor, Deck
from jobdeck.errors import StoreError
from jobdeck.jobs import define_job
from jobdeck.status import iso
from jobdeck.store.memory import MemoryStore
from jobdeck.store.sql import SqlStore
from jobdeck.testing import FakeClock, settle


def make_deck(path: Path, clock: FakeClock, default_b: str = "1m") -> Deck:
    deck = Deck(store=SqlStore.sqlite_file(path), clock=clock, node="test")
    deck.add(define_job("a", "1m", lambda: None, first_delay_s=0))
    deck.add(define_job("b", default_b, lambda: None, first_delay_s=0))
    return deck


async def open_deck(deck: Deck) -> Deck:
    await deck.store.open()
    await deck.start()
    return deck


async def test_pause_and_interval_overrides_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    deck = await open_deck(make_deck(tmp_path / "db", clock))
    await deck.pause("a", Actor("ann"))
    await deck.set_interval("b", "5m", Actor("bob"))
    await deck.stop()
    await deck.store.close()

    # A redeploy whose code gives b another default keeps the runtime override.
    again = await open_deck(make_deck(tmp_path / "db", clock, default_b="1h"))
    a, b = again.job_object("a"), again.job_object("b")
    await again.stop()
    await again.store.close()

    assert (a["paused"], a["paused_by"], a["next_run_at"]) == (True, "ann", None)
    assert (b["interval"], b["default_interval"], b["interval_set_by"]) == (
        "5m",
        "1h",
        "bob",
    )


async def test_outcomes_survive_a_restart_to_the_millisecond(tmp_path: Path) -> None:
    clock = FakeClock()
    deck = make_deck(tmp_path / "db", clock)
    deck.add(define_job("c", "1m", _fail, first_delay_s=0))
    await open_deck(deck)
    await deck.run_now("c")
    for _ in range(100):
        if deck.job_object("c")["status"] == "error":
            break
        await asyncio.sleep(0.01)
    before = deck.job_object("c")
    await deck.stop()
    await deck.store.close()

    again = make_deck(tmp_path / "db", clock)
    again.add(define_job("c", "1m", _fail, first_delay_s=0))
    await open_deck(again)
    after = again.job_object("c")
    await again.stop()
    await again.store.close()

    fields = ("total_runs", "last_run_at", "last_error", "last_outcome", "status")
    assert [after[f] for f in fields] == [before[f] for f in fields]
    assert after["run_count"] == 0  # runs of this process only


async def test_a_run_cut_off_by_a_crash_is_interrupted_not_running(
    tmp_path: Path,
) -> None:
    """BC-13: the process dies mid-run; the next start shows no stale `running`."""
    clock = FakeClock()
    deck = make_deck(tmp_path / "db", clock)
    release = asyncio.Event()

    async def long_run() -> None:
        await release.wait()

    deck.add(define_job("long", "1h", long_run))
    await open_deck(deck)
    await deck.run_now("long")
    await deck.flush()
    # A crash: the process stops without finishing anything.
    await deck.store.close()

    again = make_deck(tmp_path / "db", clock)
    again.add(define_job("long", "1h", long_run))
    await open_deck(again)
    job = again.job_object("long")
    history = await again.store.list_runs("long", 10)
    await again.stop()
    await again.store.close()
    release.set()
    await deck.store.open()  # only to let the crashed deck's tasks end quietly
    await deck.stop(grace_s=0.1)
    await deck.store.close()

    assert job["status"] == "error"
    assert job["last_outcome"] == "interrupted"
    assert "interrupted" in (job["last_error"] or "")
    assert job["next_run_at"] is not None
    assert [r.outcome for r in history] == ["interrupted"]


async def test_ticks_missed_while_down_run_once_soon_after_start(
    tmp_path: Path,
) -> None:
    """BC-03 step 3: down for 10 intervals, one catch-up run, then the cadence."""
    clock = FakeClock()
    starts: list[float] = []
    deck = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock)
    deck.add(
        define_job("p", "1m", lambda: starts.append(clock.monotonic()), first_delay_s=0)
    )
    await open_deck(deck)
    await _advance_with_threads(clock, 2)
    await deck.stop()
    await deck.store.close()
    assert len(starts) == 1

    await clock.advance(600, step=60)  # the process is down for 10 minutes
    again = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock)
    again.add(
        define_job("p", "1m", lambda: starts.append(clock.monotonic()), first_delay_s=0)
    )
    await open_deck(again)
    restart = clock.monotonic()
    await _advance_with_threads(clock, 62)
    await again.stop()
    await again.store.close()

    after = [round(t - restart) for t in starts[1:]]
    assert len(after) == 2
    assert after[0] <= 1  # soon after start-up, once
    assert 60 <= after[1] - after[0] <= 62  # then one interval later


async def test_a_failing_store_delays_no_start_and_shows_on_the_status(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = MemoryStore()
    starts: list[float] = []

    async def probe() -> None:
        starts.append(clock.monotonic())

    deck = Deck(store=store, clock=clock)
    deck.add(define_job("p", "10s", probe, first_delay_s=0))
    await deck.start()
    await clock.advance(1)
    store.failing = StoreError("database error: disk I/O error")

    await clock.advance(30, step=0.5)
    status = deck.scheduler_object()
    store.failing = None
    await clock.advance(10, step=0.5)
    await asyncio.wait_for(deck.flush(), timeout=10)
    await deck.stop()

    gaps = [round(b - a, 1) for a, b in pairwise(starts)]
    assert gaps == [10.0] * 4
    assert (status["store_ok"], status["store_error"]) == (
        False,
        "database error: disk I/O error",
    )
    assert deck.scheduler_object()["store_ok"] is True
    assert len(store.runs) == 5  # nothing lost once the store came back


def _fail() -> None:
    raise ValueError("disk full on /data")


async def _advance_with_threads(clock: FakeClock, seconds: float) -> None:
    # Thread bodies finish in real time: give them a moment at each step.
    for _ in range(int(seconds * 4)):
        await clock.advance(0.25)
        await asyncio.sleep(0.005)
    await settle()


async def test_twenty_jobs_after_downtime_run_once_each(tmp_path: Path) -> None:
    """BC-03 step 4: 20 jobs at 1m, down for 10 minutes: one run each, not ten."""
    clock = FakeClock()
    starts: list[str] = []

    def deck_with_jobs() -> Deck:
        deck = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock)
        for i in range(20):
            name = f"job-{i}"
            deck.add(define_job(name, "1m", _recorder(starts, name), first_delay_s=0))
        return deck

    first = await open_deck(deck_with_jobs())
    await _advance_with_threads(clock, 2)
    await first.stop()
    await first.store.close()
    assert len(starts) == 20

    await clock.advance(600, step=60)
    again = await open_deck(deck_with_jobs())
    await _advance_with_threads(clock, 59)
    await again.stop()
    await again.store.close()

    assert len(starts) == 40
    assert sorted(starts[20:]) == sorted(f"job-{i}" for i in range(20))


def _recorder(starts: list[str], name: str) -> Callable[[], None]:
    return lambda: starts.append(name)


async def test_runs_a_crash_kept_from_the_job_rows_are_counted_at_start(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    deck = make_deck(tmp_path / "db", clock)
    deck.add(define_job("c", "1m", _fail, first_delay_s=0))
    await open_deck(deck)
    await _advance_with_threads(clock, 3)  # the first runs, written at once...
    await deck.flush()  # ...and their rows, as a clean stop would
    await _advance_with_threads(clock, 60)  # a second run of each, whose rows
    await _advance_with_threads(clock, 0.5)  # wait up to LATER_S; the runs do not
    before = {name: deck.job_object(name)["total_runs"] for name in ("a", "c")}
    await _crash(deck)

    again = make_deck(tmp_path / "db", clock)
    again.add(define_job("c", "1m", _fail, first_delay_s=0))
    await open_deck(again)
    after = {name: again.job_object(name) for name in ("a", "c")}
    history = await again.store.list_runs("c", 10)
    await _crash(again)

    assert before == {"a": 2, "c": 2}
    assert {name: job["total_runs"] for name, job in after.items()} == before
    assert after["c"]["last_outcome"] == "error"
    assert after["c"]["last_run_at"] == iso(history[0].started_at)


async def test_a_first_run_a_crash_kept_from_the_job_row_is_counted_at_start(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    deck = make_deck(tmp_path / "db", clock)
    await open_deck(deck)
    # The first runs, written at once; the rows that count them wait up to LATER_S.
    while 0 in (deck.job_object(n)["total_runs"] for n in ("a", "b")):
        await _advance_with_threads(clock, 0.25)
    await _finished_runs_stored(clock, deck, ("a", "b"))
    await _crash(deck)

    again = make_deck(tmp_path / "db", clock)
    await open_deck(again)
    after = {name: again.job_object(name) for name in ("a", "b")}
    await _crash(again)

    assert {name: job["total_runs"] for name, job in after.items()} == {
        "a": 1,
        "b": 1,
    }
    assert {job["last_outcome"] for job in after.values()} == {"success"}


async def test_a_process_that_does_not_schedule_leaves_open_runs_open(
    tmp_path: Path,
) -> None:
    """A second process on the same database (refused the lock) must not close
    the runs the scheduling one is running now."""
    clock = FakeClock()
    release = asyncio.Event()

    async def long_body() -> None:
        await release.wait()

    deck = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock, node="one")
    deck.add(define_job("long", "1h", long_body, first_delay_s=0))
    await open_deck(deck)
    await _advance_with_threads(clock, 0.5)
    await deck.flush()

    second = Deck(store=SqlStore.sqlite_file(tmp_path / "db"), clock=clock, node="two")
    second.add(define_job("long", "1h", long_body, first_delay_s=0))
    await second.store.open()
    await second.start(schedule=False, refusal="another process schedules")
    await second.stop()
    await second.store.close()

    open_runs = [r for r in await deck.store.list_runs("long", 10) if r.outcome is None]
    release.set()
    await deck.stop()
    await deck.store.close()
    assert len(open_runs) == 1


async def _finished_runs_stored(
    clock: FakeClock, deck: Deck, names: tuple[str, ...]
) -> None:
    """Wait until each job has a finished run in the store, the fake clock moving
    by the writer's batch window but far less than LATER_S: the writer's thread
    takes its own, real time."""
    for step in range(500):
        stored = [await deck.store.list_runs(name, 5) for name in names]
        if all(any(run.outcome for run in runs) for runs in stored):
            return
        if step < 10:
            await clock.advance(0.05)
        await asyncio.sleep(0.01)
    raise AssertionError("the runs were not written within 5 s")


async def _crash(deck: Deck) -> None:
    """End a deck as a killed process would: no flush, no clean stop."""
    for task in deck._tasks:
        task.cancel()
    await asyncio.gather(*deck._tasks, return_exceptions=True)
    await deck.store.close()
    await _sqlite_threads_ended()


async def _sqlite_threads_ended(within_s: float = 5) -> None:
    """A connection whose opening was cancelled is closed by aiosqlite's thread on
    its own, and the thread then reports to the loop: it must be done before the
    test's loop closes, where a killed process would just be gone."""
    deadline = time.monotonic() + within_s
    while any(
        thread.name.endswith("(_connection_worker_thread)")
        for thread in threading.enumerate()
    ):
        assert time.monotonic() < deadline, "an SQLite connection was left open"
        await asyncio.sleep(0.005)

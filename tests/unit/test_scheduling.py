"""The engine's rules of SPEC §3.1–§3.2 and cases BC-02, BC-03, BC-04, BC-07, on a
fake clock. Runs are counted from a ledger the probe job writes, not from jobdeck."""

from __future__ import annotations

import asyncio
import functools
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from jobdeck.deck import Actor, Deck
from jobdeck.errors import InvalidInterval, InvalidJob, JobConflict, JobNotFound
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.testing import FakeClock, settle


@dataclass
class Probe:
    """A job body that records each run's start on the fake clock, and can be told
    to last a while or to fail."""

    clock: FakeClock
    ledger: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    fail_with: BaseException | None = None

    async def __call__(self) -> str:
        self.ledger.append(self.clock.monotonic())
        if self.duration_s:
            end = self.clock.monotonic() + self.duration_s
            while self.clock.monotonic() < end:
                await asyncio.sleep(0)
        if self.fail_with is not None:
            raise self.fail_with
        return "probed"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def deck(clock: FakeClock) -> AsyncIterator[Deck]:
    deck = Deck(store=MemoryStore(), clock=clock, node="test")
    yield deck
    await deck.stop(grace_s=0.1)


def add_probe(deck: Deck, clock: FakeClock, name: str, interval: str) -> Probe:
    probe = Probe(clock)
    deck.add(define_job(name, interval, probe, first_delay_s=0.0))
    return probe


async def started(deck: Deck) -> Deck:
    await deck.start()
    await settle()
    return deck


def since(probe: Probe, start: float) -> list[float]:
    return [round(t - start, 3) for t in probe.ledger]


async def test_a_job_runs_on_its_interval(deck: Deck, clock: FakeClock) -> None:
    probe = add_probe(deck, clock, "probe", "30s")
    t0 = clock.monotonic()
    await started(deck)

    await clock.advance(95)

    first = probe.ledger[0] - t0
    assert 0 <= first <= 1.0  # the spread by name stays under a second
    assert since(probe, probe.ledger[0]) == [0, 30, 60, 90]
    assert deck.job_object("probe")["run_count"] == len(probe.ledger)


async def test_status_follows_the_priority_running_paused_error_idle(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "1h")
    await started(deck)
    assert deck.job_object("probe")["status"] == "idle"

    probe.duration_s, probe.fail_with = 10, RuntimeError("boom")
    await deck.run_now("probe")
    await deck.pause("probe")
    assert deck.job_object("probe")["status"] == "running"

    await clock.advance(11)
    job = deck.job_object("probe")
    assert job["status"] == "paused"
    assert job["last_error"] == "RuntimeError: boom"

    await deck.resume("probe")
    assert deck.job_object("probe")["status"] == "error"

    probe.duration_s, probe.fail_with = 0, None
    await deck.run_now("probe")
    await settle()
    job = deck.job_object("probe")
    assert (job["status"], job["last_error"], job["last_outcome"]) == (
        "idle",
        None,
        "success",
    )


async def test_run_now_refuses_a_second_copy_while_running(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "1h")
    probe.duration_s = 10
    await started(deck)

    await deck.run_now("probe")
    refused = 0
    for _ in range(20):
        try:
            await deck.run_now("probe")
        except JobConflict:
            refused += 1
    await clock.advance(11)

    assert refused == 20
    assert len(probe.ledger) == 1
    assert deck.job_object("probe")["run_count"] == 1


async def test_a_manual_run_never_overlaps_a_scheduled_one(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "10s")
    probe.duration_s = 4
    await started(deck)
    await clock.advance(1)  # the first scheduled run starts
    first = probe.ledger[0]

    await clock.advance(first + 9.5 - clock.monotonic())
    await deck.run_now("probe")  # 0.5 s before the next tick, lasting 4 s
    await clock.advance(10)

    starts = probe.ledger
    assert all(b - a >= 4 for a, b in pairwise(starts))
    assert deck.job_object("probe")["skipped_count"] == 1


async def test_run_now_while_paused_runs_once_and_stays_paused(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "30s")
    await started(deck)
    await deck.pause("probe")

    await deck.run_now("probe")
    await clock.advance(120)

    job = deck.job_object("probe")
    assert len(probe.ledger) == 1
    assert (job["status"], job["paused"], job["next_run_at"]) == ("paused", True, None)


async def test_a_manual_run_does_not_move_the_next_scheduled_run(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "1m")
    await started(deck)
    await clock.advance(5)
    before = deck.job_object("probe")["next_run_at"]

    await deck.run_now("probe")
    await settle()

    assert deck.job_object("probe")["next_run_at"] == before
    assert len(probe.ledger) == 2


async def test_pausing_twice_is_a_no_op_that_succeeds(
    deck: Deck, clock: FakeClock
) -> None:
    add_probe(deck, clock, "probe", "30s")
    await started(deck)

    first = await deck.pause("probe", Actor("ann"))
    second = await deck.pause("probe", Actor("bob"))

    assert first["paused"] and second["paused"]
    assert second["paused_by"] == "ann"


async def test_resume_before_the_due_time_keeps_the_cadence(
    deck: Deck, clock: FakeClock
) -> None:
    """BC-03 step 1: 1h job, paused at +30m, resumed at +40m: next run at +60m."""
    probe = add_probe(deck, clock, "probe", "1h")
    await started(deck)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]

    await clock.advance(30 * 60, step=60)
    await deck.pause("probe")
    await clock.advance(10 * 60, step=60)
    await deck.resume("probe")
    await clock.advance(25 * 60, step=60)

    assert since(probe, t0) == [0, 3600]


async def test_a_job_paused_across_a_restart_resumes_on_its_cadence(
    clock: FakeClock,
) -> None:
    """SPEC §3.2 "Resume" after a restart: the cadence comes from the stored last
    scheduled start, not from the moment of the resume."""
    store = MemoryStore()
    first = Deck(store=store, clock=clock, node="test")
    probe = add_probe(first, clock, "probe", "1h")
    await started(first)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]
    await first.pause("probe")
    await first.stop(grace_s=0.1)

    await clock.advance(30 * 60, step=60)  # down for half an hour
    second = Deck(store=store, clock=clock, node="test")
    second.add(define_job("probe", "1h", probe, first_delay_s=0.0))
    await started(second)
    await clock.advance(10 * 60, step=60)
    await second.resume("probe")
    await clock.advance(25 * 60, step=60)
    await second.stop(grace_s=0.1)

    assert since(probe, t0) == [0, 3600]


async def test_resume_after_missed_ticks_fires_no_catch_up_run(
    deck: Deck, clock: FakeClock
) -> None:
    """BC-03 step 2 under SPEC §3.2: 5m job paused from +1m to +17m: no run at
    resume, the next one on the cadence at +20m."""
    probe = add_probe(deck, clock, "probe", "5m")
    await started(deck)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]

    await clock.advance(60, step=5)
    await deck.pause("probe")
    await clock.advance(16 * 60, step=5)
    resumed = await deck.resume("probe")
    await clock.advance(2 * 60, step=5)
    assert since(probe, t0) == [0]

    await clock.advance(2 * 60, step=5)
    assert since(probe, t0) == [0, 1200]
    assert resumed["next_run_at"] is not None


async def test_resume_after_three_days_is_not_a_burst(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "1m")
    await started(deck)
    await clock.advance(1, step=1)
    await deck.pause("probe")
    await clock.advance(3 * 86400, step=3600)

    await deck.resume("probe")
    await clock.advance(30, step=1)
    assert len(probe.ledger) == 1  # nothing at the moment of resuming
    await clock.advance(31, step=1)
    assert len(probe.ledger) == 2  # then one run, on the cadence


async def test_resume_of_a_job_that_never_ran_waits_one_interval(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "10m")
    await started(deck)
    await deck.pause("probe")
    await clock.advance(120, step=5)

    await deck.resume("probe")
    await clock.advance(599, step=5)
    assert probe.ledger == []
    await clock.advance(2, step=1)
    assert len(probe.ledger) == 1


async def test_editing_a_paused_job_keeps_it_paused_and_moves_no_other_job(
    deck: Deck, clock: FakeClock
) -> None:
    """BC-02 steps 1-5."""
    a = add_probe(deck, clock, "a", "30s")
    b = add_probe(deck, clock, "b", "30s")
    await started(deck)
    await clock.advance(1, step=1)
    await deck.pause("a")
    b_next = deck.job_object("b")["next_run_at"]

    for value in ("1h", "30s", "5m"):
        job = await deck.set_interval("a", value)
        assert (job["status"], job["paused"], job["next_run_at"]) == (
            "paused",
            True,
            None,
        )
    assert deck.job_object("b")["next_run_at"] == b_next

    runs_of_a = len(a.ledger)
    await clock.advance(120, step=1)
    assert len(a.ledger) == runs_of_a
    assert len(b.ledger) == 1 + 4
    assert since(b, b.ledger[0]) == [0, 30, 60, 90, 120]

    await deck.run_now("a")
    await settle()
    assert len(a.ledger) == runs_of_a + 1
    assert deck.job_object("a")["status"] == "paused"

    job = await deck.resume("a")
    assert job["interval"] == "5m"
    last_start = a.ledger[0]
    await clock.advance(5 * 60, step=1)
    assert round(a.ledger[-1] - last_start) == 300  # cadence with the new interval


async def test_changing_the_interval_while_running_does_not_cancel_the_run(
    deck: Deck, clock: FakeClock
) -> None:
    """BC-02 step 6."""
    probe = add_probe(deck, clock, "probe", "30s")
    probe.duration_s = 20
    await started(deck)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]

    await clock.advance(5, step=1)
    job = await deck.set_interval("probe", "1m")
    assert job["status"] == "running"
    await clock.advance(16, step=1)
    job = deck.job_object("probe")
    assert (job["status"], job["last_outcome"]) == ("idle", "success")

    await clock.advance(60, step=1)
    assert since(probe, t0) == [0, 60]


async def test_a_shorter_interval_takes_effect_from_the_last_run(
    deck: Deck, clock: FakeClock
) -> None:
    """BC-04 steps 1-3: 1h job switched to 30s, then back to 1h."""
    probe = add_probe(deck, clock, "probe", "1h")
    await started(deck)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]

    await clock.advance(10, step=1)
    job = await deck.set_interval("probe", "30s")
    assert job["interval"] == "30s"
    await clock.advance(180, step=1)
    spacing = {round(b - a) for a, b in pairwise(probe.ledger)}
    assert spacing == {30}
    assert len(probe.ledger) == 6 + 1  # t0 and 30 s steps to t0+190 s

    count = len(probe.ledger)
    last = probe.ledger[-1]
    job = await deck.set_interval("probe", "1h")
    await clock.advance(180, step=1)
    assert len(probe.ledger) == count
    next_due = deck.state("probe").next_due
    assert next_due is not None
    assert abs(next_due - last - 3600) <= 1  # within the fake clock's 1 s step
    assert since(probe, t0)[0] == 0


async def test_an_interval_whose_next_run_is_past_runs_promptly(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "1h")
    await started(deck)
    await clock.advance(1, step=1)
    await clock.advance(120, step=1)

    await deck.set_interval("probe", "1m")
    await clock.advance(0.5)

    assert len(probe.ledger) == 2


async def test_the_interval_can_be_reset_to_the_default(
    deck: Deck, clock: FakeClock
) -> None:
    add_probe(deck, clock, "probe", "1h")
    await started(deck)

    job = await deck.set_interval("probe", " 90m ")
    assert (job["interval"], job["default_interval"], job["interval_overridden"]) == (
        "1h30m",
        "1h",
        True,
    )
    job = await deck.reset_interval("probe")
    assert (job["interval"], job["interval_overridden"]) == ("1h", False)


@pytest.mark.parametrize("bad", ["0s", "-5m", "5M", "5", "1.5h", "", None, 30])
async def test_a_refused_interval_changes_nothing(
    deck: Deck, clock: FakeClock, bad: object
) -> None:
    """BC-05: the previous interval, state and next run are unchanged."""
    add_probe(deck, clock, "probe", "1h")
    await started(deck)
    before = deck.job_object("probe")

    with pytest.raises(InvalidInterval):
        await deck.set_interval("probe", bad)

    assert deck.job_object("probe") == before


async def test_a_tick_that_falls_during_a_run_is_skipped_and_recorded(
    deck: Deck, clock: FakeClock
) -> None:
    probe = add_probe(deck, clock, "probe", "30s")
    probe.duration_s = 75
    await started(deck)
    await clock.advance(1, step=1)
    t0 = probe.ledger[0]

    await clock.advance(200, step=1)
    await deck.flush()

    assert since(probe, t0) == [0, 90, 180]
    job = deck.job_object("probe")
    assert job["skipped_count"] == 4
    history = await deck.store.list_runs("probe", limit=50)
    skipped = [run for run in history if run.outcome == "skipped"]
    assert len(skipped) == 4
    assert all("still running since" in (run.reason or "") for run in skipped)


async def test_unknown_jobs_are_not_found(deck: Deck) -> None:
    await deck.start()
    with pytest.raises(JobNotFound):
        await deck.pause("nope")


@pytest.mark.parametrize("jump_s", [3600.0, -3600.0])
async def test_a_wall_clock_jump_neither_bursts_nor_stalls(
    deck: Deck, clock: FakeClock, jump_s: float
) -> None:
    probe = add_probe(deck, clock, "probe", "10s")
    await started(deck)
    await clock.advance(1, step=0.5)

    clock.jump_wall(jump_s)
    await clock.advance(40, step=0.5)

    gaps = [round(b - a, 1) for a, b in pairwise(probe.ledger)]
    assert gaps == [10.0] * 4
    next_run = deck.job_object("probe")["next_run_at"]
    assert next_run is not None
    shown = datetime.fromisoformat(next_run)
    assert abs((shown - clock.now()).total_seconds()) <= 10  # shown on the new wall


@pytest.mark.parametrize("jitter_s, most_s", [(4.0, 4.0), (30.0, 5.0)])
async def test_jitter_delays_each_tick_at_random_without_drift(
    deck: Deck, clock: FakeClock, jitter_s: float, most_s: float
) -> None:
    """SPEC §3 `jitter`: each scheduled start comes up to `jitter` after its
    cadence's time, at most half the interval, and the cadence never drifts."""
    probe = Probe(clock)
    deck.add(define_job("spread", "10s", probe, first_delay_s=0, jitter_s=jitter_s))
    t0 = clock.monotonic()
    await started(deck)
    await clock.advance(200, step=0.05)

    spread = (zlib.crc32(b"spread") % 1000) / 1000  # the first tick's, by name
    delays = [start - (t0 + spread + 10 * k) for k, start in enumerate(probe.ledger)]
    assert len(delays) == 20
    assert all(-0.01 <= delay <= most_s + 0.06 for delay in delays), delays
    assert len({round(delay, 1) for delay in delays}) > 5  # at random, not fixed


def test_a_negative_jitter_is_refused() -> None:
    with pytest.raises(InvalidJob, match="jitter"):
        define_job("spread", "10s", _quick, jitter_s=-1)


def _two(a: object, b: object) -> None: ...


def _two_with_a_default(a: object, b: object = 1) -> None: ...


def _keyword(*, k: object) -> None: ...


class _NeedsTwo:
    def __call__(self, a: object, b: object) -> None: ...


class _TakesTheContext:
    async def __call__(self, run: object) -> None: ...


@pytest.mark.parametrize("body", [_two, _keyword, _NeedsTwo()])
def test_a_body_that_needs_more_than_its_context_is_refused_where_defined(
    body: Any,
) -> None:
    """It would fail at every run, with a TypeError, hours after the start."""
    with pytest.raises(InvalidJob, match="needs more arguments than a job's body"):
        define_job("greedy", "1h", body)


@pytest.mark.parametrize(
    "body",
    [_two_with_a_default, functools.partial(_two, 1), _TakesTheContext(), print],
)
def test_a_body_callable_with_nothing_or_its_context_is_taken(body: Any) -> None:
    define_job("modest", "1h", body)


async def _quick() -> None:
    pass


@pytest.mark.parametrize(
    "start, lasting_h, jobs",
    [
        # Spring: 2027-03-28 02:00 CET becomes 03:00 CEST (01:00Z).
        (datetime(2027, 3, 27, 10, 59, 59, tzinfo=UTC), 26, {"1d": 86400, "1h": 3600}),
        # Autumn: 2027-10-31 03:00 CEST becomes 02:00 CET again (01:00Z).
        (datetime(2027, 10, 30, 21, 59, 59, tzinfo=UTC), 6, {"1h": 3600, "30m": 1800}),
    ],
)
async def test_intervals_are_elapsed_time_across_daylight_saving_changes(
    monkeypatch: pytest.MonkeyPatch,
    start: datetime,
    lasting_h: int,
    jobs: dict[str, int],
) -> None:
    """Case BC-15, on a server in Europe/Berlin: runs come exactly one interval
    apart in UTC, none lost in the missing hour nor doubled in the repeated one,
    and `1d` is 24 h (13:00 CEST after 12:00 CET), as docs/behaviour.md says."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    clock = FakeClock(start)
    deck = Deck(store=MemoryStore(), clock=clock, node="test")
    for interval in jobs:
        deck.add(define_job(f"every-{interval}", interval, _quick, first_delay_s=0))
    await started(deck)
    try:
        await clock.advance(lasting_h * 3600, step=30)
        starts = {
            interval: sorted(
                run.started_at
                for run in await deck.store.list_runs(f"every-{interval}", 100)
            )
            for interval in jobs
        }
        next_runs = [deck.job_object(f"every-{i}")["next_run_at"] for i in jobs]
    finally:
        await deck.stop(grace_s=0.1)
        monkeypatch.undo()
        time.tzset()

    for interval, seconds in jobs.items():
        gaps = {(b - a).total_seconds() for a, b in pairwise(starts[interval])}
        assert gaps == {seconds}, interval
        # The first run comes at the clock's first step, 30 s in; then one a gap.
        runs_due = (lasting_h * 3600 - 30) // seconds + 1
        assert len(starts[interval]) == runs_due, interval
    if "1d" in jobs:  # 13:00 CEST, within the clock's 30 s steps
        after_24h = starts["1d"][1] - datetime(2027, 3, 28, 11, 0, tzinfo=UTC)
        assert 0 <= after_24h.total_seconds() < 31
    assert all(shown.endswith("Z") for shown in next_runs)


async def test_jobs_registered_together_start_spread_out(
    deck: Deck, clock: FakeClock
) -> None:
    probes = [add_probe(deck, clock, f"job-{i}", "1h") for i in range(50)]
    await started(deck)
    await clock.advance(1.5, step=0.01)

    starts = sorted(p.ledger[0] for p in probes)
    assert len({round(t, 2) for t in starts}) > 25  # not all in the same instant
    assert max(starts) - min(starts) <= 1.0


# Controls a body applies before its first wait. From Python 3.12 that first step
# runs inside the deck's step that starts the run (the task starts eagerly); each
# control must hold as it does on 3.11, where the first step comes later.


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


async def test_the_first_scheduled_run_already_reports_its_lateness(
    deck: Deck, clock: FakeClock
) -> None:
    """Not only from the second: for a daily job, that would leave the metric
    empty for a day after every start."""
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    from jobdeck.metrics import DeckCollector

    probe = add_probe(deck, clock, "probe", "1d")
    await started(deck)
    await clock.advance(1)
    registry = CollectorRegistry()
    registry.register(DeckCollector(deck))

    assert len(probe.ledger) == 1
    assert (
        'jobdeck_job_lateness_seconds{job="probe"}'
        in generate_latest(registry).decode()
    )

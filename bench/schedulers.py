"""One scheduler scenario in this process: N jobs at a 1 s interval whose bodies only
record when they started. Prints one JSON line of measurements.

    python bench/schedulers.py --impl jobdeck --jobs 10000 --body async
    python bench/schedulers.py --impl apscheduler --jobs 100000 --register-only

Lateness is the start time the body records minus the time its tick was due. Both
schedulers get the same spread of first runs over one second, so every later tick of
job i is due at phase_i + k seconds, measured on the monotonic clock.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
FIRST_DELAY_S = 3.0


def tune_gc() -> None:
    """With BENCH_GC_TUNED=1, both schedulers run with the objects made at start-up
    frozen out of the collector (as `jobdeck serve` does) and a larger first
    generation, to see how much of the cost is the garbage collector's."""
    if os.environ.get("BENCH_GC_TUNED"):
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def steal_seconds() -> float:
    """CPU time the hypervisor gave to other guests while this machine wanted it,
    summed over its cores (Linux only; 0 elsewhere). A window with much of it was
    measured on a slower machine than one without."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


class Recorder:
    """Start times by job index, kept as flat lists to stay cheap and small."""

    def __init__(self) -> None:
        self.jobs: list[int] = []
        self.times: list[float] = []

    def body(self, index: int, kind: str) -> Callable[..., Any]:
        jobs, times, clock = self.jobs.append, self.times.append, time.monotonic

        if kind == "async":

            async def record_async() -> None:
                times(clock())
                jobs(index)

            return record_async

        def record_sync() -> None:
            times(clock())
            jobs(index)

        return record_sync


def made_before_timing(recorder: Recorder, args: argparse.Namespace) -> list[Any]:
    """The job bodies, made before registration is timed and memory measured:
    they are the application's, not the scheduler's, for both schedulers alike."""
    bodies = [recorder.body(index, args.body) for index in range(args.jobs)]
    gc.collect()
    return bodies


async def run_jobdeck(args: argparse.Namespace, recorder: Recorder) -> dict[str, Any]:
    from jobdeck import Deck, MemoryStore, SqlStore, define_job

    folder = tempfile.mkdtemp(prefix="jobdeck-bench-")
    database = Path(folder) / "bench.sqlite3"
    in_memory = bool(os.environ.get("BENCH_MEMORY"))
    store = MemoryStore() if in_memory else SqlStore.sqlite_file(database)
    await store.open()
    deck = Deck(store=store, node="bench")
    bodies = made_before_timing(recorder, args)
    baseline = rss_bytes()

    began = time.perf_counter()
    for index, body in enumerate(bodies):
        deck.add(define_job(f"job-{index}", "1s", body, first_delay_s=FIRST_DELAY_S))
    await deck.start()
    registered_s = time.perf_counter() - began

    gc.collect()
    per_job = (rss_bytes() - baseline) / args.jobs
    phases = [deck.state(f"job-{i}").next_due or math.nan for i in range(args.jobs)]
    tune_gc()

    async def stop() -> int | None:
        """Stop, and count the runs the store holds: a figure measured while
        the writes were failing (the writer retries quietly, at a pause) would
        look cheap, so the bench reports what was written."""
        await deck.stop()
        await store.close()
        if in_memory:
            return None
        with sqlite3.connect(database) as db:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])

    return {"registered_s": registered_s, "rss_per_job": per_job, "phases": phases,
            "stop": stop}  # fmt: skip


async def run_apscheduler(
    args: argparse.Namespace, recorder: Recorder
) -> dict[str, Any]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler()
    bodies = made_before_timing(recorder, args)
    baseline = rss_bytes()

    began = time.perf_counter()
    wall, mono = datetime.now().astimezone(), time.monotonic()
    phases = []
    for index, body in enumerate(bodies):
        offset = FIRST_DELAY_S + index / args.jobs  # the same one-second spread
        scheduler.add_job(
            body,
            "interval",
            seconds=1,
            next_run_time=wall + timedelta(seconds=offset),
            id=f"job-{index}",
        )
        phases.append(mono + offset)
    scheduler.start()
    registered_s = time.perf_counter() - began
    tune_gc()

    gc.collect()
    per_job = (rss_bytes() - baseline) / args.jobs

    async def stop() -> None:
        scheduler.shutdown(wait=False)

    return {"registered_s": registered_s, "rss_per_job": per_job, "phases": phases,
            "stop": stop}  # fmt: skip


async def run_floor(args: argparse.Namespace, recorder: Recorder) -> dict[str, Any]:
    """The floor of bench/floor.py, writing to a store jobdeck created, so that
    its rows go to the very table, with the very indexes, jobdeck's go to."""
    if args.body != "async":
        raise SystemExit("the floor runs async bodies only")
    from floor import FloorScheduler

    from jobdeck import SqlStore

    database = Path(tempfile.mkdtemp(prefix="jobdeck-floor-")) / "bench.sqlite3"
    store = SqlStore.sqlite_file(database)
    await store.open()
    await store.close()
    bodies = made_before_timing(recorder, args)
    baseline = rss_bytes()

    began = time.perf_counter()
    scheduler = FloorScheduler(database)
    start, phases = time.monotonic(), []
    for index, body in enumerate(bodies):
        phases.append(start + FIRST_DELAY_S + index / args.jobs)
        scheduler.add(f"job-{index}", body, 1.0, phases[-1])
    scheduler.start()
    registered_s = time.perf_counter() - began

    gc.collect()
    per_job = (rss_bytes() - baseline) / args.jobs
    tune_gc()
    return {"registered_s": registered_s, "rss_per_job": per_job, "phases": phases,
            "stop": scheduler.stop}  # fmt: skip


def lateness_ms(recorder: Recorder, phases: list[float], since: float) -> list[float]:
    """Each run against its own tick: a job's k-th run (from 0) is due k seconds
    after its first. (Taking the second nearest to the start instead would show a
    scheduler that falls a whole second behind as on time.) A skipped tick would
    count the runs after it as a second late; the bodies here never overlap, and
    `runs` shows any shortfall."""
    ticks = [0] * len(phases)
    found = []
    for index, started in zip(recorder.jobs, recorder.times, strict=True):
        tick = ticks[index]
        ticks[index] = tick + 1
        if started >= since:
            found.append((started - phases[index] - tick) * 1000)
    return found


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def scenario(args: argparse.Namespace) -> dict[str, Any]:
    recorder = Recorder()
    start = {"jobdeck": run_jobdeck, "apscheduler": run_apscheduler,
             "floor": run_floor}[args.impl]  # fmt: skip
    setup = await start(args, recorder)
    result: dict[str, Any] = {
        "impl": args.impl, "jobs": args.jobs, "body": args.body,
        "register_s": round(setup["registered_s"], 3),
        "rss_per_job_b": round(setup["rss_per_job"]),
    }  # fmt: skip
    if args.register_only:
        await setup["stop"]()
        return result

    await asyncio.sleep(FIRST_DELAY_S + args.warmup)
    window_start, cpu_start = time.monotonic(), cpu_seconds()
    steal_start = steal_seconds()
    await asyncio.sleep(args.seconds)
    cpu = cpu_seconds() - cpu_start
    steal = steal_seconds() - steal_start
    window_end = time.monotonic()
    written = await setup["stop"]()

    late = lateness_ms(recorder, setup["phases"], window_start)
    runs = sum(1 for t in recorder.times if window_start <= t < window_end)
    result.update(
        runs=runs,
        # The window can run long when the loop is saturated: expect runs for the
        # window as it was, not as asked.
        expected_runs=round(args.jobs * (window_end - window_start)),
        late_p50_ms=round(statistics.median(late), 3),
        late_p99_ms=round(percentile(late, 0.99), 3),
        late_max_ms=round(max(late), 3),
        cpu_pct=round(100 * cpu / (window_end - window_start), 1),
        cpu_us_per_run=round(1e6 * cpu / max(runs, 1), 2),
        steal_pct=round(100 * steal / (window_end - window_start), 1),
    )
    if written is not None:
        result["runs_not_written"] = len(recorder.times) - written
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    implementations = ["jobdeck", "apscheduler", "floor"]
    parser.add_argument("--impl", choices=implementations, required=True)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--body", choices=["async", "sync"], default="async")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--register-only", action="store_true")
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    print(json.dumps(asyncio.run(scenario(args))))


if __name__ == "__main__":
    main()

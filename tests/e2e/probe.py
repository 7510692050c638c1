"""The `probe` job of ../shared/cases: it appends one row per execution to a ledger
that jobdeck does not manage, so that runs can be counted independently."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from itertools import pairwise
from pathlib import Path

from jobdeck import RunContext


def record(context: RunContext) -> str:
    ledger = Path(os.environ["JOBDECK_TEST_LEDGER"])
    with ledger.open("a") as file:
        file.write(f"{context.job_name} {time.time():.6f} {os.getpid()}\n")
    return "recorded"


def ledger_counts(ledger: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if ledger.exists():
        for line in ledger.read_text().splitlines():
            name = line.split()[0]
            counts[name] = counts.get(name, 0) + 1
    return counts


def ledger_starts(
    ledger: Path, name: str, since: float = 0.0, until: float = float("inf")
) -> list[float]:
    """Start times of one job's executions in [since, until)."""
    rows = (line.split() for line in ledger.read_text().splitlines())
    return [
        float(start)
        for job, start, _ in rows
        if job == name and since <= float(start) < until
    ]


def ledger_gaps(ledger: Path, name: str, since: float = 0.0) -> list[float]:
    """Seconds between consecutive starts of one job, from `since` on."""
    starts = ledger_starts(ledger, name, since)
    return [round(b - a, 3) for a, b in pairwise(starts)]


def hang_in_thread() -> None:
    """A plain body that never returns in any reasonable time."""
    time.sleep(600)


async def sleep_async() -> None:
    await asyncio.sleep(600)


async def catch_cancellation() -> None:
    """Misbehaves: catches every cancellation and goes on waiting."""
    while True:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(600)

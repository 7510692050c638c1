"""Worker threads: results and errors come back on the loop; a given-up thread
frees its place; outcomes that arrive together are settled in one loop step."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from jobdeck.threads import WorkerThreads
from tests.held import HeldBody


async def test_results_and_exceptions_come_back() -> None:
    threads = WorkerThreads(max_threads=2)

    assert await threads.run(lambda x: x * 2, (21,)) == 42
    with pytest.raises(SystemExit):
        await threads.run(lambda: (_ for _ in ()).throw(SystemExit(3)), ())
    threads.shutdown()


async def test_no_more_threads_than_the_limit_run_at_once() -> None:
    threads = WorkerThreads(max_threads=3)
    lock = threading.Lock()
    running = peak = 0

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    await asyncio.gather(*(threads.run(work, ()) for _ in range(30)))
    threads.shutdown()
    assert peak == 3


async def test_an_abandoned_hung_thread_does_not_starve_the_others() -> None:
    threads = WorkerThreads(max_threads=1)
    hang = HeldBody()
    hung = threads.run(hang, ())
    await hang.until_entered()

    threads.abandon(hung)
    hung.cancel()
    result = await asyncio.wait_for(threads.run(lambda: "still served", ()), 5)

    assert result == "still served"
    assert threads.abandoned_count == 1
    hang.release.set()
    threads.shutdown()


async def test_work_queued_behind_hung_bodies_runs_once_they_are_given_up() -> None:
    """Every thread is in a hung body and more work waits; when the hung runs
    are given up, the waiting work must not wait for their bodies to end."""
    threads = WorkerThreads(max_threads=2)
    hang = HeldBody()
    hung = [threads.run(hang, ()) for _ in range(2)]
    await hang.until_entered(2)
    waiting = threads.run(lambda: "served", ())

    for future in hung:
        threads.abandon(future)
        future.cancel()

    assert await asyncio.wait_for(waiting, 5) == "served"
    assert hang.inside == 2
    hang.release.set()
    threads.shutdown()


async def test_the_threads_are_daemons_so_they_never_block_exit() -> None:
    threads = WorkerThreads()
    assert await threads.run(lambda: threading.current_thread().daemon, ()) is True
    threads.shutdown()


async def test_outcomes_that_come_back_together_wake_the_loop_once() -> None:
    threads = WorkerThreads(max_threads=4)
    wakes = 0
    loop = asyncio.get_running_loop()
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(*args: object) -> asyncio.Handle:
        nonlocal wakes
        wakes += 1
        return call_soon_threadsafe(*args)  # type: ignore[arg-type]

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
    try:
        # The loop is kept busy while 100 quick bodies finish in the threads.
        futures = [threads.run(lambda i=i: i, ()) for i in range(100)]
        time.sleep(0.2)
        values = await asyncio.gather(*futures)
    finally:
        loop.call_soon_threadsafe = call_soon_threadsafe  # type: ignore[method-assign]
        threads.shutdown()

    assert values == list(range(100))
    assert wakes == 1


async def test_a_body_given_up_before_it_starts_never_runs() -> None:
    threads = WorkerThreads(max_threads=1)
    hang = threading.Event()
    first = threads.run(hang.wait, ())
    ran = threading.Event()
    second = threads.run(ran.set, ())

    second.cancel()
    hang.set()
    await first
    await asyncio.sleep(0.05)

    assert not ran.is_set()
    threads.shutdown()

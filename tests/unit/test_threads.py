"""Worker threads: results and errors come back; a given-up thread frees its place."""

from __future__ import annotations

import threading
import time

import pytest

from jobdeck.threads import WorkerThreads


def test_results_and_exceptions_come_back() -> None:
    threads = WorkerThreads(max_threads=2)
    assert threads.submit(lambda x: x * 2, 21).result(timeout=5) == 42
    with pytest.raises(SystemExit):
        threads.submit(lambda: (_ for _ in ()).throw(SystemExit(3))).result(timeout=5)
    threads.shutdown()


def test_no_more_threads_than_the_limit_run_at_once() -> None:
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

    futures = [threads.submit(work) for _ in range(30)]
    for future in futures:
        future.result(timeout=5)
    threads.shutdown()
    assert peak == 3


def test_an_abandoned_hung_thread_does_not_starve_the_others() -> None:
    threads = WorkerThreads(max_threads=1)
    hang = threading.Event()
    hung = threads.submit(hang.wait)
    time.sleep(0.05)

    threads.abandon(hung)
    result = threads.submit(lambda: "still served").result(timeout=5)

    assert result == "still served"
    assert threads.abandoned_count == 1
    hang.set()
    hung.result(timeout=5)
    threads.shutdown()


def test_the_threads_are_daemons_so_they_never_block_exit() -> None:
    threads = WorkerThreads()
    names = threads.submit(lambda: threading.current_thread().daemon)
    assert names.result(timeout=5) is True
    threads.shutdown()

"""Worker threads for plain-function job bodies.

Unlike the standard ThreadPoolExecutor, a thread here never holds up the process's
exit (the threads are daemons), and a thread whose run was given up (cancelled or
timed out while its body still runs) stops counting against the limit, so that a
hung body never starves the other jobs. It finishes, or not, on its own.

A body's outcome goes back to the event loop without a concurrent Future: the
thread puts it on a queue of outcomes and wakes the loop only if no wake-up is
pending, and the loop settles every outcome queued by then in one step. At ten
thousand short bodies a second the standard hand-off (a Future with its lock and
condition, chained to an asyncio future by two callbacks, one loop wake-up each)
made objects enough that the collector's full passes (60-80 ms each) came round
every three seconds.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

# Python's own default for a thread pool. More threads than this help only bodies
# that block (on I/O, say), and cost every short body dearly: at 10,000 sync runs a
# second, 32 threads waking in turn for the GIL left a sixth of the runs behind,
# where 6 threads kept up.
DEFAULT_MAX_THREADS = min(32, (os.cpu_count() or 1) + 4)

_Work = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...], str | None]
# A body's outcome: its future, its value or the exception it raised, its key.
_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None, str | None]
_STOP = None


class Bodies:
    """Bodies started and not yet returned, by key (a job's name), given-up ones
    included: a job must not start a body beside its own. Shared by the pools a
    deck has had, since a body given up before a stop may still run after it.
    The deck enters here too the async bodies it gives up (Deck._give_up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[str, int] = {}

    def running(self, key: str) -> int:
        return self._count.get(key, 0)

    def enter(self, key: str) -> None:
        with self._lock:
            self._count[key] = self._count.get(key, 0) + 1

    def leave(self, key: str) -> None:
        with self._lock:
            left = self._count[key] - 1
            if left:
                self._count[key] = left
            else:
                del self._count[key]


class WorkerThreads:
    def __init__(
        self,
        max_threads: int = DEFAULT_MAX_THREADS,
        on_given_up_end: Callable[[str], None] | None = None,
        bodies: Bodies | None = None,
    ) -> None:
        self.max_threads = max_threads
        self.bodies = bodies or Bodies()
        # Called on the loop with its key when a given-up body returns at last.
        self.on_given_up_end = on_given_up_end
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._counted = 0  # live threads that count against the limit
        self._idle = 0
        # Work put on the queue when every thread was busy, which the next thread
        # to come free (or a thread started in a given-up one's place) will take.
        self._waiting = 0
        self._running: dict[asyncio.Future[Any], threading.Thread] = {}
        self._abandoned: set[threading.Thread] = set()
        self._closed = False
        self._outcomes: deque[_Outcome] = deque()
        self._settle_pending = False

    @property
    def abandoned_count(self) -> int:
        return len(self._abandoned)

    def run(
        self, fn: Callable[..., Any], args: tuple[Any, ...], key: str | None = None
    ) -> asyncio.Future[Any]:
        """`fn(*args)` in a worker thread; its value or exception comes back in
        the future, on the running loop. `key` names whose body it is (see
        Bodies)."""
        if self._closed:
            raise RuntimeError("the worker threads are shut down")
        future = asyncio.get_running_loop().create_future()
        self._work.put((future, fn, args, key))
        with self._lock:
            if self._idle:
                self._idle -= 1  # that idle thread will take this work
            elif self._counted < self.max_threads:
                self._start_thread()
            else:
                self._waiting += 1
        return future

    def abandon(self, future: asyncio.Future[Any]) -> None:
        """Stop counting the thread that runs `future`: its run was given up.
        Work waiting for a thread gets a new one in its place."""
        with self._lock:
            thread = self._running.get(future)
            if thread is not None and thread not in self._abandoned:
                self._abandoned.add(thread)
                self._counted -= 1
                if self._waiting:
                    self._waiting -= 1
                    self._start_thread()

    def shutdown(self) -> None:
        """Take no more work, drop what has not started, and let idle threads go."""
        self._closed = True
        while True:
            try:
                work = self._work.get_nowait()
            except queue.Empty:
                break
            if work is not None:
                work[0].cancel()
        for _ in range(self._counted):
            self._work.put(_STOP)

    def _start_thread(self) -> None:
        self._counted += 1
        thread = threading.Thread(target=self._serve, name="jobdeck-run", daemon=True)
        thread.start()

    def _serve(self) -> None:
        me = threading.current_thread()
        while me not in self._abandoned:
            work = self._work.get()
            if work is _STOP:
                break
            self._run(me, work)
        self._leave(me)

    def _run(self, me: threading.Thread, work: _Work) -> None:
        future, fn, args, key = work
        with self._lock:
            # Under the lock abandon() takes: a run given up before this point
            # has its future cancelled already and is skipped; one given up
            # after finds this thread to let go of.
            starting = not future.cancelled()
            if starting:
                self._running[future] = me
                if key is not None:
                    self.bodies.enter(key)
        outcome = self._call(future, fn, args, key) if starting else None
        with self._lock:
            if starting:
                del self._running[future]
                if key is not None:
                    self.bodies.leave(key)
            if me not in self._abandoned:
                if self._waiting:
                    self._waiting -= 1  # it takes waiting work next
                else:
                    self._idle += 1
        if outcome is not None:
            self._hand_back(outcome)

    @staticmethod
    def _call(
        future: asyncio.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        key: str | None,
    ) -> _Outcome:
        try:
            return (future, fn(*args), None, key)
        except BaseException as exc:  # a job may raise anything; its run reports it
            return (future, None, exc, key)

    def _hand_back(self, outcome: _Outcome) -> None:
        self._outcomes.append(outcome)
        # If a settling is pending, it has not yet begun taking outcomes (it clears
        # the flag first), so it will take this one too.
        if not self._settle_pending:
            self._settle_pending = True
            loop = outcome[0].get_loop()
            try:
                loop.call_soon_threadsafe(self._settle)
            except RuntimeError:  # the loop is closed: no one waits for these
                self._outcomes.clear()
                self._settle_pending = False

    def _settle(self) -> None:
        self._settle_pending = False
        outcomes = self._outcomes
        while outcomes:
            future, value, error, key = outcomes.popleft()
            if future.done():  # given up: cancelled, or timed out
                if key is not None and self.on_given_up_end is not None:
                    self.on_given_up_end(key)
                continue
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)

    def _leave(self, me: threading.Thread) -> None:
        with self._lock:
            if me in self._abandoned:
                self._abandoned.discard(me)
            else:
                self._counted -= 1

"""Worker threads for plain-function job bodies.

Unlike the standard ThreadPoolExecutor, a thread here never holds up the process's
exit (the threads are daemons), and a thread whose run was given up (cancelled or
timed out while its body still runs) stops counting against the limit, so that a
hung body never starves the other jobs. It finishes, or not, on its own.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

# Python's own default for a thread pool. More threads than this help only bodies
# that block (on I/O, say), and cost every short body dearly: at 10,000 sync runs a
# second, 32 threads waking in turn for the GIL left a sixth of the runs behind,
# where 6 threads kept up.
DEFAULT_MAX_THREADS = min(32, (os.cpu_count() or 1) + 4)

P = ParamSpec("P")
T = TypeVar("T")

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_STOP = None


class WorkerThreads(Executor):
    def __init__(self, max_threads: int = DEFAULT_MAX_THREADS) -> None:
        self.max_threads = max_threads
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._counted = 0  # live threads that count against the limit
        self._idle = 0
        self._running: dict[Future[Any], threading.Thread] = {}
        self._abandoned: set[threading.Thread] = set()
        self._closed = False

    @property
    def abandoned_count(self) -> int:
        return len(self._abandoned)

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        if self._closed:
            raise RuntimeError("the worker threads are shut down")
        future: Future[T] = Future()
        self._work.put((future, fn, args, kwargs))
        with self._lock:
            if self._idle == 0 and self._counted < self.max_threads:
                self._start_thread()
            elif self._idle:
                self._idle -= 1  # that idle thread will take this work
        return future

    def abandon(self, future: Future[Any]) -> None:
        """Stop counting the thread that runs `future`: its run was given up."""
        with self._lock:
            thread = self._running.get(future)
            if thread is not None and thread not in self._abandoned:
                self._abandoned.add(thread)
                self._counted -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed = True
        while cancel_futures:
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
        future, fn, args, kwargs = work
        if not future.set_running_or_notify_cancel():
            return
        with self._lock:
            self._running[future] = me
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # a job may raise anything; its run reports it
            future.set_exception(exc)
        finally:
            with self._lock:
                del self._running[future]
                if me not in self._abandoned:
                    self._idle += 1

    def _leave(self, me: threading.Thread) -> None:
        with self._lock:
            if me in self._abandoned:
                self._abandoned.discard(me)
            else:
                self._counted -= 1

"""Thread bodies that hold until released, for tests of given-up and hung runs.

A test must wait until such a body is really inside its thread, not for a guessed
time: a run cancelled before a thread takes it never starts its body at all, and a
loaded CI machine can take longer than any guess to start a thread.
"""

from __future__ import annotations

import asyncio
import threading
import time


class HeldBody:
    def __init__(self) -> None:
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.entered = 0

    def __call__(self) -> None:
        with self._lock:
            self.entered += 1
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.release.wait(10)
        with self._lock:
            self.inside -= 1

    async def until_entered(self, times: int = 1, within_s: float = 5) -> None:
        """Wait until the body has been entered `times` times in all."""
        deadline = time.monotonic() + within_s
        while self.entered < times:
            assert time.monotonic() < deadline, (
                f"the body was entered {self.entered} times, not {times}, "
                f"in {within_s}s"
            )
            await asyncio.sleep(0.005)

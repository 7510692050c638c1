"""Throttling of failed sign-ins, per account and per client address (SPEC §7).

After a few failures in a row, a key (an account, or an address) is refused for a
while, and the while doubles with each further failure, up to a ceiling. A success
clears the account's count. Counts live in this process's memory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0


class SignInThrottle:
    def __init__(
        self,
        free_failures: int,
        first_block_s: float = 30.0,
        longest_block_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.free_failures = free_failures
        self.first_block_s = first_block_s
        self.longest_block_s = longest_block_s
        self.clock = clock
        self.max_keys = max_keys
        self._keys: dict[str, _Failures] = {}

    def retry_after_s(self, key: str) -> int:
        """0 if `key` may try now, else whole seconds until it may."""
        failures = self._keys.get(key)
        if failures is None:
            return 0
        return max(0, math.ceil(failures.blocked_until - self.clock()))

    def failed(self, key: str) -> None:
        if key not in self._keys and len(self._keys) >= self.max_keys:
            # Bounded memory under a spray of addresses: forget the oldest key.
            del self._keys[next(iter(self._keys))]
        failures = self._keys.setdefault(key, _Failures())
        failures.count += 1
        over = failures.count - self.free_failures
        if over >= 0:
            block = min(self.first_block_s * 2**over, self.longest_block_s)
            failures.blocked_until = self.clock() + block

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

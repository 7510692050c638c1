"""Failed sign-ins are throttled with a growing wait (SPEC §7)."""

from __future__ import annotations

from jobdeck.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_failures_are_free_then_the_wait_doubles_to_a_ceiling() -> None:
    clock = Clock()
    throttle = SignInThrottle(free_failures=3, first_block_s=30, longest_block_s=100,
                              clock=clock)  # fmt: skip
    waits = []
    for _ in range(6):
        throttle.failed("user:ann")
        waits.append(throttle.retry_after_s("user:ann"))

    assert waits == [0, 0, 30, 60, 100, 100]
    clock.now += 100
    assert throttle.retry_after_s("user:ann") == 0


def test_a_success_clears_the_count_and_keys_are_separate() -> None:
    throttle = SignInThrottle(free_failures=1, clock=Clock())
    throttle.failed("user:ann")
    throttle.failed("user:bob")
    throttle.succeeded("user:ann")

    assert throttle.retry_after_s("user:ann") == 0
    assert throttle.retry_after_s("user:bob") == 30


def test_memory_stays_bounded_under_a_spray_of_keys() -> None:
    throttle = SignInThrottle(free_failures=1, clock=Clock(), max_keys=100)
    for number in range(1000):
        throttle.failed(f"client:10.0.{number // 256}.{number % 256}")
    assert len(throttle._keys) == 100

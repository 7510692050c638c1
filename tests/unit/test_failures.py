"""Case BC-09 and BC-31: failures of every kind are captured, bounded, shown and
logged, and never stop the schedule."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable

import pytest

from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.runs import MESSAGE_LIMIT_BYTES
from jobdeck.store.memory import MemoryStore
from jobdeck.testing import FakeClock, settle


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class NotAnException(BaseException):
    pass


def raise_(exc: BaseException) -> Callable[[], None]:
    def body() -> None:
        raise exc

    return body


def async_raise(exc: BaseException) -> Callable[[], object]:
    async def body() -> None:
        raise exc

    return body


def exit_three() -> None:
    sys.exit(3)


DISK_FULL = ValueError("disk full on /data")
CASES = {
    "sync-value-error": (raise_(DISK_FULL), "ValueError: disk full on /data"),
    "async-runtime-error": (async_raise(RuntimeError("boom")), "RuntimeError: boom"),
    "sys-exit": (exit_three, "SystemExit: exit status 3"),
    "base-exception": (raise_(NotAnException("odd")), "NotAnException: odd"),
    "async-base-exception": (async_raise(NotAnException("odd")), "NotAnException: odd"),
    "unprintable": (raise_(Unprintable()), "Unprintable: <message could not be read>"),
    "surrogates": (raise_(ValueError("bad \udcff byte")), "ValueError: bad ? byte"),
}  # fmt: skip


@pytest.fixture
async def deck() -> AsyncIterator[Deck]:
    clock = FakeClock()
    deck = Deck(store=MemoryStore(), clock=clock, node="test")
    deck.clock_for_tests = clock  # type: ignore[attr-defined]
    yield deck
    await deck.stop(grace_s=0.5)


async def wait_until_idle(deck: Deck, name: str) -> dict[str, object]:
    for _ in range(200):
        job = deck.job_object(name)
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} still running")


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_failure_is_captured_and_the_job_stays_scheduled(
    deck: Deck, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, message = CASES[case]
    deck.add(define_job("failing", "1m", body, first_delay_s=0))
    deck.add(define_job("healthy", "1m", lambda: "fine", first_delay_s=0))
    await deck.start()

    with caplog.at_level(logging.ERROR, logger="jobdeck.scheduler"):
        await deck.run_now("failing")
        job = await wait_until_idle(deck, "failing")

    assert job["status"] == "error"
    assert job["last_error"] == message
    assert job["last_run_at"] is not None
    assert job["next_run_at"] is not None
    assert job["run_count"] == 1
    assert any(
        "failing" in r.getMessage() and "Traceback" in r.getMessage()
        for r in caplog.records
    )

    await deck.run_now("healthy")
    assert (await wait_until_idle(deck, "healthy"))["last_outcome"] == "success"


async def test_a_later_success_clears_the_error(deck: Deck) -> None:
    outcomes = [ValueError("first"), None]

    def flaky() -> None:
        failure = outcomes.pop(0)
        if failure:
            raise failure

    deck.add(define_job("flaky", "1m", flaky))
    await deck.start()
    await deck.run_now("flaky")
    assert (await wait_until_idle(deck, "flaky"))["last_error"] == "ValueError: first"

    await deck.run_now("flaky")
    job = await wait_until_idle(deck, "flaky")
    assert (job["status"], job["last_error"], job["run_count"]) == ("idle", None, 2)


@pytest.mark.parametrize(
    "text",
    ["A" * 1_000_000, ("x" * 49 + "\n") * 20_000, "€" * 1_000_000],
    ids=["one-line", "many-lines", "multi-byte"],
)
async def test_a_huge_message_is_cut_on_a_character_boundary(
    deck: Deck, text: str
) -> None:
    deck.add(define_job("huge", "1m", raise_(RuntimeError(text))))
    await deck.start()
    await deck.run_now("huge")
    job = await wait_until_idle(deck, "huge")

    error = job["last_error"]
    assert isinstance(error, str)
    assert len(error.encode()) < MESSAGE_LIMIT_BYTES + 100
    assert "…[truncated," in error
    error.encode("utf-8")  # a whole number of characters: it encodes


async def test_a_command_that_exits_non_zero_is_an_error(deck: Deck) -> None:
    deck.add(
        define_job("cmd", "1m", command=["sh", "-c", "echo disk full >&2; exit 3"])
    )
    await deck.start()
    await deck.run_now("cmd")
    job = await wait_until_idle(deck, "cmd")
    assert job["status"] == "error"
    assert job["last_error"] == "CommandFailed: exit status 3: disk full"


async def test_a_command_that_fails_silently_says_only_its_status(deck: Deck) -> None:
    deck.add(define_job("cmd", "1m", command=["sh", "-c", "exit 4"]))
    await deck.start()
    await deck.run_now("cmd")
    job = await wait_until_idle(deck, "cmd")

    assert job["last_error"] == "CommandFailed: exit status 4"


async def test_a_command_that_cannot_start_names_its_program(deck: Deck) -> None:
    deck.add(define_job("cmd", "1m", command=["/nonexistent/report", "--all"]))
    await deck.start()
    await deck.run_now("cmd")
    job = await wait_until_idle(deck, "cmd")

    assert job["last_error"] == (
        "CommandFailed: cannot start '/nonexistent/report': No such file or directory"
    )


async def test_a_failure_is_logged_without_the_jobs_control_characters(
    deck: Deck, caplog: pytest.LogCaptureFixture
) -> None:
    """A command's output, in its error, must neither move the operator's
    terminal nor forge a log line of its own."""
    forged = r"printf '\033]0;PWNED\007\033[31mred\n2026-01-01 INFO forged\n'; exit 1"
    deck.add(define_job("cmd", "1m", command=["sh", "-c", forged]))
    await deck.start()
    await deck.run_now("cmd")
    job = await wait_until_idle(deck, "cmd")

    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    logged = record.getMessage()
    assert "\x1b" in str(job["last_error"])  # the history keeps the text as it was
    assert "\n" not in logged and "\x1b" not in logged and "\x07" not in logged
    assert "\\x1b]0;PWNED\\x07\\x1b[31mred\\n2026-01-01 INFO forged" in logged


async def test_a_deep_traceback_is_captured(deck: Deck) -> None:
    def recurse(depth: int) -> None:
        if depth == 0:
            raise RuntimeError("bottom")
        recurse(depth - 1)

    deck.add(define_job("deep", "1m", lambda: recurse(900)))
    await deck.start()
    await deck.run_now("deep")
    job = await wait_until_idle(deck, "deep")
    assert job["last_error"] == "RuntimeError: bottom"
    await settle()

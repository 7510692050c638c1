"""Command bodies end with everything they started: cancel, timeout and a deck's
stop reach a command's children, even those that ignore SIGTERM (SPEC §3.2)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobdeck import commands
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore


@pytest.fixture
async def deck() -> AsyncIterator[Deck]:
    deck = Deck(store=MemoryStore(), node="test")
    yield deck
    await deck.stop(grace_s=0.1)


def shell_with_child(pid_file: Path, ignore_term: bool = False) -> list[str]:
    """A shell that starts a long sleep, writes its pid, and waits for it; with
    `ignore_term`, both ignore SIGTERM (an ignored signal is inherited)."""
    trap = "trap '' TERM; " if ignore_term else ""
    return ["sh", "-c", f"{trap}sleep 300 & echo $! > {pid_file}; wait"]


async def child_pid(pid_file: Path, within_s: float = 5) -> int:
    deadline = time.monotonic() + within_s
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the command did not start its child"
        await asyncio.sleep(0.01)
    return int(pid_file.read_text())


def alive(pid: int) -> bool:
    """Running, or stopped: anything but gone or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def finished(deck: Deck, name: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while (job := deck.job_object(name))["status"] == "running":
        assert time.monotonic() < deadline, f"{name} is still running"
        await asyncio.sleep(0.02)
    return job


async def test_cancel_ends_the_children_of_a_command(
    deck: Deck, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child"
    deck.add(define_job("shell", "1h", command=shell_with_child(pid_file)))
    await deck.start()
    await deck.run_now("shell")
    child = await child_pid(pid_file)

    await deck.cancel("shell")
    job = await finished(deck, "shell")

    assert job["last_outcome"] == "cancelled"
    assert await gone(child, within_s=2)


async def test_children_that_ignore_sigterm_are_killed_after_the_grace(
    deck: Deck, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "KILL_AFTER_S", 0.5)
    child = await run_deaf_command(deck, tmp_path, timeout="1s")

    job = await finished(deck, "stubborn")

    assert job["last_outcome"] == "timeout"
    assert await gone(child, within_s=1)


async def run_deaf_command(
    deck: Deck, tmp_path: Path, timeout: str | None = None
) -> int:
    """Start `deck` running the job `stubborn`: a command whose shell and child
    both ignore SIGTERM. The child's pid."""
    command = shell_with_child(tmp_path / "child", ignore_term=True)
    deck.add(define_job("stubborn", "1h", command=command, timeout=timeout))
    await deck.start()
    await deck.run_now("stubborn")
    return await child_pid(tmp_path / "child")


async def test_a_stop_kills_commands_that_ignore_sigterm_without_waiting_them_out(
    tmp_path: Path,
) -> None:
    deck = Deck(store=MemoryStore(), node="test")  # stopped here, not by the fixture
    child = await run_deaf_command(deck, tmp_path)

    began = time.monotonic()
    await deck.stop(grace_s=0.1)
    took = time.monotonic() - began

    assert took < commands.KILL_AFTER_S  # cancel, 2 s for the runs, then SIGKILL
    assert await gone(child, within_s=1)
    assert deck.job_object("stubborn")["last_outcome"] == "interrupted"


async def test_a_second_cancel_does_not_end_the_run_before_its_group(
    deck: Deck, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel, then the run's timeout on top of it while the group is being
    stopped: the run ends only once the SIGKILL has ended its group, so that
    the job's next run cannot start beside what is left of it."""
    monkeypatch.setattr(commands, "KILL_AFTER_S", 1.0)
    child = await run_deaf_command(deck, tmp_path, timeout="1s")

    await deck.cancel("stubborn")
    await finished(deck, "stubborn")

    assert not alive(child)


async def test_a_stop_kills_a_command_whose_cancel_is_under_way(
    tmp_path: Path,
) -> None:
    deck = Deck(store=MemoryStore(), node="test")
    child = await run_deaf_command(deck, tmp_path)
    await deck.cancel("stubborn")

    await deck.stop(grace_s=0.1)

    assert await gone(child, within_s=1)
    # The stop of the group has ended too: left running, it would die with the
    # loop and leave the command's process unreaped ("subprocess ... is still
    # running" at its garbage collection, in whatever test runs then).
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def start_sleeping_command(deck: Deck, tmp_path: Path) -> int:
    """Start the job `sleeper`: a shell that says so, then waits on a long
    sleep. The shell's pid, which is also its process group's."""
    pid_file = tmp_path / "shell"
    script = f"echo $$ > {pid_file}; echo started; sleep 300 & wait"
    deck.add(define_job("sleeper", "1h", command=["sh", "-c", script]))
    await deck.start()
    await deck.run_now("sleeper")
    return await child_pid(pid_file)


@pytest.mark.parametrize(
    ("signum", "outcome", "error"),
    [
        (
            signal.SIGTERM,
            "interrupted",
            "interrupted: the server was stopping "
            "(CommandFailed: ended by SIGTERM (signal 15): started)",
        ),
        (
            signal.SIGSEGV,
            "error",
            "CommandFailed: ended by SIGSEGV (signal 11): started",
        ),
    ],
)
async def test_a_command_ended_by_a_signal_while_the_deck_stops(
    tmp_path: Path, signum: int, outcome: str, error: str
) -> None:
    """systemd sends SIGTERM to every process of the unit, the commands in their
    own sessions too: a command that dies of it while the deck stops was ended
    by the stop, and is not recorded as failing. Only the signals that stop a
    service are the stop's doing: a segfault meanwhile is the command's own."""
    deck = Deck(store=MemoryStore(), node="test")
    shell = await start_sleeping_command(deck, tmp_path)
    stopping = asyncio.create_task(deck.stop(grace_s=5))
    await asyncio.sleep(0.05)

    os.killpg(shell, signum)
    await stopping

    job = deck.job_object("sleeper")
    assert (job["last_outcome"], job["last_error"]) == (outcome, error)


async def test_a_command_ended_by_a_signal_otherwise_is_an_error_naming_it(
    deck: Deck, tmp_path: Path
) -> None:
    shell = await start_sleeping_command(deck, tmp_path)

    os.killpg(shell, signal.SIGKILL)
    job = await finished(deck, "sleeper")

    assert job["last_outcome"] == "error"
    assert job["last_error"] == "CommandFailed: ended by SIGKILL (signal 9): started"


async def run_leaving_a_child(pid_file: Path) -> tuple[str, float]:
    """A command that leaves a child holding its output, as `cmd &` does."""
    began = time.monotonic()
    said = await commands.Commands().run(
        ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; echo done"]
    )
    return said, time.monotonic() - began


async def test_a_command_ends_when_it_exits_not_when_its_children_do(
    tmp_path: Path,
) -> None:
    said, took = await run_leaving_a_child(tmp_path / "child")
    os.kill(await child_pid(tmp_path / "child"), signal.SIGKILL)

    assert said == "done"
    assert took < 2


def test_under_uvloop_too(tmp_path: Path) -> None:
    """`jobdeck serve` runs on uvloop, whose children inherit copies of their
    parent's pipes: the output then never ends while they live."""
    uvloop = pytest.importorskip("uvloop")

    said, took = uvloop.run(run_leaving_a_child(tmp_path / "child"))
    os.kill(int((tmp_path / "child").read_text()), signal.SIGKILL)

    assert said == "done"
    assert took < 2


async def test_a_command_that_prints_without_end_is_held_to_its_tail() -> None:
    said = await commands.Commands().run(
        ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' a; echo; echo last"]
    )

    assert said.endswith("\nlast")
    assert len(said) <= commands.OUTPUT_KEPT_BYTES


async def test_a_run_cancelled_as_it_starts_leaves_no_pipe_open() -> None:
    """From Python 3.12 a run's first step, which opens the command's output pipe,
    runs inside run_now: a cancel right after lands while the pipe is being
    connected, before the command has started."""
    deck = Deck(store=MemoryStore(), node="test")
    deck.add(define_job("quick", "1h", command=["true"], first_delay_s=3600))
    await deck.start()
    before = len(os.listdir("/proc/self/fd"))

    for _ in range(20):
        await deck.run_now("quick")
        await deck.cancel("quick")
        await finished(deck, "quick")
    await deck.stop(grace_s=1)

    assert len(os.listdir("/proc/self/fd")) <= before


async def test_a_run_whose_command_even_sigkill_cannot_end_still_ends(
    deck: Deck, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process stuck in the kernel ignores SIGKILL until it leaves: its run ends
    once the SIGKILL has had its time, and holds up neither the job nor a stop."""
    released = asyncio.Event()

    async def stuck(process: asyncio.subprocess.Process) -> None:
        await released.wait()  # the group never seems to go, till the test ends
        process.kill()
        await process.wait()

    monkeypatch.setattr(commands, "_stop_group", stuck)
    monkeypatch.setattr(commands, "KILL_AFTER_S", 0.2)
    monkeypatch.setattr(commands, "KILLED_WITHIN_S", 0.2)
    deck.add(define_job("stuck", "1h", command=["sleep", "30"], first_delay_s=3600))
    await deck.start()
    await deck.run_now("stuck")
    await asyncio.sleep(0.1)

    began = time.monotonic()
    await deck.cancel("stuck")
    job = await finished(deck, "stuck")
    took = time.monotonic() - began
    released.set()

    assert job["last_outcome"] == "cancelled"
    assert took < 0.2 + 0.2 + 1


def test_no_file_of_another_thread_is_closed_under_uvloop() -> None:
    """The read end of a command's output was closed twice under uvloop (libuv
    closed it, then the file given to connect_read_pipe): a file opened by
    another thread in between under the same number (SQLite's database, in the
    server) was closed under it, and its next read failed with a disk I/O error.
    The race is narrow: 1,600 commands beside three threads opening files showed
    it in most runs of the old code (or crashed the process), never in the new."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")
    failures: list[str] = []
    done = threading.Event()

    def open_and_read() -> None:
        while not done.is_set():
            fd = os.open(__file__, os.O_RDONLY)
            try:
                for _ in range(50):
                    os.fstat(fd)
                os.close(fd)
            except OSError as exc:
                failures.append(str(exc))

    async def run_commands() -> None:
        runner = commands.Commands()
        for _ in range(400):
            await asyncio.gather(*(runner.run(["true"]) for _ in range(4)))

    threads = [threading.Thread(target=open_and_read) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        uvloop.run(run_commands())
    finally:
        done.set()
        for thread in threads:
            thread.join()

    assert failures == []

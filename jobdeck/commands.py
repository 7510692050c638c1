"""Command bodies: a job whose body is a program, run as a process of its own.

Each command runs in a process group of its own, so that cancel, timeout and
shutdown reach the processes it started too (a shell's children, say): signalled
alone, the command would die and leave them running, reparented to init, where
the job's next run could meet them (SPEC §3.2: never two runs of one job at once).
A process that leaves its group on purpose (a daemon calling setsid) is out of
reach; so are children still running when the command itself exits, which a
command may well mean to leave behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path

# A command told to stop (SIGTERM) is killed (SIGKILL) after this long.
KILL_AFTER_S = 5.0
# How long a cancelled run waits, after its command's SIGKILL is due, for the end.
KILLED_WITHIN_S = 1.0
OUTPUT_LINES_KEPT = 5
OUTPUT_KEPT_BYTES = 64 * 1024
# How long output still on its way is waited for once the command has exited.
OUTPUT_AFTER_EXIT_S = 0.2
PROC = Path("/proc")


class CommandFailed(Exception):
    """A command job exited with a non-zero status, or was ended by a signal
    (`signal_number`), or could not start."""

    def __init__(self, message: str, signal_number: int | None = None) -> None:
        super().__init__(message)
        self.signal_number = signal_number


class Commands:
    """The commands a deck runs now, by process group, so that its stop can kill
    what its runs' cancellation has not ended in time."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._stopping: set[asyncio.Task[None]] = set()

    async def run(self, argv: Sequence[str]) -> str:
        """The command's last lines of output; raises CommandFailed on a non-zero
        exit. Cancelled, it stops the command's whole group before it returns."""
        read_end, write_end = os.pipe()
        tail = _Tail(read_end)
        # Shielded: a run cancelled while its command starts must still learn of
        # the process, which may have started all the same, and stop its group.
        starting = asyncio.ensure_future(_start(argv, write_end))
        try:
            process = await asyncio.shield(starting)
        except asyncio.CancelledError:
            started = await _once_done(starting)
            if started is not None:
                self._groups.add(started.pid)
                await self._stop(started)
            tail.close()
            raise
        except BaseException:
            tail.close()
            raise
        finally:
            os.close(write_end)  # the command has its own copy
        self._groups.add(process.pid)
        try:
            await process.wait()
            # Output still on its way comes within a moment. The pipe may stay
            # open for ever, held by children the command left running (or, under
            # uvloop, by copies they inherited): the run ends with the command.
            await asyncio.wait({tail.ended}, timeout=OUTPUT_AFTER_EXIT_S)
        except asyncio.CancelledError:
            await self._stop(process)
            raise
        finally:
            tail.close()
        self._groups.discard(process.pid)

        output = _last_lines(tail.kept.decode(errors="replace").strip())
        status = process.returncode
        if status is not None and status < 0:
            what = f"ended by {_signal_name(-status)}"
            raise CommandFailed(_with_output(what, output), signal_number=-status)
        if status != 0:
            raise CommandFailed(_with_output(f"exit status {status}", output))
        return output

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """Stop the command's group, in a task of its own that kill_all can hurry,
        and wait for it however often the run is cancelled meanwhile (a timeout on
        top of a cancel, the deck's stop): a run that ended first would let the
        next run of its job start beside what is left of the group. The wait ends
        KILLED_WITHIN_S after the SIGKILL is due, whatever is left: a process
        that even SIGKILL does not end (stuck in the kernel) must not hold up
        the run, or a loop's end, for ever."""
        stopping = asyncio.ensure_future(_stop_group(process))
        self._stopping.add(stopping)

        def stopped(_: asyncio.Task[None]) -> None:
            self._stopping.discard(stopping)
            self._groups.discard(process.pid)

        stopping.add_done_callback(stopped)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_AFTER_S + KILLED_WITHIN_S
        while not stopping.done() and (left := deadline - loop.time()) > 0:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({stopping}, timeout=left)
        if stopping.done():
            stopping.result()

    async def kill_all(self, within_s: float = 1.0) -> None:
        """SIGKILL every command still running, with its group, and wait (up to
        `within_s`) for their stops to end: for a deck's stop, which cannot wait
        KILL_AFTER_S for commands that ignore SIGTERM, and must not leave a
        process unreaped when its loop closes."""
        for group in list(self._groups):
            _signal_group(group, signal.SIGKILL)
        if self._stopping:
            await asyncio.wait(set(self._stopping), timeout=within_s)


async def _start(argv: Sequence[str], output: int) -> asyncio.subprocess.Process:
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdout=output,
            stderr=output,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own session, so its own process group
        )
    except OSError as exc:  # no such program, not executable, no resources
        raise CommandFailed(f"cannot start {argv[0]!r}: {exc.strerror}") from None


async def _once_done(
    starting: asyncio.Future[asyncio.subprocess.Process],
) -> asyncio.subprocess.Process | None:
    """The process `starting` gave, however often this is cancelled meanwhile;
    None if it could not start."""
    while not starting.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({starting})
    if starting.cancelled() or starting.exception() is not None:
        return None
    return starting.result()


def _with_output(what: str, output: str) -> str:
    return f"{what}: {output}" if output else what


def _signal_name(number: int) -> str:
    """`SIGTERM (signal 15)`, or `signal 64` for one without a name."""
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


class _Tail:
    """The last OUTPUT_KEPT_BYTES of what a command writes, read from the pipe's
    end as it comes: a command that prints for hours holds no more than that in
    memory.

    The read end is watched with the loop's add_reader and closed here, once.
    Given to connect_read_pipe as a file, it was closed twice under uvloop (by
    libuv, then by the file), and the second close could hit a file another
    thread had opened meanwhile under the same number: SQLite's database, whose
    next read then failed with a disk I/O error."""

    def __init__(self, read_end: int) -> None:
        self.kept = bytearray()
        self._fd: int | None = read_end
        self._loop = asyncio.get_running_loop()
        self.ended = self._loop.create_future()
        os.set_blocking(read_end, False)
        self._loop.add_reader(read_end, self._read)

    def _read(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # every writer has closed it
            self.close()
            return
        self.kept += data
        if len(self.kept) > OUTPUT_KEPT_BYTES:
            del self.kept[:-OUTPUT_KEPT_BYTES]

    def close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if not self.ended.done():
            self.ended.set_result(None)


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the group; SIGKILL to whatever is left of it after KILL_AFTER_S.
    The group outlives its leader while any member does: those are waited for too."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(KILL_AFTER_S):
            await process.wait()
            while _group_alive(group):
                await asyncio.sleep(0.05)
    _signal_group(group, signal.SIGKILL)
    await process.wait()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has gone
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member runs as another user: still there
        return True
    return _has_live_member(group)


def _has_live_member(group: int) -> bool:
    """A dead process stays in its group until it is reaped, which an init that
    reaps nothing (in some containers) never does: where /proc tells, only a
    member that is not a zombie counts."""
    if not PROC.is_dir():
        return True
    for entry in PROC.iterdir():
        try:
            # After "pid (name)": state, parent, process group.
            state, _, member_of = _stat_fields(entry)[:3]
        except (OSError, ValueError, IndexError):  # not a process, or gone
            continue
        if int(member_of) == group and state not in ("Z", "X"):
            return True
    return False


def _stat_fields(entry: Path) -> list[str]:
    if not entry.name.isdigit():
        raise ValueError(entry.name)
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()


def _last_lines(text: str) -> str:
    return "\n".join(text.splitlines()[-OUTPUT_LINES_KEPT:])

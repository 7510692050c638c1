"""Runs: one execution of a job, from start to outcome.

`execute()` calls a job's body the way its kind asks (awaited, in a worker thread,
or as a subprocess) and turns whatever happens, including `sys.exit()` and
exceptions that cannot even print themselves, into an Outcome and a bounded message.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jobdeck.commands import CommandFailed, Commands
from jobdeck.jobs import BodyKind, Job
from jobdeck.threads import WorkerThreads

# A stored or shown message is cut to this many UTF-8 bytes, on a character boundary
# (case BC-31): a hundred failing jobs still list in well under a megabyte.
MESSAGE_LIMIT_BYTES = 8_192
SUMMARY_LIMIT_BYTES = 1_024
# A run keeps at most this much of its own log.
LOG_LINES_KEPT = 200
LOG_LINE_LIMIT_BYTES = 1_024
LOG_LIMIT_BYTES = 32_768


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


class Outcome(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    @property
    def failed(self) -> bool:
        return self in FAILED


FAILED = frozenset({Outcome.ERROR, Outcome.TIMEOUT, Outcome.INTERRUPTED})


class RunContext:
    """What a job body may use during its run."""

    __slots__ = ("_cancelled", "_log", "_on_progress", "job_name", "run_id",
                 "scheduled_for", "trigger")  # fmt: skip

    def __init__(
        self,
        job_name: str,
        run_id: str,
        trigger: Trigger,
        scheduled_for: datetime | None = None,
        on_progress: Callable[[float | None, str | None], None] | None = None,
    ) -> None:
        self.job_name = job_name
        self.run_id = run_id
        self.trigger = trigger
        self.scheduled_for = scheduled_for
        self._on_progress = on_progress
        self._log: RunLog | None = None
        # A plain flag: a thread body reads it, the event loop only ever sets it.
        self._cancelled = False

    @property
    def log(self) -> RunLog:
        """The run's own log: `run.log.info("copied %d files", n)`."""
        if self._log is None:
            self._log = RunLog(self.job_name)
        return self._log

    def log_text(self) -> str | None:
        return self._log.text() if self._log is not None else None

    @property
    def cancelled(self) -> bool:
        """True once a cancel was asked; a thread body should check it and return."""
        return self._cancelled

    def progress(
        self, fraction: float | None = None, message: str | None = None
    ) -> None:
        """Report how far the run is; shown live on the job's card."""
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        if message is not None:
            message = cap_text(str(message), SUMMARY_LIMIT_BYTES)
        if self._on_progress is not None:
            self._on_progress(fraction, message)


class RunLog:
    """A run's own log: lines a job writes during its run, kept with the run
    (bounded) and also passed to the `jobdeck.job.<name>` logger."""

    __slots__ = ("_logger", "dropped", "lines", "size")

    def __init__(self, job_name: str) -> None:
        self._logger = logging.getLogger(f"jobdeck.job.{job_name}")
        self.lines: list[str] = []
        self.size = 0
        self.dropped = 0

    def info(self, message: str, *args: object) -> None:
        self._keep(logging.INFO, message, args)

    def warning(self, message: str, *args: object) -> None:
        self._keep(logging.WARNING, message, args)

    def error(self, message: str, *args: object) -> None:
        self._keep(logging.ERROR, message, args)

    def text(self) -> str | None:
        if not self.lines:
            return None
        tail = f"\n…[{self.dropped} more lines dropped]" if self.dropped else ""
        return "\n".join(self.lines) + tail

    def _keep(self, level: int, message: str, args: tuple[object, ...]) -> None:
        self._logger.log(level, message, *args)
        try:
            text = message % args if args else message
        except (TypeError, ValueError):
            text = f"{message} {args!r}"
        line = cap_text(f"{logging.getLevelName(level)} {text}", LOG_LINE_LIMIT_BYTES)
        if len(self.lines) >= LOG_LINES_KEPT or self.size > LOG_LIMIT_BYTES:
            self.dropped += 1
            return
        self.lines.append(line)
        self.size += len(line)


@dataclass(slots=True)
class Run:
    """One execution of a job, as the deck tracks it while it is in progress."""

    job_name: str
    trigger: Trigger
    started_at: datetime
    started_monotonic: float
    id: str
    user: str | None = None
    context: RunContext | None = None
    task: asyncio.Task[None] | None = None
    progress: float | None = None
    progress_message: str | None = None
    cancelled_by: str | None = None
    # When the run is to be flagged as lasting far longer than usual (monotonic),
    # and whether it has been.
    overrun_at: float | None = None
    overrunning: bool = False
    result: RunResult | None = None
    duration_ms: int | None = None
    node: str | None = None
    # Set when the deck cancels the run because it is stopping.
    interrupted: bool = False

    def values(self) -> tuple[Any, ...]:
        """The run as stored, open while it runs and closed once it has a result:
        the values of its RunRecord, in order, as a plain tuple."""
        result, duration_ms = self.result, self.duration_ms
        # Plain values only, no enum members: a tuple holding a member stays
        # tracked by the garbage collector, one of plain values does not.
        opened = (
            self.id, self.job_name, self.trigger.value, self.started_at,
            self.user, self.node,
        )  # fmt: skip
        if result is None or duration_ms is None:
            return opened + _NOT_FINISHED
        return (
            *opened,
            self.started_at + timedelta(milliseconds=duration_ms), duration_ms,
            result.outcome.value, result.summary, result.error, None,
            self.context.log_text() if self.context else None,
            result.traceback,
        )  # fmt: skip


# The values of an open run's record after its first six: none known yet.
_NOT_FINISHED = (None,) * 8


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: Outcome
    summary: str | None = None
    error: str | None = None
    traceback: str | None = None
    # The signal that ended a command, for the deck to tell a command its own
    # stop's signal reached (systemd signals a unit's every process) from a fault.
    signal_number: int | None = None


# The result of most runs, made once rather than per run.
SUCCEEDED = RunResult(Outcome.SUCCESS)


async def execute(
    job: Job,
    context: RunContext | None,
    threads: WorkerThreads,
    commands: Commands,
    timeout_s: float | None,
) -> RunResult:
    """Run the job's body once and describe how it ended. Never raises, except
    CancelledError when the run itself is being cancelled from outside.

    `context` is None for a body that takes no run context."""
    deadline = None
    try:
        if timeout_s is None and job.body_kind is BodyKind.ASYNC:
            # The common case, awaited here without a coroutine in between.
            assert job.body is not None
            value = await job.body(*_arguments(job, context))
        elif timeout_s is None:
            value = await _call_body(job, context, threads, commands)
        else:
            deadline = asyncio.timeout(timeout_s)
            async with deadline:
                value = await _call_body(job, context, threads, commands)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        # Only our own deadline makes a timeout; a TimeoutError the body raised
        # by itself is an error like any other.
        if isinstance(exc, TimeoutError) and deadline and deadline.expired():
            message = f"timed out after {timeout_s:g}s"
            return RunResult(Outcome.TIMEOUT, error=message)
        return _failed(exc)

    if value is None:
        return SUCCEEDED
    return RunResult(Outcome.SUCCESS, summary=_summary_of(value))


def _failed(exc: BaseException) -> RunResult:
    if isinstance(exc, CommandFailed):
        # A command's failure is its exit status and output: jobdeck's own frames
        # above it would tell the operator nothing.
        error = describe_failure(exc)
        return RunResult(Outcome.ERROR, error=error, signal_number=exc.signal_number)
    stack = format_traceback(exc)
    return RunResult(Outcome.ERROR, error=describe_failure(exc), traceback=stack)


async def _call_body(
    job: Job, context: RunContext | None, threads: WorkerThreads, commands: Commands
) -> Any:
    if job.body_kind is BodyKind.COMMAND:
        assert job.command is not None
        return await commands.run(job.command)

    assert job.body is not None
    if job.body_kind is BodyKind.ASYNC:
        return await job.body(*_arguments(job, context))
    return await _in_thread(job, _arguments(job, context), context, threads)


def _arguments(job: Job, context: RunContext | None) -> tuple[Any, ...]:
    return (context,) if job.wants_context else ()


async def _in_thread(
    job: Job,
    arguments: tuple[Any, ...],
    context: RunContext | None,
    threads: WorkerThreads,
) -> Any:
    """A thread cannot be stopped from outside: on cancel or timeout the body is
    told through its context, and its thread is given up so it starves no one."""
    assert job.body is not None
    future = threads.run(job.body, arguments, key=job.name)
    try:
        return await future
    except asyncio.CancelledError:
        if context is not None:
            context._cancelled = True
        threads.abandon(future)
        raise


def _summary_of(value: Any) -> str | None:
    if value is None:
        return None
    return cap_text(_safe_str(value), SUMMARY_LIMIT_BYTES)


def describe_failure(exc: BaseException) -> str:
    """`Type: message`, bounded, whatever the exception does when printed."""
    kind = type(exc).__name__
    if isinstance(exc, SystemExit):
        return cap_text(f"SystemExit: exit status {exc.code!r}", MESSAGE_LIMIT_BYTES)
    message = _safe_str(exc)
    text = f"{kind}: {message}" if message else kind
    return cap_text(text, MESSAGE_LIMIT_BYTES)


def format_traceback(exc: BaseException) -> str:
    try:
        text = "".join(traceback.format_exception(exc))
    except Exception:
        text = f"{type(exc).__name__}: <traceback unavailable>"
    return cap_text(text, MESSAGE_LIMIT_BYTES)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return "<message could not be read>"


# Control characters (C0, DEL, C1) and bidirectional overrides, as escapes.
_UNLOGGABLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
                 *range(0x2066, 0x206A))
} | {ord("\n"): "\\n"}  # fmt: skip
_UNLOGGABLE_BUT_NEWLINES = {**_UNLOGGABLE, ord("\n"): "\n"}


def loggable(text: str, keep_newlines: bool = False) -> str:
    """A job's text (a command's output, an exception's message) as the server's
    log may carry it: escape sequences would move the operator's terminal, and
    line breaks forge log lines of their own."""
    return text.translate(_UNLOGGABLE_BUT_NEWLINES if keep_newlines else _UNLOGGABLE)


def cap_text(text: str, limit_bytes: int) -> str:
    """Text a run keeps (summary, error, traceback, log, progress), as every store
    and the wire take it: a lone surrogate, which is not UTF-8, becomes "?", and
    a NUL, which PostgreSQL refuses in text, U+FFFD; then cut to at most
    `limit_bytes` of UTF-8, saying how much was cut. (A value a store refuses is
    dropped with its whole record: docs/behaviour.md, "Store failures".)"""
    if not text.isascii():
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    if len(text) * 4 <= limit_bytes:
        return text  # even four-byte characters fit
    encoded = text.encode("utf-8")
    if len(encoded) <= limit_bytes:
        return text
    kept = encoded[:limit_bytes].decode("utf-8", errors="ignore")
    cut = len(encoded) - len(kept.encode("utf-8"))
    return kept + f"…[truncated, {cut} bytes]"

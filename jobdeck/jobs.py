"""Jobs: what a job is (SPEC §3) and how one is defined.

A job is a named, recurring unit of work. Its body is an `async def`, a plain
function (run in a worker thread), or a command line (run as a subprocess). A body
may take one argument, the RunContext of the run, to report progress or watch for
cancellation.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jobdeck.errors import InvalidJob
from jobdeck.intervals import parse_interval

NAME_PATTERN = re.compile(r"[a-z0-9_.-]{1,64}")

# Names the grammar allows but the API cannot serve: GET /api/jobs/sse is the event
# stream, and URLs read `.` and `..` as the folder and its parent, even quoted.
RESERVED_NAMES = {
    "sse": "/api/jobs/sse is the event stream",
    ".": "a URL cannot name it",
    "..": "a URL cannot name it",
}

JobBody = Callable[..., Any] | Callable[..., Awaitable[Any]]


class BodyKind(StrEnum):
    ASYNC = "async"
    THREAD = "thread"
    COMMAND = "command"


class Scope(StrEnum):
    CLUSTER = "cluster"
    NODE = "node"


@dataclass(frozen=True, slots=True)
class Job:
    """The definition of a job: everything about it that code or config decides."""

    name: str
    interval_seconds: int
    body: JobBody | None = None
    command: Sequence[str] | None = None
    category: str = "general"
    description: str = ""
    timeout_s: float | None = None
    first_delay_s: float = 5.0
    jitter_s: float = 0.0
    scope: Scope = Scope.CLUSTER
    body_kind: BodyKind = field(init=False)
    wants_context: bool = field(init=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if not 0 <= self.jitter_s < float("inf"):
            raise InvalidJob(f"jitter must be 0 s or more, not {self.jitter_s!r}")
        kind, wants_context = _classify_body(self.body, self.command)
        object.__setattr__(self, "body_kind", kind)
        object.__setattr__(self, "wants_context", wants_context)

    def start_delay_s(self) -> float:
        """Seconds from start-up to the first scheduled run.

        `first_delay` plus a spread of up to one second derived from the name, so
        that many jobs registered together do not all fire in the same instant, and
        the same job always lands at the same offset.
        """
        spread = (zlib.crc32(self.name.encode()) % 1000) / 1000
        return self.first_delay_s + spread


def define_job(
    name: str,
    interval: str,
    body: JobBody | None = None,
    *,
    command: Sequence[str] | None = None,
    category: str = "general",
    description: str = "",
    timeout: str | None = None,
    first_delay_s: float = 5.0,
    jitter_s: float = 0.0,
    scope: Scope | str = Scope.CLUSTER,
) -> Job:
    """Build a Job from the texts a user writes (interval as `5m`, and so on)."""
    return Job(
        name=name,
        interval_seconds=parse_interval(interval),
        body=body,
        command=tuple(command) if command is not None else None,
        category=category,
        description=description,
        timeout_s=float(parse_interval(timeout)) if timeout is not None else None,
        first_delay_s=first_delay_s,
        jitter_s=jitter_s,
        scope=scope if isinstance(scope, Scope) else Scope(scope),
    )


def check_name(name: str) -> None:
    """Refuse what cannot name a job (SPEC §3), or names one the API cannot reach."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise InvalidJob(f"invalid job name {name!r:.80}: use 1 to 64 of a-z 0-9 - _ .")
    if name in RESERVED_NAMES:
        raise InvalidJob(f"the job name {name!r} is reserved: {RESERVED_NAMES[name]}")


def _classify_body(
    body: JobBody | None, command: Sequence[str] | None
) -> tuple[BodyKind, bool]:
    if (body is None) == (command is None):
        raise InvalidJob("a job needs exactly one of a body or a command")
    if command is not None:
        _check_command(command)
        return BodyKind.COMMAND, False

    if isinstance(body, types.FunctionType):  # the common case, read cheaply
        code = body.__code__
        required = code.co_argcount - len(body.__defaults__ or ())
        keywords = code.co_kwonlyargcount - len(body.__kwdefaults__ or {})
        if required > 1 or keywords > 0:
            raise InvalidJob(_NEEDS_MORE.format(body.__qualname__))
        return _code_shape(code)
    if not callable(body):
        raise InvalidJob(f"the body of a job must be callable, not {type(body)}")
    kind = BodyKind.ASYNC if _is_async(body) else BodyKind.THREAD
    takes = _takes_an_argument(body)
    try:
        inspect.signature(body).bind(*([None] if takes else []))
    except ValueError:
        pass  # no signature to read (some built-ins): a run will tell
    except TypeError:
        name = getattr(body, "__qualname__", type(body).__qualname__)
        raise InvalidJob(_NEEDS_MORE.format(name)) from None
    return kind, takes


# A body is called with nothing, or with its run's context: one that needs more
# would fail at every run, so the job is refused where it is defined.
_NEEDS_MORE = (
    "the body {}() needs more arguments than a job's body gets: none, or the "
    "run's context"
)


def _check_command(command: Sequence[str]) -> None:
    if not command or not all(isinstance(part, str) for part in command):
        raise InvalidJob("a command is a non-empty list of strings")
    if not command[0]:
        raise InvalidJob("a command's first word, its program, cannot be empty")
    if any("\x00" in part for part in command):
        # No program can be given one; some event loops cut the word there.
        raise InvalidJob("a command cannot hold a NUL character")


def _is_async(body: JobBody) -> bool:
    call = getattr(body, "__call__", None)  # noqa: B004 - objects with async __call__
    return inspect.iscoroutinefunction(body) or inspect.iscoroutinefunction(call)


def _takes_an_argument(body: JobBody) -> bool:
    try:
        parameters = inspect.signature(body).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.VAR_POSITIONAL,
    )
    return any(p.kind in positional for p in parameters)


@functools.lru_cache(maxsize=1024)
def _code_shape(code: types.CodeType) -> tuple[BodyKind, bool]:
    """(its kind, whether it takes a positional argument) of a plain function's
    code. Many jobs share one body; reading the code object is much cheaper than
    a signature."""
    kind = BodyKind.ASYNC if code.co_flags & inspect.CO_COROUTINE else BodyKind.THREAD
    takes = code.co_argcount > 0 or bool(code.co_flags & inspect.CO_VARARGS)
    return kind, takes

"""A small client for the JSON API of a running server (SPEC §5), for the CLI.

It only talks HTTP: it never opens a store and never starts a deck, so any number
of CLI commands can run beside a server without a second scheduler.

JobdeckError
├── ApiError             the server answered, and refused or failed
├── NotJobdeck           the answer was not jobdeck's JSON, or not of the shape asked
└── ServerUnreachable    no answer at all: refused, unknown host, timeout, TLS

The answers' shapes below hold what the CLI reads of them, with strict types:
`parse` turns an answer into one, so that the CLI never meets a missing field.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from jobdeck.errors import JobdeckError

# What an HTTP header carries as a token: visible ASCII, no spaces (RFC 6750's
# token68 and more). jobdeck's own secrets are `jdt_` and URL-safe base64.
_SENDABLE = re.compile(r"[!-~]+")


def sendable(token: str) -> bool:
    """True if `token` can go in an Authorization header as it is."""
    return _SENDABLE.fullmatch(token) is not None


class ApiError(JobdeckError):
    """The server answered with an error: its status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def refused(self) -> bool:
        """True for a 4xx: the request was wrong, not the server."""
        return 400 <= self.status < 500


class NotJobdeck(JobdeckError):
    """The answer was not jobdeck's JSON, or lacked what the CLI reads of it."""

    code = "not_jobdeck"


class ServerUnreachable(JobdeckError):
    code = "unreachable"


# --- the answers' shapes -------------------------------------------------------------


def _aware_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError("a time without an offset")
    try:
        moment.astimezone(UTC)  # how the CLI shows it
    except OverflowError:
        raise ValueError("a time out of range in UTC") from None
    return value


Time = Annotated[str, AfterValidator(_aware_time)]
Secret = Annotated[str, StringConstraints(pattern=f"^{_SENDABLE.pattern}$")]


class Shape(BaseModel):
    """The fields of an answer the CLI reads; the others are left out."""

    model_config = ConfigDict(strict=True, frozen=True)


class Scheduler(Shape):
    running: bool
    reason: str | None
    node: str | None
    started_at: Time | None
    store_ok: bool = True
    store_error: str | None = None


class WhyNotRunning(Shape):
    text: str


class Job(Shape):
    name: str
    category: str | None
    description: str | None
    status: str
    interval: str
    default_interval: str
    interval_overridden: bool
    interval_set_by: str | None
    paused: bool
    paused_by: str | None
    paused_at: Time | None
    paused_until: Time | None
    next_run_at: Time | None
    last_run_at: Time | None
    last_outcome: str | None
    last_duration_ms: int | None
    last_summary: str | None
    last_error: str | None
    run_count: int
    total_runs: int
    skipped_count: int = 0
    running_since: Time | None
    running_trigger: str | None
    progress: float | None = None
    progress_message: str | None = None
    overrunning: bool = False
    usual_duration_ms: int | None = None
    why_not_running: WhyNotRunning | None = None
    scope: str
    node: str | None


class JobList(Shape):
    scheduler: Scheduler
    jobs: list[Job]


class JobAnswer(Shape):
    """What a control answers: the job as it now is."""

    job: Job


class Run(Shape):
    started_at: Time
    trigger: str | None
    user: str | None
    duration_ms: int | None
    outcome: str | None
    summary: str | None
    error: str | None
    reason: str | None


class RunPage(Shape):
    runs: list[Run]


class User(Shape):
    username: str
    role: str
    created_at: Time | None


class UserList(Shape):
    users: list[User]


class Token(Shape):
    id: str
    name: str
    role: str
    created_by: str | None
    created_at: Time | None
    expires_at: Time | None


class TokenList(Shape):
    tokens: list[Token]


class CreatedToken(Shape):
    token: Token
    secret: Secret


class Session(Shape):
    csrf_token: Secret


S = TypeVar("S", bound=Shape)
_IN_PLAIN_WORDS = {
    "missing": "is missing",
    "model_type": "is not a JSON object",
    "string_pattern_mismatch": "is not visible ASCII",
}


def parse(answer: Any, shape: type[S]) -> S:
    """`answer` as `shape`, or NotJobdeck saying the first thing amiss."""
    try:
        return shape.model_validate(answer)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(step) for step in problem["loc"]) or "the answer"
        what = _IN_PLAIN_WORDS.get(problem["type"])
        what = what or "is wrong: " + problem["msg"].removeprefix("Value error, ")
        raise NotJobdeck(
            f"the answer was not jobdeck's JSON: {where} {what}. "
            "Is the URL that of a jobdeck server, of a version this CLI knows?"
        ) from None


# --- the client ----------------------------------------------------------------------


class Client:
    """Calls the API of the server at `url`, with a Bearer token when given;
    `ca_cert` is read only for an https:// URL."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        ca_cert: Path | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "jobdeck-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        verify: ssl.SSLContext | bool = True
        if ca_cert is not None and self.url.lower().startswith("https://"):
            try:
                verify = ssl.create_default_context(cafile=str(ca_cert))
            except (OSError, ssl.SSLError) as exc:
                raise ServerUnreachable(
                    f"cannot use {ca_cert} as a CA certificate: {exc}"
                ) from exc
        self._http = httpx.Client(headers=headers, timeout=timeout_s, verify=verify)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    @contextlib.contextmanager
    def signed_in(self, username: str, password: str) -> Iterator[None]:
        """Requests made inside act as this user's session instead of the token;
        the session ends on the way out."""
        self._http.headers.pop("Authorization", None)
        answer = self.post("/api/session", {"username": username, "password": password})
        self._http.headers["X-CSRF-Token"] = parse(answer, Session).csrf_token
        try:
            yield
        finally:
            with contextlib.suppress(JobdeckError):
                self.delete("/api/session")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """The answer's JSON (None for an empty answer), or ApiError."""
        try:
            answer = self._http.request(
                method, self.url + path, json=body, params=params
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ServerUnreachable(
                f"{self.url!r} is not a server's URL: it must start with http:// "
                "or https://, e.g. http://127.0.0.1:8330"
            ) from exc
        except httpx.TransportError as exc:
            raise ServerUnreachable(_why_unreachable(self.url, exc)) from exc

        if answer.status_code >= 300:
            raise _error_of(answer)
        if not answer.content:
            return None
        try:
            return answer.json()
        except (ValueError, RecursionError):  # not JSON, or nested past all reason
            raise _not_the_api(answer) from None


def segment(value: str) -> str:
    """`value` as one path segment: quoted, and never read as `.` or `..`."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if set(value) <= {"."} else quoted


def _error_of(answer: httpx.Response) -> ApiError | NotJobdeck:
    try:
        error = answer.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return _not_the_api(answer)
    return ApiError(answer.status_code, code, message)


def _not_the_api(answer: httpx.Response) -> NotJobdeck:
    where = answer.request.url
    return NotJobdeck(
        f"{where} answered {answer.status_code} {answer.reason_phrase} without "
        "jobdeck's JSON: is the URL that of a jobdeck server?",
    )


def _why_unreachable(url: str, exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        reason = "no answer in time"
    else:
        reason = str(exc) or type(exc).__name__
    reason = reason.rstrip(".")  # some of httpx's end with a full stop, others not
    return (
        f"cannot reach a jobdeck server at {url}: {reason}. Is `jobdeck serve` "
        "running there? Give its address with --url or JOBDECK_URL."
    )

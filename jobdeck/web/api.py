"""The JSON API of SPEC §5 for sessions and jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, BeforeValidator, Field

from jobdeck.access import USERNAME_MAX_LENGTH, USERNAME_PATTERN, Role, token_owner
from jobdeck.deck import Actor, Deck
from jobdeck.errors import InvalidInput, InvalidInterval, JobNotFound
from jobdeck.intervals import parse_interval
from jobdeck.metrics import DeckCollector
from jobdeck.status import iso
from jobdeck.store.records import AuditEntry, RunRecord, TokenRecord
from jobdeck.web.auth import (
    SESSION_COOKIE,
    Admin,
    Controller,
    OwnSession,
    Viewer,
    accounts_of,
    viewer,
)
from jobdeck.web.errors import GUARDED_ERRORS, error_responses

# Every route of `router` needs a signed-in principal: the check sits on the router,
# so a new route cannot forget it. Public routes, few and on purpose, are on `public`.
router = APIRouter(dependencies=[Depends(viewer)], responses=GUARDED_ERRORS)
public = APIRouter(responses=error_responses(400, 401, 413, 422, 429))


class SignIn(BaseModel):
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class NewUser(BaseModel):
    username: str = Field(max_length=USERNAME_MAX_LENGTH, pattern=USERNAME_PATTERN)
    password: str = Field(max_length=1024)
    role: Role


def _iso_time(value: Any) -> Any:
    """An ISO 8601 text, and nothing else: pydantic would also read a number, or
    a text of digits, as Unix time, in seconds or milliseconds by its size."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(
            "give an ISO 8601 time with its offset, e.g. 2027-01-01T09:00Z"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not an ISO 8601 time, e.g. 2027-01-01T09:00Z"
        ) from None


# A time given to the API: the caller's offset is kept, and UTC stored.
IsoTime = Annotated[datetime | None, BeforeValidator(_iso_time)]


class PauseRequest(BaseModel):
    """Both optional: a pause without an end lasts until someone resumes. On a
    paused job no body changes nothing; `{"until": null}` takes its end away."""

    # A misspelt field ("untill") must not make a pause without an end.
    model_config = {"populate_by_name": True, "extra": "forbid"}

    for_: Any = Field(default=None, alias="for", examples=["2h"])
    until: IsoTime = None


class UserChange(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, max_length=1024)


# Room for " (token)" in the store's 128 characters of who did what (actor).
TOKEN_NAME_MAX = 120


class NewToken(BaseModel):
    name: str = Field(
        min_length=1, max_length=TOKEN_NAME_MAX, pattern=r"^[A-Za-z0-9_.@-]+$"
    )
    role: Role
    expires_at: IsoTime = None


class IntervalChange(BaseModel):
    model_config = {"extra": "forbid"}

    # Any JSON value is let through: the one interval validator decides, so that
    # every entry point refuses the same values with the same message.
    interval: Any = Field(examples=["5m", "1h30m"])


def deck_of(request: Request) -> Deck:
    deck: Deck = request.app.state.deck
    return deck


def known_job(name: str, request: Request) -> str:
    """The path's job name, once the job is known: FastAPI checks a body before
    the route runs but after its dependencies, so a control on an unknown job
    answers 404 whatever its body holds, as the same control without one does."""
    deck_of(request).state(name)
    return name


async def known_user(username: str, request: Request) -> str:
    """The path's user name, once the user is known (as known_job)."""
    if await accounts_of(request).store.get_user(username) is None:
        raise JobNotFound(f"no user named {username!r:.80}")
    return username


# After the principal in a route's parameters: who may not control answers 403
# before learning whether a job or user exists.
KnownJob = Annotated[str, Depends(known_job)]
KnownUser = Annotated[str, Depends(known_user)]


def actor(request: Request, principal: Controller) -> Actor:
    client = request.client.host if request.client else None
    # A token's name may be any user's: "(token)", which no user name can hold,
    # keeps the audit log and "paused by" unambiguous.
    name = principal.username
    if principal.uses_token:
        # Cut, for a token named before names were held to TOKEN_NAME_MAX: a
        # longer actor would not fit the store's column, and its records be lost.
        name = f"{name[:TOKEN_NAME_MAX]} (token)"
    return Actor(name, client)


@public.post("/api/session")
async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
    client = request.client.host if request.client else None
    secret, principal = await accounts_of(request).sign_in(
        body.username, body.password, client
    )
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {
        "user": {"username": principal.username, "role": principal.role.value},
        "csrf_token": principal.csrf_token,
    }


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request, principal: OwnSession) -> Response:
    if principal.uses_token:
        raise InvalidInput("an API token is revoked with DELETE /api/tokens/{id}")
    await accounts_of(request).sign_out(principal)
    deck_of(request).hub.close_owner(principal.session_id)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/api/jobs")
async def list_jobs(request: Request, _: Viewer) -> dict[str, Any]:
    return deck_of(request).snapshot()


@router.get("/api/jobs/{name}")
async def show_job(name: str, request: Request, _: Viewer) -> dict[str, Any]:
    return deck_of(request).job_object(name)


@router.get("/api/jobs/{name}/runs")
async def list_runs(
    name: str, request: Request, who: Viewer, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    deck = deck_of(request)
    deck.state(name)
    limit, offset = page_bounds(limit, offset)
    runs = await deck.list_runs(name, limit, offset)
    # Tracebacks can show paths and values from the server: admins only.
    objects = [_run_object(run, with_traceback=who.is_admin) for run in runs]
    return {"runs": objects, "limit": limit, "offset": offset}


@router.get("/api/jobs/{name}/interval/preview")
async def preview_interval(
    request: Request, _: Viewer, name: KnownJob, interval: str
) -> dict[str, Any]:
    """What Save would do, without doing it: the canonical form and next runs."""
    return deck_of(request).preview_interval(name, interval)


@router.post("/api/jobs/{name}/run", status_code=202)
async def run_job(name: str, request: Request, who: Controller) -> dict[str, Any]:
    return {"job": await deck_of(request).run_now(name, actor(request, who))}


@router.post("/api/jobs/{name}/cancel")
async def cancel_run(name: str, request: Request, who: Controller) -> dict[str, Any]:
    return {"job": await deck_of(request).cancel(name, actor(request, who))}


@router.post("/api/jobs/{name}/pause")
async def pause_job(
    request: Request, who: Controller, name: KnownJob, body: PauseRequest | None = None
) -> dict[str, Any]:
    until = _pause_end(body) if body is not None else None
    until_resumed = (
        body is not None and until is None and "until" in body.model_fields_set
    )
    paused = await deck_of(request).pause(
        name, actor(request, who), until, until_resumed=until_resumed
    )
    return {"job": paused}


def _pause_end(body: PauseRequest) -> datetime | None:
    if body.for_ is not None and body.until is not None:
        raise InvalidInput(
            "give the pause's length ('for') or its end ('until'), not both"
        )
    if body.for_ is not None:
        try:
            seconds = parse_interval(body.for_)
        except InvalidInterval as exc:
            exc.field = "for"
            raise
        return datetime.now(UTC) + timedelta(seconds=seconds)
    return body.until  # Deck.pause takes it into UTC, or refuses it


@router.post("/api/jobs/{name}/resume")
async def resume_job(name: str, request: Request, who: Controller) -> dict[str, Any]:
    return {"job": await deck_of(request).resume(name, actor(request, who))}


@router.put("/api/jobs/{name}/interval")
async def set_interval(
    request: Request, who: Controller, name: KnownJob, body: IntervalChange
) -> dict[str, Any]:
    deck = deck_of(request)
    return {"job": await deck.set_interval(name, body.interval, actor(request, who))}


@router.delete("/api/jobs/{name}/interval")
async def reset_interval(
    name: str, request: Request, who: Controller
) -> dict[str, Any]:
    return {"job": await deck_of(request).reset_interval(name, actor(request, who))}


@router.get("/api/users")
async def list_users(request: Request, _: Admin) -> dict[str, Any]:
    users = await accounts_of(request).store.list_users()
    return {
        "users": [
            {"username": u.username, "role": u.role, "created_at": iso(u.created_at)}
            for u in users
        ]
    }


@router.post("/api/users", status_code=201)
async def add_user(body: NewUser, request: Request, _: Controller) -> dict[str, Any]:
    await accounts_of(request).add_user(body.username, body.password, body.role)
    return {"user": {"username": body.username, "role": body.role.value}}


@router.patch("/api/users/{username}")
async def change_user(
    request: Request, _: Controller, username: KnownUser, body: UserChange
) -> dict[str, Any]:
    ended = await accounts_of(request).change_user(username, body.role, body.password)
    _end_streams(request, ended)
    user = await accounts_of(request).store.get_user(username)
    assert user is not None
    return {"user": {"username": user.username, "role": user.role}}


@router.delete("/api/users/{username}", status_code=204)
async def delete_user(username: str, request: Request, _: Controller) -> Response:
    _end_streams(request, await accounts_of(request).delete_user(username))
    return Response(status_code=204)


def _end_streams(request: Request, session_ids: list[str]) -> None:
    for session_id in session_ids:
        deck_of(request).hub.close_owner(session_id)


@router.get("/api/tokens")
async def list_tokens(request: Request, _: Admin) -> dict[str, Any]:
    tokens = await accounts_of(request).store.list_tokens()
    return {"tokens": [_token_object(token) for token in tokens]}


@router.post("/api/tokens", status_code=201)
async def create_token(
    body: NewToken, request: Request, who: Controller
) -> dict[str, Any]:
    maker = actor(request, who).name  # "ci (token)" for a token, as in the audit
    secret, token = await accounts_of(request).create_token(
        body.name, body.role, maker, body.expires_at
    )
    return {"token": _token_object(token), "secret": secret}


@router.delete("/api/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, request: Request, who: Controller) -> Response:
    if not await accounts_of(request).revoke_token(token_id):
        raise JobNotFound(f"no token with id {token_id!r:.40}")
    deck_of(request).hub.close_owner(token_owner(token_id))
    return Response(status_code=204)


@router.get("/api/audit")
async def list_audit(
    request: Request,
    _: Viewer,
    limit: int = 50,
    offset: int = 0,
    job: str | None = None,
) -> dict[str, Any]:
    limit, offset = page_bounds(limit, offset)
    entries = await deck_of(request).list_audit(limit, offset, job)
    objects = [_audit_object(entry) for entry in entries]
    return {"entries": objects, "limit": limit, "offset": offset}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, _: Viewer) -> PlainTextResponse:
    """Prometheus text format; needs a session or a token, like every route."""
    registry = CollectorRegistry()
    registry.register(DeckCollector(deck_of(request)))
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@public.get("/healthz")
async def health(request: Request) -> dict[str, Any]:
    deck = deck_of(request)
    return {"status": "ok", "scheduler_running": deck.running}


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    """A page of 1 to 500 items, from an offset of 0 to a billion."""
    return max(1, min(limit, 500)), max(0, min(offset, 1_000_000_000))


def _token_object(token: TokenRecord) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "created_by": token.created_by,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
    }


def _audit_object(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "job": entry.job_name,
        "before": entry.before,
        "after": entry.after,
        "client": entry.client,
    }


def _run_object(run: RunRecord, with_traceback: bool) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job_name,
        "trigger": run.trigger,
        "user": run.user,
        "node": run.node,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "outcome": run.outcome,
        "summary": run.summary,
        "error": run.error,
        "reason": run.reason,
        "log": run.log,
        "traceback": run.traceback if with_traceback else None,
    }

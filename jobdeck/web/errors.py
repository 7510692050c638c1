"""Errors on the wire: every failure answers `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from jobdeck import errors

log = logging.getLogger("jobdeck.web")

STATUS_OF: dict[type[errors.JobdeckError], int] = {
    errors.InvalidInterval: 422,
    errors.InvalidJob: 422,
    errors.InvalidInput: 422,
    errors.JobNotFound: 404,
    errors.JobConflict: 409,
    errors.AccessDenied: 403,
    errors.NotSignedIn: 401,
    errors.TooManyAttempts: 429,
    errors.StoreError: 503,
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The one shape of every error answer."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of error answers, for a router's `responses`."""
    return {status: {"model": ErrorBody} for status in statuses}


# What any signed-in route may answer besides its success.
GUARDED_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    # A message may echo what the caller sent, lone surrogates included, which
    # JSON cannot carry as UTF-8: they become "?".
    message = message.encode("utf-8", errors="replace").decode("utf-8")
    return JSONResponse(
        {"error": {"code": code, "message": message, **(extra or {})}},
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.JobdeckError, _jobdeck_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


async def _jobdeck_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.JobdeckError)
    status = next(
        (code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 500
    )
    extra = {"field": exc.field} if isinstance(exc, errors.InvalidInterval) else {}
    headers = None
    if isinstance(exc, errors.TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, str(exc), headers, extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        # Not a refused value: the body could not be read at all.
        return error_response(400, "invalid_request", "the body is not valid JSON")
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where or 'request'}: {first.get('msg', 'invalid request')}"
    return error_response(422, "invalid_request", message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {
        400: "invalid_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }
    code = codes.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)

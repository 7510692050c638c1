"""The HTML pages: sign-in and the Jobs page (SPEC §4). Data comes from the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from jobdeck.errors import AccessDenied, NotSignedIn
from jobdeck.web.auth import viewer

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{base_path(request)}/admin/jobs", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    base = base_path(request)
    target = _local_path(next, base) if next else f"{base}/admin/jobs"
    return _page(request, "login.html", {"next_url": target})


@router.get("/admin/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request) -> Response:
    base = base_path(request)
    try:
        principal = await viewer(request)
    except NotSignedIn:
        target = quote(request.url.path)
        return RedirectResponse(f"{base}/login?next={target}", status_code=303)
    if principal.role.value not in ("admin", "viewer"):
        raise AccessDenied("this page needs the admin or viewer role")
    return _page(
        request,
        "jobs.html",
        {"user": principal, "csrf_token": principal.csrf_token},
    )


def base_path(request: Request) -> str:
    """Where the console is mounted in the application that serves it ("" at the
    root, "/jobs" under `app.mount("/jobs", ...)`): every link and request of a
    page starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page(request: Request, template: str, context: dict[str, Any]) -> Response:
    return templates.TemplateResponse(
        request, template, {**context, "base": base_path(request)}
    )


def _local_path(target: str, base: str) -> str:
    # Only a path of this console: never send a signed-in user elsewhere.
    if not target.startswith(f"{base}/") or target.startswith("//") or "\\" in target:
        return f"{base}/admin/jobs"
    return target

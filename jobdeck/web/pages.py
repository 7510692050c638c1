"""The HTML pages: sign-in and the Jobs page (SPEC §4). Data comes from the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from jobdeck.errors import AccessDenied, NotSignedIn
from jobdeck.web.auth import viewer

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/admin/jobs", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/admin/jobs") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next_url": _local_path(next)}
    )


@router.get("/admin/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request) -> Response:
    try:
        principal = await viewer(request)
    except NotSignedIn:
        target = quote(request.url.path)
        return RedirectResponse(f"/login?next={target}", status_code=303)
    if principal.role.value not in ("admin", "viewer"):
        raise AccessDenied("this page needs the admin or viewer role")
    return templates.TemplateResponse(
        request,
        "jobs.html",
        {"user": principal, "csrf_token": principal.csrf_token},
    )


def _local_path(target: str) -> str:
    # Only a path on this site: never send a signed-in user elsewhere.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/admin/jobs"
    return target

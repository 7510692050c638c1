"""Every route is either public on purpose or refuses anonymous requests (issue 4).

The routes come from the served OpenAPI document, so a new API route is checked
without anyone listing it here; the few public ones are listed with their reason.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from jobdeck.access import Accounts
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.web.app import create_app

PUBLIC = {
    ("POST", "/api/session"): "signing in",
    ("GET", "/healthz"): "liveness for load balancers; tells no secrets",
}
# Outside the OpenAPI document: the pages and static files.
PAGES = {
    "/": 303,  # to /admin/jobs
    "/login": 200,  # the sign-in page
    "/admin/jobs": 303,  # to /login: the page checks the session itself
    "/static/jobs.js": 200,  # the page's own script
}


def make_app() -> FastAPI:
    deck = Deck(MemoryStore())
    deck.add(define_job("probe", "1h", lambda: None))
    return create_app(deck, Accounts(deck.store))


async def unguarded_routes(app: FastAPI) -> list[tuple[str, str, int]]:
    transport = httpx.ASGITransport(app=app)
    found = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        for template, operations in paths.items():
            path = template.replace("{name}", "probe").replace("{token_id}", "x")
            path = path.replace("{username}", "x")
            for method in operations:
                key = (method.upper(), template)
                answer = await client.request(method, path, json={})
                if key not in PUBLIC and answer.status_code != 401:
                    found.append((*key, answer.status_code))
    return found


async def test_every_api_route_refuses_anonymous_requests_unless_public() -> None:
    assert await unguarded_routes(make_app()) == []


async def test_a_route_that_forgot_the_guard_is_found() -> None:
    app = make_app()

    @app.get("/api/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    assert await unguarded_routes(app) == [("GET", "/api/forgotten", 200)]


async def test_the_pages_send_anonymous_users_to_sign_in() -> None:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path, status in PAGES.items():
            assert (await client.get(path)).status_code == status, path

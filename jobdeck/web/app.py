"""The web console as an ASGI application over a running deck."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobdeck.access import Accounts
from jobdeck.deck import Deck
from jobdeck.web import api, pages, stream
from jobdeck.web.errors import install_error_handlers
from jobdeck.web.stream import LATER, Body

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; "
        b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        b"base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def create_app(
    deck: Deck,
    accounts: Accounts,
    lifespan: Callable[[FastAPI], Any] | None = None,
) -> FastAPI:
    """The console's routes over `deck`; the caller starts and stops the deck."""
    # The browsable /docs and /redoc pages load their scripts from a CDN, which the
    # page's Content-Security-Policy forbids: only /openapi.json is served.
    app = Console(
        title="jobdeck",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.deck = deck
    app.state.accounts = accounts
    deck.hub.on_heartbeat = stream.EndedElsewhere(deck.hub, accounts)
    install_error_handlers(app)
    # The stream's fixed path must come before `/api/jobs/{name}` would match it.
    app.include_router(stream.router)
    app.include_router(api.public)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)
    return app


MAX_BODY_BYTES = 64 * 1024


class Console(FastAPI):
    """The FastAPI application, which lets an event stream outlive the framework.

    A stream's response starts through every middleware, so its headers are
    the same as any response's. Its body, which lasts as long as the client
    stays, is left in the scope (`LATER`) and followed here once the framework's
    stack has returned, over the server's own `receive` and `send`: a waiting
    stream then holds five coroutines instead of two dozen (about half of its
    memory), and its frames skip wrappers that only look at a response's start.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return

        # The framework leaves per-request objects in the scope it is given (exit
        # stacks, the request's state): on a copy, they go when it returns.
        later: list[Body] = []
        await super().__call__({**scope, LATER: later}, receive, send)
        for body in later:
            await body(receive, send)


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, whether announced by
    Content-Length or streamed in chunks, before anything reads them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await _too_large(self.max_bytes, send)
            return

        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"the body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(max_bytes: int, send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "too_large",
                "message": f"the body is over {max_bytes} bytes",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds fixed headers to every response; pure ASGI so streams stay streams."""

    def __init__(self, app: ASGIApp, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = list(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

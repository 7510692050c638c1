"""An application that embeds jobdeck as the README says: its own FastAPI app,
the console mounted under /jobs, the deck started and stopped in its lifespan,
served by `jobdeck.ConsoleServer`. Run as `python -m tests.e2e.embedded PORT
[HTTP [JOBS]]`: uvicorn's HTTP implementation (auto by default), and how many more
jobs to register (many make a snapshot bigger than the sockets' buffers). With
EMBEDDED_DEAF_PID_FILE set, a command that ignores SIGTERM starts at once and
writes its child's pid there; with EMBEDDED_HANG_IN_SHUTDOWN set, the lifespan's
shutdown hangs after the deck's stop; GET /slow is a request that takes a minute.
The `admin` user's password is EMBEDDED_ADMIN_PASSWORD, or a generated one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from jobdeck import (
    Accounts,
    ConsoleServer,
    Deck,
    MemoryStore,
    Role,
    create_app,
    define_job,
)


def main(port: int, http: str = "auto", more_jobs: int = 0) -> None:
    store = MemoryStore()
    deck = Deck(store=store, node="embedded")

    @deck.job("1h", first_delay_s=3600)
    async def quiet() -> None:
        pass

    for number in range(more_jobs):
        deck.job("1h", name=f"quiet-{number}", first_delay_s=3600)(quiet)

    pid_file = os.environ.get("EMBEDDED_DEAF_PID_FILE")
    if pid_file:
        deaf = f"trap '' TERM; sleep 300 & echo $! > {pid_file}; wait"
        deck.add(define_job("deaf", "1h", command=["sh", "-c", deaf], first_delay_s=0))

    accounts = Accounts(store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await deck.start()
        await accounts.ensure_first_admin(os.environ.get("EMBEDDED_ADMIN_PASSWORD"))
        secret, _ = await accounts.create_token("embedded", Role.VIEWER, "test", None)
        print(secret, flush=True)
        yield
        await deck.stop(grace_s=1)
        print("deck stopped", flush=True)
        if os.environ.get("EMBEDDED_HANG_IN_SHUTDOWN"):
            await asyncio.sleep(3600)  # an application whose own cleanup hangs

    app = FastAPI(lifespan=lifespan)

    @app.get("/slow")
    async def slow() -> None:
        await asyncio.sleep(60)

    app.mount("/jobs", create_app(deck, accounts))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http, log_level="warning"
    )
    ConsoleServer(config, deck, grace_s=1).run()


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:3], *map(int, sys.argv[3:4]))

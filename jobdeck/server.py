"""`jobdeck serve`: the deck, the stock jobs and the web console in one process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType
from typing import IO

import uvicorn
from fastapi import FastAPI

from jobdeck.access import Accounts, Reset, check_new_credentials
from jobdeck.config import Settings
from jobdeck.deck import Deck
from jobdeck.errors import InvalidInput
from jobdeck.stock import StockContext, build_stock_jobs
from jobdeck.store.sql import SqlStore
from jobdeck.web.app import create_app

log = logging.getLogger("jobdeck.server")


def build_app(settings: Settings) -> FastAPI:
    """The whole server as an ASGI app; its lifespan starts and stops the deck."""
    _make_data_dir(settings.data_dir)
    if not settings.uses_sqlite:
        log.warning(
            "cluster mode is not built yet: run only one jobdeck process against "
            "this database, or every job runs once per process",
            extra={"action": "single_node_only"},
        )
    store = SqlStore(settings.database_url)
    deck = Deck(store, max_threads=settings.max_threads)
    stock = build_stock_jobs(
        StockContext(deck, settings.data_dir, settings.sqlite_file), settings.stock
    )
    for job in settings.jobs:
        deck.add(job)
    if settings.stock_enabled:
        for job in stock:
            deck.add(job)
    accounts = Accounts(store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        with DeckLock(settings.data_dir) as lock:
            await deck.start(schedule=lock.held, refusal=lock.refusal)
            # Everything built so far lives as long as the process: keeping it out
            # of the collector's full passes spares the live streams their pauses.
            gc.freeze()
            _announce_url(settings)
            try:
                yield
            finally:
                await deck.stop(settings.shutdown_grace_s)
                await store.close()

    app = create_app(deck, accounts, lifespan=lifespan)
    app.state.heartbeat_s = settings.heartbeat_s
    return app


def _make_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot make the data directory {data_dir}: {exc}") from exc


def serve(settings: Settings) -> None:
    """Run the server until a signal stops it. What can fail at start-up (the
    database, the first admin, the port) fails before anything is announced, with
    a JobdeckError that says why (the settings themselves are checked as they
    are loaded)."""
    app = build_app(settings)
    with _listen(settings.host, settings.port) as listener:
        asyncio.run(_prepare_store(settings))
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
            log_config=None,
            timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 2,
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies),
            lifespan="on",
        )
        server = ConsoleServer(config, app.state.deck, settings.shutdown_grace_s)
        # The server's own handler from here on, not only while uvicorn serves: a
        # signal before it takes over (or the one it raises again once it is done,
        # to die of it) asks for the same graceful stop, whose exit is 0.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, server.handle_exit)
        server.run(sockets=[listener])


async def _prepare_store(settings: Settings) -> None:
    """Open (and migrate) the database and make the first admin, on a store of
    their own: a failure here is an error message, where inside the server's
    start-up it would be uvicorn's traceback."""
    store = SqlStore(settings.database_url)
    await store.open()
    try:
        await _announce_first_admin(Accounts(store), settings)
    finally:
        await store.close()


def reset_password(settings: Settings, username: str, password: str) -> Reset:
    """`Accounts.reset_password` on the settings' database, from outside the
    server (which may be running: the database takes writers one at a time).
    An SQLite file that is not there is refused, not made: the path is wrong,
    and a new database would let no one into the server's."""
    check_new_credentials(username, password)
    database = settings.sqlite_file
    if settings.uses_sqlite and database is not None and not database.is_file():
        raise InvalidInput(
            f"there is no jobdeck database at {database}: give the server's "
            "--data-dir (or --db, or --config)"
        )

    async def reset() -> Reset:
        store = SqlStore(settings.database_url)
        await store.open()
        try:
            return await Accounts(store).reset_password(username, password)
        finally:
            await store.close()

    return asyncio.run(reset())


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the server starts: a port in use stops
    it before it announces anything or starts a job."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        # Listening at once, not only bound: with SO_REUSEADDR a second server
        # may bind the same port until one of them listens.
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        why = exc.strerror or str(exc)
        raise InvalidInput(f"cannot listen on {host}:{port}: {why}") from None
    return listener


# How long a shutdown waits for connections to close before their tasks are
# cancelled, when the application's uvicorn.Config does not say: uvicorn's own
# default is to wait for ever, and a stream's client that stops reading holds
# its ASGI `send` (under h11, say) for ever.
CONNECTIONS_GRACE_S = 5
# How long the application's lifespan shutdown may take after a second signal.
FORCED_LIFESPAN_S = 1.0
# How long the tasks still there once the server is done get to end when cancelled.
LEFTOVER_TASKS_S = 2.0


class ConsoleServer(uvicorn.Server):
    """uvicorn, with the deck told of shutdown signals as they arrive.

    The first SIGTERM or SIGINT stops new runs, ends every event stream at once
    (and every stream opened after), and starts the deck's stop: running runs get
    `grace_s` from the signal, beside uvicorn's wait for connections to close, not
    after it. A second signal of either kind cuts the grace short and exits at
    once: the deck's stop is still waited for (bounded: runs cancelled, commands
    killed, history flushed), and the lifespan's shutdown gets FORCED_LIFESPAN_S,
    whether uvicorn had begun it or skips it. A plain `uvicorn.Server` waits for
    every connection to close before it runs the application's lifespan shutdown:
    with a stream open, it never exits. So an application that mounts the console
    serves it with this class:

        ConsoleServer(uvicorn.Config(app, host="127.0.0.1"), deck).run()

    Its lifespan's `await deck.stop()` then waits for the stop under way.
    """

    def __init__(
        self, config: uvicorn.Config, deck: Deck, grace_s: float = 10.0
    ) -> None:
        if config.timeout_graceful_shutdown is None:
            config.timeout_graceful_shutdown = CONNECTIONS_GRACE_S
        super().__init__(config)
        self.deck = deck
        self.grace_s = grace_s
        self._deck_stop: asyncio.Future[None] | None = None
        self._forced = asyncio.Event()
        self._finished = False

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's run, except at the end: the tasks still there are cancelled
        and get LEFTOVER_TASKS_S, then are left behind. asyncio.run would wait
        for them for ever, and a job's body that catches its cancellation would
        keep the process from exiting."""
        loop = _new_loop(self.config)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.serve(sockets=sockets))
        finally:
            try:
                _end_leftover_tasks(loop, LEFTOVER_TASKS_S)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._finished:
            # uvicorn raises the signal it caught again once it is done, to die
            # of it; where this is the handler (jobdeck serve), the exit is 0.
            return
        second = self.should_exit
        super().handle_exit(sig, frame)
        if second:
            self.force_exit = True
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            loop.call_soon_threadsafe(self._on_signal, second)

    def _on_signal(self, second: bool) -> None:
        if second:
            log.warning("second signal: exiting now", extra={"action": "force_exit"})
            self.deck.hurry_stop()
            self._forced.set()
            return
        self.deck.stop_scheduling()
        self.deck.hub.close_all()
        self._deck_stop = asyncio.ensure_future(self.deck.stop(self.grace_s))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        lifespan_shutdown = self.lifespan.shutdown
        lifespan_shut = False

        async def shut_lifespan() -> None:  # uvicorn's own call comes through here
            nonlocal lifespan_shut
            lifespan_shut = True
            await lifespan_shutdown()

        self.lifespan.shutdown = shut_lifespan
        await self._orderly_shutdown(sockets)
        if self._deck_stop is not None:
            await self._deck_stop
        if self.force_exit and self.started and not lifespan_shut:
            # uvicorn skips the lifespan's shutdown after a second signal, and the
            # loop's end then cancels it, with a traceback: it gets a moment.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lifespan_shutdown(), FORCED_LIFESPAN_S)
        self._finished = True

    async def _orderly_shutdown(self, sockets: list[socket.socket] | None) -> None:
        """uvicorn's shutdown, until a second signal: what of it is still under
        way then (an application's lifespan shutdown that hangs, say) gets
        FORCED_LIFESPAN_S, and is left to the loop's end."""
        orderly = asyncio.ensure_future(super().shutdown(sockets))
        forced = asyncio.ensure_future(self._forced.wait())
        await asyncio.wait({orderly, forced}, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if not orderly.done():
            await asyncio.wait({orderly}, timeout=FORCED_LIFESPAN_S)


def _new_loop(config: uvicorn.Config) -> asyncio.AbstractEventLoop:
    """The event loop uvicorn would run the server on (uvloop where installed)."""
    get_loop_factory = getattr(config, "get_loop_factory", None)
    if get_loop_factory is None:  # an older uvicorn sets a loop policy instead
        config.setup_event_loop()
        return asyncio.new_event_loop()
    factory = get_loop_factory()
    return factory() if factory is not None else asyncio.new_event_loop()


# Tasks left behind at the end of ConsoleServer.run: held here so that none is
# collected, with a "destroyed but pending" error, before the process exits.
_LEFT_BEHIND: list[asyncio.Task[object]] = []


def _end_leftover_tasks(loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    _, pending = loop.run_until_complete(asyncio.wait(tasks, timeout=timeout_s))
    for task in tasks - pending:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "a task failed as the server ended",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    if pending:
        _LEFT_BEHIND.extend(pending)
        log.warning(
            "%d task(s) did not end when cancelled and are left behind as the "
            "process exits (a job's body that catches CancelledError, for one)",
            len(pending),
            extra={"action": "tasks_left_behind"},
        )


class DeckLock:
    """One deck per data directory: an exclusive lock on a file in it. A second
    process on the same store serves the console but does not schedule."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "deck.lock"
        self.held = False
        self.refusal: str | None = None
        self._file: IO[str] | None = None

    def __enter__(self) -> DeckLock:
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            owner = self._file.read().strip() or "unknown"
            self.refusal = (
                f"another jobdeck process (pid {owner}) already runs the jobs of "
                f"{self.path.parent}; this one only serves the console"
            )
            return self
        self._file.truncate(0)
        self._file.write(str(os.getpid()))
        self._file.flush()
        self.held = True
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()


async def _announce_first_admin(accounts: Accounts, settings: Settings) -> None:
    generated = await accounts.ensure_first_admin(settings.admin_password)
    if generated is not None:
        # Printed once, on the console only: never logged, never stored in clear.
        print(
            f"First start: created user 'admin' with password: {generated}", flush=True
        )


def _announce_url(settings: Settings) -> None:
    scheme = "https" if settings.tls_cert else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # IPv6
    url = f"{scheme}://{host}:{settings.port}/admin/jobs"
    print(f"jobdeck is serving on {url}", flush=True)

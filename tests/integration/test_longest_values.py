"""Every value the API lets in, at its longest, and whatever text a job's body
makes, is stored, on SQLite and PostgreSQL.

SQLite does not hold a VARCHAR to its length, and takes NUL in text; PostgreSQL
refuses both, and the writer then drops the record (docs/behaviour.md, "Store
failures"): a control answered 200 would be undone by a restart and missing from
the audit log, and a run would be missing from its job's history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from jobdeck.access import Accounts, Role
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.runs import RunContext
from jobdeck.store import SqlStore, schema
from jobdeck.web.api import TOKEN_NAME_MAX
from jobdeck.web.app import create_app

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LONGEST_USER = "u" * 128  # NewUser's bound
LONGEST_TOKEN = "t" * TOKEN_NAME_MAX


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = SqlStore(url)
    await store.open()
    yield store
    await store.close()


async def test_the_longest_names_control_jobs_and_every_record_is_kept(
    store: SqlStore,
) -> None:
    deck = Deck(store=store, node="test")
    deck.add(define_job("probe", "1h", lambda: "ok", first_delay_s=3600))
    accounts = Accounts(store, CHEAP)
    await accounts.add_user(LONGEST_USER, "a long user's password", Role.ADMIN)
    secret, _ = await accounts.create_token(LONGEST_TOKEN, Role.ADMIN, "test", None)
    await deck.start()
    transport = httpx.ASGITransport(app=create_app(deck, accounts))
    bearer = {"Authorization": f"Bearer {secret}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as client:
            signed = await client.post(
                "/api/session",
                json={"username": LONGEST_USER, "password": "a long user's password"},
            )
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            answers = [
                await client.post("/api/jobs/probe/run", headers=bearer),
                await client.post("/api/jobs/probe/pause", headers=bearer),
                await client.put(
                    "/api/jobs/probe/interval", json={"interval": "5m"}, headers=csrf
                ),
            ]
        await deck.flush()
    finally:
        await deck.stop(grace_s=1)

    async with store.engine.connect() as connection:
        job = (await connection.execute(sa.select(schema.jobs))).one()
        actors = (await connection.execute(sa.select(schema.audit.c.actor))).scalars()
        users = (await connection.execute(sa.select(schema.runs.c.user))).scalars()
        stored_actors, run_users = sorted(actors), list(users)

    assert [answer.status_code for answer in answers] == [202, 200, 200]
    assert deck._writer.dropped_records == 0
    assert (job.paused, job.paused_by) == (True, f"{LONGEST_TOKEN} (token)")
    assert job.interval_set_by == LONGEST_USER
    assert stored_actors == sorted([f"{LONGEST_TOKEN} (token)"] * 2 + [LONGEST_USER])
    assert run_users == [f"{LONGEST_TOKEN} (token)"]


async def test_a_token_name_longer_than_the_bound_is_refused(
    store: SqlStore,
) -> None:
    deck = Deck(store=store, node="test")
    accounts = Accounts(store, CHEAP)
    secret, _ = await accounts.create_token("admin-token", Role.ADMIN, "test", None)
    transport = httpx.ASGITransport(app=create_app(deck, accounts))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1"
    ) as client:
        answer = await client.post(
            "/api/tokens",
            json={"name": "t" * (TOKEN_NAME_MAX + 1), "role": "viewer"},
            headers={"Authorization": f"Bearer {secret}"},
        )

    assert answer.status_code == 422


async def test_text_with_nul_and_lone_surrogates_from_a_body_is_stored(
    store: SqlStore,
) -> None:
    """A command's output may hold NUL; an exception's message anything."""
    deck = Deck(store=store, node="test")

    def talks(run: RunContext) -> str:
        run.log.info("log \x00 \ud800")
        run.progress(0.5, "progress \x00")
        return "summary \x00 \udcff"

    def fails() -> None:
        raise ValueError("error \x00 \ud800")

    deck.add(define_job("talks", "1h", talks, first_delay_s=3600))
    deck.add(define_job("fails", "1h", fails, first_delay_s=3600))
    deck.add(
        define_job(
            "prints", "1h", command=["printf", "out\\000put"], first_delay_s=3600
        )
    )
    await deck.start()
    try:
        for name in ("talks", "fails", "prints"):
            await deck.run_now(name)
        await asyncio.sleep(0.5)
        await deck.flush()
        (talked,) = await store.list_runs("talks", 5)
        (failed,) = await store.list_runs("fails", 5)
        (printed,) = await store.list_runs("prints", 5)
    finally:
        await deck.stop(grace_s=1)

    assert deck._writer.dropped_records == 0
    assert talked.summary == "summary \ufffd ?"
    assert talked.log is not None and "log \ufffd ?" in talked.log
    assert failed.error == "ValueError: error \ufffd ?"
    assert printed.summary == "out\ufffdput"

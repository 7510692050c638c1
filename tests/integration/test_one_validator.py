"""One interval validator for every entry point (issue 4, BC-06): the API (which the
page and the CLI both use) and the config file give the same decision and the same
message as `parse_interval` for any text."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobdeck.access import Accounts
from jobdeck.config import job_from_table
from jobdeck.deck import Deck
from jobdeck.errors import InvalidInput, InvalidInterval
from jobdeck.intervals import format_interval, parse_interval
from jobdeck.jobs import define_job
from jobdeck.store.memory import MemoryStore
from jobdeck.tables import Table
from jobdeck.web.app import create_app

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TEXTS = st.one_of(
    st.text(alphabet="0123456789dhmsMHx .-+\t\n", max_size=10),
    st.text(max_size=6),
    st.sampled_from(["1h30m", "  5m ", "5M", "0s", "366d", "365d", "30m1h", "\ud800"]),
)


def expected(text: str) -> tuple[bool, str]:
    try:
        return True, format_interval(parse_interval(text))
    except InvalidInterval as refused:
        return False, str(refused)


@pytest.fixture
async def admin() -> AsyncIterator[httpx.AsyncClient]:
    store = MemoryStore()
    deck = Deck(store=store)
    deck.add(define_job("probe", "1h", lambda: None, first_delay_s=3600))
    accounts = Accounts(store, CHEAP)
    await accounts.ensure_first_admin("correct horse battery")
    await deck.start()
    transport = httpx.ASGITransport(app=create_app(deck, accounts))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post(
            "/api/session",
            json={"username": "admin", "password": "correct horse battery"},
        )
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        yield client
    await deck.stop()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=TEXTS)
async def test_the_api_decides_as_the_validator(
    admin: httpx.AsyncClient, text: str
) -> None:
    accepted, said = expected(text)
    # Escaped JSON carries any text, lone surrogates included, as a browser may.
    body = json.dumps({"interval": text}).encode()
    answer = await admin.put(
        "/api/jobs/probe/interval",
        content=body,
        headers={"content-type": "application/json"},
    )

    if accepted:
        assert answer.status_code == 200
        assert answer.json()["job"]["interval"] == said
    else:
        assert answer.status_code == 422
        message = answer.json()["error"]["message"]
        assert message == said.encode("utf-8", "replace").decode("utf-8")


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_the_config_file_decides_as_the_validator(text: str) -> None:
    accepted, said = expected(text)
    values = {"name": "probe", "interval": text, "command": ["true"]}
    table = Table(values, "jobdeck.toml", "[[jobs]] #1")

    if accepted:
        assert format_interval(job_from_table(table).interval_seconds) == said
    else:
        with pytest.raises(InvalidInput) as refused:
            job_from_table(table)
        assert str(refused.value) == f"jobdeck.toml: [[jobs]] #1 interval: {said}"

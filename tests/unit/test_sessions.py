"""Sessions end after an hour unused, as well as twelve hours after sign-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from jobdeck.access import Accounts, Role
from jobdeck.errors import NotSignedIn
from jobdeck.store.memory import MemoryStore

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def signed_in() -> tuple[Accounts, MemoryStore, str]:
    store = MemoryStore()
    accounts = Accounts(store, CHEAP)
    await accounts.add_user("ann", "ann's password", Role.ADMIN)
    secret, _ = await accounts.sign_in("ann", "ann's password")
    return accounts, store, secret


async def test_an_unused_session_ends_after_an_hour() -> None:
    accounts, store, secret = await signed_in()
    (session_id,) = store.sessions
    await store.touch_session(session_id, datetime.now(UTC) - timedelta(minutes=61))

    with pytest.raises(NotSignedIn, match="unused"):
        await accounts.principal_for(secret)


async def test_using_a_session_keeps_it_alive() -> None:
    accounts, store, secret = await signed_in()
    (session_id,) = store.sessions
    await store.touch_session(session_id, datetime.now(UTC) - timedelta(minutes=59))

    await accounts.principal_for(secret)

    seen = store.sessions[session_id].last_seen_at
    assert seen is not None and datetime.now(UTC) - seen < timedelta(seconds=5)


async def test_a_session_ends_twelve_hours_after_sign_in_however_used() -> None:
    accounts, store, secret = await signed_in()
    (session_id,) = store.sessions
    old = store.sessions[session_id]
    store.sessions[session_id] = type(old)(
        old.id, old.username, old.csrf_token, old.created_at,
        datetime.now(UTC) - timedelta(seconds=1), datetime.now(UTC),
    )  # fmt: skip

    with pytest.raises(NotSignedIn, match="has ended"):
        await accounts.principal_for(secret)


async def test_an_open_stream_is_use_of_its_session() -> None:
    """A Jobs page watched for an hour without a click keeps its session: the
    stream's heartbeats note the use, at most once a minute (SPEC §6: an expired
    session ends its stream; a watched one does not expire)."""
    accounts, store, secret = await signed_in()
    (session_id,) = store.sessions
    principal = await accounts.principal_for(secret)
    long_ago = datetime.now(UTC) - timedelta(minutes=59)
    await store.touch_session(session_id, long_ago)

    ended = accounts.stream_ended(principal)  # a heartbeat of the stream
    await asyncio.sleep(0)  # the use is written in a task of its own
    seen = store.sessions[session_id].last_seen_at
    await store.touch_session(session_id, long_ago)
    accounts.stream_ended(principal)  # within the minute: not written again
    await asyncio.sleep(0)

    assert ended is False
    assert seen is not None and datetime.now(UTC) - seen < timedelta(seconds=5)
    assert store.sessions[session_id].last_seen_at == long_ago


async def test_a_stream_of_a_session_past_its_absolute_end_ends() -> None:
    accounts, _, secret = await signed_in()
    principal = await accounts.principal_for(secret)
    past = type(principal)(
        principal.username, principal.role, principal.session_id,
        principal.csrf_token, datetime.now(UTC) - timedelta(seconds=1),
    )  # fmt: skip

    assert accounts.stream_ended(past) is True

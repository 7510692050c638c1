"""Sessions end after an hour unused, as well as twelve hours after sign-in; an
open stream ends with its session, wherever the session was ended."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher

from jobdeck import access
from jobdeck.access import Accounts, Principal, Reset, Role, token_owner
from jobdeck.errors import JobConflict, NotSignedIn, StoreError
from jobdeck.events import EventHub, Subscriber
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import UserRecord
from jobdeck.web.stream import EndedElsewhere

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


def render(subject: str) -> tuple[str, dict[str, Any]]:
    return "job", {"name": subject}


async def streams_of(
    accounts: Accounts, *owners: str
) -> tuple[EventHub, list[Subscriber]]:
    """A hub whose heartbeats look for sessions ended elsewhere, with a stream
    open for each owner."""
    hub = EventHub(render, heartbeat_s=0.02)
    hub.on_heartbeat = EndedElsewhere(hub, accounts)
    return hub, [hub.subscribe(owner) for owner in owners]


async def test_streams_whose_session_or_token_is_gone_end_at_a_heartbeat() -> None:
    """Another process on the same database (`jobdeck reset-password`) ended
    them: this one was not told, and finds out at the next heartbeat."""
    accounts, store, _ = await signed_in()
    await accounts.sign_in("ann", "ann's password")
    ended_session, kept_session = store.sessions
    _, token = await accounts.create_token("ci", Role.VIEWER, "ann", None)
    _, kept_token = await accounts.create_token("cd", Role.VIEWER, "ann", None)
    hub, streams = await streams_of(
        accounts, ended_session, kept_session,
        token_owner(token.id), token_owner(kept_token.id),
    )  # fmt: skip

    await store.delete_session(ended_session)
    await store.delete_token(token.id)
    await asyncio.sleep(0.1)

    assert [s.closed for s in streams] == [True, False, True, False]
    hub.close_all()


async def test_a_failing_store_ends_no_stream_and_is_logged_once_and_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="jobdeck.web")
    accounts, store, _ = await signed_in()
    (session_id,) = store.sessions
    hub, (stream,) = await streams_of(accounts, session_id)

    async def failing(session_ids: Iterable[str]) -> set[str]:
        raise StoreError("database is locked")

    working = store.existing_sessions
    store.existing_sessions = failing  # type: ignore[method-assign]
    await asyncio.sleep(0.1)  # a few heartbeats
    store.existing_sessions = working  # type: ignore[method-assign]
    await asyncio.sleep(0.1)

    assert not stream.closed
    failures = [r for r in caplog.records if "could not check" in r.getMessage()]
    assert len(failures) == 1 and "database is locked" in failures[0].getMessage()
    recovered = [r for r in caplog.records if "checked again" in r.getMessage()]
    assert len(recovered) == 1
    hub.close_all()


class SlowVerify(PasswordHasher):
    """Checks a password only once let: a sign-in can be caught mid-check."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checking = threading.Event()
        self.let_through = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checking.set()
        self.let_through.wait(5)
        return super().verify(hash, password)


async def test_a_sign_in_with_the_old_password_does_not_outlive_its_change() -> None:
    """The change ends every session of the user; one added by a sign-in that
    checked the old password meanwhile must end too."""
    hasher = SlowVerify()
    store = MemoryStore()
    accounts = Accounts(store, hasher)
    await accounts.add_user("ann", "ann's password", Role.VIEWER)
    signing_in = asyncio.ensure_future(accounts.sign_in("ann", "ann's password"))
    await asyncio.to_thread(hasher.checking.wait, 5)

    await accounts.change_user("ann", None, "a new password")
    hasher.let_through.set()

    with pytest.raises(NotSignedIn, match="changed as you signed in"):
        await signing_in
    assert store.sessions == {}


class YieldingStore(MemoryStore):
    """Lets other tasks step between reading users and writing them, as a
    database's round trips do."""

    async def list_users(self) -> list[UserRecord]:
        await asyncio.sleep(0)
        return await super().list_users()

    async def replace_user(self, user: UserRecord) -> bool:
        await asyncio.sleep(0)
        return await super().replace_user(user)

    async def delete_user(self, username: str) -> bool:
        await asyncio.sleep(0)
        return await super().delete_user(username)


@pytest.mark.parametrize("how", ["demote", "delete"])
async def test_two_admins_removing_each_other_at_once_leave_one(how: str) -> None:
    store = YieldingStore()
    accounts = Accounts(store, CHEAP)
    for name in ("ann", "bee"):
        await accounts.add_user(name, f"{name}'s password", Role.ADMIN)

    async def remove(name: str) -> object:
        if how == "demote":
            return await accounts.change_user(name, Role.VIEWER, None)
        return await accounts.delete_user(name)

    outcomes = await asyncio.gather(
        remove("ann"), remove("bee"), return_exceptions=True
    )

    refused = [o for o in outcomes if isinstance(o, JobConflict)]
    admins = [u for u in await store.list_users() if u.role == Role.ADMIN]
    assert len(refused) == 1 and len(admins) == 1


async def test_reset_password_makes_its_user_an_admin_when_none_is_left() -> None:
    store = MemoryStore()
    accounts = Accounts(store, CHEAP)
    await accounts.add_user("viewer", "a viewer's password", Role.VIEWER)
    await accounts.add_user("other", "another password", Role.VIEWER)

    done = await accounts.reset_password("viewer", "a new password")
    await accounts.add_user("boss", "the boss's password", Role.ADMIN)
    left_alone = await accounts.reset_password("other", "a new password")

    assert done == Reset.MADE_ADMIN and left_alone == Reset.PASSWORD_SET
    roles = {u.username: u.role for u in await store.list_users()}
    assert roles == {"boss": "admin", "other": "viewer", "viewer": "admin"}


async def test_a_store_failing_streams_uses_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every open stream notes its session's use once a minute: an outage would
    otherwise log one warning per stream per minute."""
    accounts, store, _ = await signed_in()

    async def failing(session_id: str, seen_at: datetime) -> None:
        raise StoreError("database is locked")

    store.touch_session = failing  # type: ignore[method-assign]
    for number in range(5):
        principal = Principal("ann", Role.ADMIN, f"session-{number}", "csrf")
        accounts.stream_ended(principal)
    await asyncio.sleep(0.05)

    failures = [r for r in caplog.records if "could not record" in r.getMessage()]
    assert len(failures) == 1


async def test_signing_in_deletes_the_sessions_that_have_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each sign-in adds a session: ended ones are deleted, or the table would
    grow with every sign-in never signed out."""
    monkeypatch.setattr(access, "ENDED_SESSIONS_EVERY_S", 0.0)  # not hourly
    accounts, store, _ = await signed_in()
    (old,) = store.sessions
    record = store.sessions[old]
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    store.sessions[old] = dataclasses.replace(record, last_seen_at=long_ago)

    await accounts.sign_in("ann", "ann's password")

    assert old not in store.sessions and len(store.sessions) == 1

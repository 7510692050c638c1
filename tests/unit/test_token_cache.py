"""API token lookups: requests that come while one lookup is out share it; nothing
is kept after, so a revoke takes effect for the very next request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from jobdeck.access import Accounts, Role
from jobdeck.errors import NotSignedIn
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import TokenRecord


class SlowStore(MemoryStore):
    """A store whose token lookups take a while, and are counted."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        self.lookups += 1
        await asyncio.sleep(0.01)
        return await super().token_by_hash(secret_hash)


async def test_requests_at_once_share_one_lookup() -> None:
    store = SlowStore()
    accounts = Accounts(store)
    secret, _ = await accounts.create_token("ci", Role.VIEWER, "ann", None)

    found = await asyncio.gather(
        *(accounts.principal_for_token(secret) for _ in range(100))
    )

    assert {principal.username for principal in found} == {"ci"}
    assert store.lookups == 1


async def test_each_later_request_looks_again_and_sees_a_revoke() -> None:
    store = SlowStore()
    accounts = Accounts(store)
    secret, token = await accounts.create_token("ci", Role.ADMIN, "ann", None)
    await accounts.principal_for_token(secret)
    await accounts.principal_for_token(secret)
    assert store.lookups == 2

    await store.delete_token(token.id)  # here, or by another process: the same
    with pytest.raises(NotSignedIn, match="revoked"):
        await accounts.principal_for_token(secret)


async def test_a_cancelled_request_does_not_cancel_the_shared_lookup() -> None:
    store = SlowStore()
    accounts = Accounts(store)
    secret, _ = await accounts.create_token("ci", Role.VIEWER, "ann", None)

    first = asyncio.ensure_future(accounts.principal_for_token(secret))
    second = asyncio.ensure_future(accounts.principal_for_token(secret))
    await asyncio.sleep(0)
    first.cancel()

    assert (await second).username == "ci"
    assert store.lookups == 1


class ReadThenWaitStore(MemoryStore):
    """A store whose token lookups read at once and answer a while later."""

    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        found = await super().token_by_hash(secret_hash)
        await asyncio.sleep(0.01)
        return found


async def test_a_request_after_a_revoke_does_not_share_a_lookup_from_before() -> None:
    store = ReadThenWaitStore()
    accounts = Accounts(store)
    secret, token = await accounts.create_token("ci", Role.VIEWER, "ann", None)
    before = asyncio.ensure_future(accounts.principal_for_token(secret))
    await asyncio.sleep(0.002)  # its lookup is out, and has read the token

    assert await accounts.revoke_token(token.id)
    with pytest.raises(NotSignedIn, match="revoked"):
        await accounts.principal_for_token(secret)
    assert (await before).username == "ci"  # it came before the revoke
    assert not await accounts.revoke_token(token.id)


class GatedStore(MemoryStore):
    """A store whose token lookups read at once and answer when the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[asyncio.Event] = []

    async def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        found = await super().token_by_hash(secret_hash)
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return found


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(2):
        while not condition():
            await asyncio.sleep(0)


async def test_the_lookup_from_before_a_revoke_does_not_unlist_a_newer_one() -> None:
    store = GatedStore()
    accounts = Accounts(store)
    secret, token = await accounts.create_token("ci", Role.VIEWER, "ann", None)
    before = asyncio.ensure_future(accounts.principal_for_token(secret))
    await until(lambda: len(store.gates) == 1)
    await accounts.revoke_token(token.id)
    after = asyncio.ensure_future(accounts.principal_for_token(secret))
    await until(lambda: len(store.gates) == 2)

    store.gates[0].set()  # the lookup from before the revoke ends
    await before
    joining = asyncio.ensure_future(accounts.principal_for_token(secret))
    await asyncio.sleep(0.01)
    lookups = len(store.gates)
    for gate in store.gates[1:]:
        gate.set()
    results = await asyncio.gather(after, joining, return_exceptions=True)

    assert lookups == 2  # the third request shared the second lookup
    assert [type(result).__name__ for result in results] == ["NotSignedIn"] * 2

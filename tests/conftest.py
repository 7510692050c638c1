import asyncio
import inspect
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    del config
    for item in items:
        path = str(item.path)
        if f"{os.sep}browser{os.sep}" in path:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def nothing_left_on_the_loop(request: pytest.FixtureRequest) -> None:
    """Every async test, once its fixtures are torn down, has left no task on its
    loop. The loop's close would cancel such a task without a word, and a process
    it was stopping would go unreaped: its ResourceWarning then fails a later test.
    (Sync tests have no loop of their own; Playwright's would clash with one.)"""
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("no_task_left")


@pytest.fixture
async def no_task_left() -> AsyncIterator[None]:
    yield
    left = asyncio.all_tasks() - {asyncio.current_task()}
    assert not left, f"tasks left running after the test: {left}"


POSTGRES_URL = os.environ.get(
    "JOBDECK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available() -> str | None:
    """None when PostgreSQL answers; otherwise why not. Under CI it must answer."""
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            raise RuntimeError(
                f"CI is set but PostgreSQL is not reachable: {exc}"
            ) from exc
        return f"PostgreSQL not reachable at {plain}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, dropped at the end: runs of other
    checkouts, at other schema versions, never meet it."""
    import psycopg

    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"jobdeck_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

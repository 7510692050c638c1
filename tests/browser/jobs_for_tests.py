"""Job bodies for the browser tests, loaded by `jobdeck serve` from its config as
`callable = "tests.browser.jobs_for_tests:..."`. They run inside the server
process, so any state they keep lives as long as that server.
"""

from __future__ import annotations

import asyncio

from jobdeck import RunContext

# How long a lingering run lasts unless it is cancelled: longer than any test
# waits for it, short enough that a forgotten one cannot hold up the suite for long.
LINGER_S = 60.0
QUICK_RUNS = 3
OVERRUN_S = 12.0

_overrun_calls = 0


async def half_way(run: RunContext) -> None:
    """Reports half its work done, then lingers until cancelled."""
    run.progress(0.5, "half way")
    await asyncio.sleep(LINGER_S)


async def slow_after_three(run: RunContext) -> None:
    """Quick for its first three runs, which sets its usual duration; every run
    after that reports progress and lasts OVERRUN_S, far longer than usual."""
    global _overrun_calls
    _overrun_calls += 1
    if _overrun_calls <= QUICK_RUNS:
        await asyncio.sleep(0.05)
        return
    run.progress(0.25, "copying block 3 of 12")
    await asyncio.sleep(OVERRUN_S)


_mirror_calls = 0


async def sync_mirror(run: RunContext) -> str:
    """Writes a few lines to its run's log and says what it did."""
    run.log.info("connecting to the mirror")
    run.log.warning("mirror is slow: %d ms", 850)
    run.log.info("copied %d files", 12)
    await asyncio.sleep(0.05)
    return "copied 12 files"


def flaky_mirror(run: RunContext) -> str:
    """Fails every other run with a traceback, after writing to its log."""
    global _mirror_calls
    _mirror_calls += 1
    run.log.info("attempt %d", _mirror_calls)
    if _mirror_calls % 2 == 1:
        raise ConnectionError("mirror unreachable: <b>no route</b>")
    return "mirror answered"


# Text that would run script if the page ever put it into the DOM as markup.
HOSTILE = (
    """</td><script>window.__pwned = "script"</script>">"""
    """<img src=x onerror="window.__pwned = 'img'"> it's 'quoted' & "double\""""
)
# A one-line message of 1 MiB, far beyond what the store keeps.
HUGE = "disk full: " + "0123456789abcdef" * 65_536


async def hostile_progress(run: RunContext) -> None:
    """Reports progress in hostile text, then lingers until cancelled."""
    run.progress(0.3, HOSTILE)
    await asyncio.sleep(LINGER_S)


def hostile_failure(run: RunContext) -> None:
    """Logs and fails with hostile text."""
    run.log.warning(HOSTILE)
    raise RuntimeError(HOSTILE)


def huge_failure(run: RunContext) -> None:
    """Fails with a message of 1 MiB on a single line."""
    raise RuntimeError(HUGE)

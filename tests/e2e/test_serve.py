"""`jobdeck serve` end to end on the real clock, SQLite, real sockets: runs counted
from a ledger the probe writes, the event stream, and a restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.probe import ledger_counts, ledger_gaps, ledger_starts
from tests.support import Server, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """
[stock]
enabled = false

[[jobs]]
name = "tick-a"
interval = "1s"
callable = "tests.e2e.probe:record"
first_delay = "1s"

[[jobs]]
name = "tick-b"
interval = "1s"
callable = "tests.e2e.probe:record"
first_delay = "1s"
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "jobdeck.toml"
    config.write_text(CONFIG)
    ledger = tmp_path / "ledger.txt"
    server = Server(tmp_path / "data", config, {"JOBDECK_TEST_LEDGER": str(ledger)})
    server.ledger = ledger  # type: ignore[attr-defined]
    yield server.start()
    server.kill()


class StreamReader(threading.Thread):
    """Reads the event stream in the background and keeps every event."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.events: list[dict[str, Any]] = []
        self.headers: httpx.Headers | None = None
        self.retry: int | None = None
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            with self.client.stream("GET", "/api/jobs/sse", timeout=None) as answer:
                self.headers = answer.headers
                event: dict[str, Any] = {}
                for line in answer.iter_lines():
                    self._take(line, event)
                    if line == "" and event:
                        self.events.append(event)
                        event = {}
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def _take(self, line: str, event: dict[str, Any]) -> None:
        field, _, value = line.partition(": ")
        if field == "retry":
            self.retry = int(value)
        elif field == "id":
            event["id"] = int(value)
        elif field == "event":
            event["type"] = value
        elif field == "data":
            event["data"] = json.loads(value)


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def settle_jobs(client: httpx.Client, names: list[str]) -> dict[str, dict[str, Any]]:
    """Pause the jobs and wait until none is running, so counts can be compared."""
    for name in names:
        client.post(f"/api/jobs/{name}/pause").raise_for_status()

    def all_idle() -> bool:
        return all(
            j["status"] != "running" for j in client.get("/api/jobs").json()["jobs"]
        )

    wait_for(all_idle, 5, "the jobs to finish")
    return {job["name"]: job for job in client.get("/api/jobs").json()["jobs"]}


def test_runs_match_the_ledger_and_the_stream_follows_every_change(
    server: Server,
) -> None:
    client = sign_in(server.url)
    reader = StreamReader(sign_in(server.url))
    reader.start()
    try:
        check_runs_and_stream(server, client, reader)
    finally:
        client.close()
        reader.client.close()


def check_runs_and_stream(
    server: Server, client: httpx.Client, reader: StreamReader
) -> None:
    time.sleep(5)
    client.put("/api/jobs/tick-b/interval", json={"interval": "2s"}).raise_for_status()
    changed_at = time.time()
    time.sleep(6)
    jobs = settle_jobs(client, ["tick-a", "tick-b"])
    time.sleep(0.5)  # let the last events reach the reader
    ledger: Path = server.ledger  # type: ignore[attr-defined]
    counts = ledger_counts(ledger)

    for name in ("tick-a", "tick-b"):
        assert jobs[name]["run_count"] == counts[name]
        assert jobs[name]["total_runs"] == counts[name]
    assert all(0.8 <= gap <= 1.2 for gap in ledger_gaps(ledger, "tick-a"))
    after_change = ledger_gaps(ledger, "tick-b", since=changed_at)
    assert len(after_change) >= 2
    assert all(1.8 <= gap <= 2.2 for gap in after_change), after_change

    assert reader.headers is not None
    assert reader.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in reader.headers["cache-control"]
    assert reader.headers["x-accel-buffering"] == "no"
    assert reader.retry is not None
    assert reader.events[0]["type"] == "snapshot"
    assert {"scheduler", "jobs"} <= set(reader.events[0]["data"])
    ids = [event["id"] for event in reader.events]
    assert ids == sorted(set(ids))

    latest = {e["data"]["name"]: e["data"] for e in reader.events if e["type"] == "job"}
    for name in ("tick-a", "tick-b"):
        assert latest[name]["version"] == jobs[name]["version"]
        assert latest[name]["run_count"] == jobs[name]["run_count"]
        assert latest[name]["status"] == "paused"
    # BC-29: while a run is shown, the count is that of the runs before it.
    running = [e["data"] for e in reader.events if e.get("type") == "job"]
    running = [job for job in running if job["status"] == "running"]
    assert running
    for job in running:
        since = datetime.fromisoformat(job["running_since"]).timestamp()
        assert job["run_count"] == len(ledger_starts(ledger, job["name"], until=since))


def test_a_restart_keeps_pause_and_interval_overrides(server: Server) -> None:
    with closing(sign_in(server.url)) as client:
        pause_and_override(server, client)
    with closing(sign_in(server.url)) as client:
        check_after_restart(server, client)


def pause_and_override(server: Server, client: httpx.Client) -> None:
    time.sleep(2.5)
    client.post("/api/jobs/tick-a/pause").raise_for_status()
    client.put("/api/jobs/tick-b/interval", json={"interval": "1h"}).raise_for_status()
    wait_for(
        lambda: client.get("/api/jobs/tick-a").json()["status"] == "paused", 5, "pause"
    )
    total_a = client.get("/api/jobs/tick-a").json()["total_runs"]
    reader = StreamReader(sign_in(server.url))
    reader.start()
    wait_for(lambda: bool(reader.events), 5, "the stream to open")

    took = server.stop()
    assert reader.ended.wait(2), "the stream did not end at shutdown"
    reader.client.close()
    assert took < 5
    server.start()
    server.total_a = total_a  # type: ignore[attr-defined]


def check_after_restart(server: Server, client: httpx.Client) -> None:
    total_a = server.total_a  # type: ignore[attr-defined]
    a = client.get("/api/jobs/tick-a").json()
    b = client.get("/api/jobs/tick-b").json()
    assert (a["paused"], a["status"], a["next_run_at"], a["total_runs"]) == (
        True,
        "paused",
        None,
        total_a,
    )
    assert (b["interval"], b["default_interval"], b["interval_overridden"]) == (
        "1h",
        "1s",
        True,
    )
    before = ledger_counts(server.ledger).get("tick-a", 0)  # type: ignore[attr-defined]
    time.sleep(2.5)
    assert ledger_counts(server.ledger).get("tick-a", 0) == before  # type: ignore[attr-defined]


def test_the_stream_refuses_anonymous_clients_without_opening(server: Server) -> None:
    answer = httpx.get(f"{server.url}/api/jobs/sse", timeout=5)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")


def test_a_second_process_on_the_same_data_directory_does_not_schedule(
    server: Server,
) -> None:
    ledger: Path = server.ledger  # type: ignore[attr-defined]
    wait_for(lambda: ledger_counts(ledger), 10, "the first process's first runs")
    second = Server(server.data_dir, server.config, server.env)
    second.start()
    try:
        with closing(sign_in(second.url)) as client:
            scheduler = client.get("/api/jobs").json()["scheduler"]
            refused = client.post("/api/jobs/tick-a/run")
        time.sleep(1.5)  # ticks of both 1 s jobs fall while the second is up
    finally:
        second.stop()

    assert scheduler["running"] is False
    assert "another jobdeck process" in scheduler["reason"]
    assert str(server.process.pid) in scheduler["reason"]  # type: ignore[union-attr]
    assert refused.status_code == 409
    pids = {line.split()[2] for line in ledger.read_text().splitlines()}
    assert pids == {str(server.process.pid)}  # type: ignore[union-attr]


def test_a_control_answered_survives_a_crash_right_after(server: Server) -> None:
    """The answer to a control says it is done: a process killed 0.2 s later,
    without a clean stop, must not have undone it (nor lost its audit entry)."""
    with closing(sign_in(server.url)) as client:
        client.post("/api/jobs/tick-a/pause", json={"for": "2h"}).raise_for_status()
        client.put("/api/jobs/tick-b/interval", json={"interval": "45s"})
        time.sleep(0.2)  # less than the batch window the writes used to wait out
    server.kill()
    server.start()

    with closing(sign_in(server.url)) as client:
        a = client.get("/api/jobs/tick-a").json()
        b = client.get("/api/jobs/tick-b").json()
        audit = client.get("/api/audit").json()["entries"]

    assert (a["paused"], a["paused_until"] is not None) == (True, True)
    assert (b["interval"], b["interval_overridden"]) == ("45s", True)
    assert {"pause", "interval"} <= {entry["action"] for entry in audit}

"""`jobdeck serve` with its dns and dhcp jobs pointed at the real files of
../shared/data: what each run reports must match counts derived here another way."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHARED_DATA
from tests.support import Server, sign_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not SHARED_DATA.is_dir(), reason=f"no real input files at {SHARED_DATA}"
    ),
]

LISTS = [
    "blocklist-hosts-adaway.txt",
    "blocklist-adblock-hagezi-personal.txt",
    "blocklist-adblock-perflyst-smarttv-agh.txt",
]
DNSMASQ = ["dnsmasq-home-network.leases", "dnsmasq-foreman-fixture.leases"]
ISC = ["dhcpd-pxe-lab.leases", "dhcpd-hackerspace.leases"]
LOCAL_NAMES = {"localhost", "localhost.localdomain", "local", "broadcasthost"}


def toml_list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{SHARED_DATA / name}"' for name in names) + "]"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "jobdeck.toml"
    config.write_text(
        f"""
[stock.blocklist-refresh]
sources = {toml_list(LISTS)}

[stock.dhcp-lease-sync]
dnsmasq = {toml_list(DNSMASQ)}
isc = {toml_list(ISC)}
"""
    )
    server = Server(tmp_path / "data", config)
    yield server.start()
    server.kill()


def expected_blocklist() -> tuple[int, int]:
    """(domains blocked, allow rules) by plain regular expressions."""
    blocked: set[str] = set()
    allowed: set[str] = set()
    for name in LISTS:
        text = (SHARED_DATA / name).read_text(encoding="utf-8")
        hosts = re.findall(r"^(?:127\.0\.0\.1|0\.0\.0\.0)\s+(\S+)\s*$", text, re.M)
        blocked |= {h.lower() for h in hosts} - LOCAL_NAMES
        # `||d^` and `|d^`, perhaps with $modifiers and a trailing `# comment`.
        rule = r"^\|\|?([a-z0-9._-]+)\^(?:\$\S*)?(?:\s+#.*)?\s*$"
        rules = re.findall(rule, text, re.M | re.I)
        blocked |= {rule.lower() for rule in rules}
        allows = re.findall(r"^@@\|\|([a-z0-9._-]+)\^", text, re.M | re.I)
        allowed |= {rule.lower() for rule in allows}
    return len(blocked - allowed), len(allowed)


def expected_leases(now: datetime) -> tuple[int, int, int]:
    """(distinct addresses, declarations, current leases) by splitting lines."""
    current: dict[str, bool] = {}
    declarations = 0
    for name in DNSMASQ:
        for line in (SHARED_DATA / name).read_text().splitlines():
            expiry, _mac, address, *_ = line.split()
            declarations += 1
            current[address] = int(expiry) == 0 or int(expiry) > now.timestamp()
    for name in ISC:
        text = (SHARED_DATA / name).read_text()
        for address, body in re.findall(r"^lease (\S+) \{(.*?)^\}", text, re.M | re.S):
            declarations += 1
            ends = re.search(r"ends \d (\S+ \S+);", body)
            active = re.search(r"^\s*binding state active;", body, re.M) is not None
            end = (
                datetime.strptime(ends.group(1), "%Y/%m/%d %H:%M:%S") if ends else None
            )
            current[address] = active and (end is None or end.replace(tzinfo=UTC) > now)
    return len(current), declarations, sum(current.values())


def latest_summary(client: httpx.Client, job: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = client.get(f"/api/jobs/{job}/runs").json()["runs"]
        finished = [r for r in runs if r["outcome"] and r["outcome"] != "skipped"]
        if finished:
            assert finished[0]["outcome"] == "success", finished[0]
            return str(finished[0]["summary"])
        time.sleep(0.2)
    raise AssertionError(f"{job} did not finish a run")


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1).replace(",", ""))


def test_the_dns_and_dhcp_jobs_report_what_the_real_files_hold(server: Server) -> None:
    with closing(sign_in(server.url)) as client:
        client.post("/api/jobs/blocklist-refresh/run")
        client.post("/api/jobs/dhcp-lease-sync/run")
        blocklist = latest_summary(client, "blocklist-refresh")
        leases = latest_summary(client, "dhcp-lease-sync")
        shown = client.get("/api/jobs/blocklist-refresh").json()["last_summary"]
    now = datetime.now(UTC)

    assert shown == blocklist  # the card shows what the latest run did
    domains, allows = expected_blocklist()
    assert number(r"^(\d+) lists", blocklist) == 3
    assert number(r"([\d,]+) domains blocked", blocklist) == domains
    assert number(r"\((\d+) allowed", blocklist) == allows
    assert number(r"([\d,]+) bad lines", blocklist) == 0

    addresses, declarations, current = expected_leases(now)
    assert number(r"^(\d+) files", leases) == 4
    assert number(r"([\d,]+) addresses", leases) == addresses
    assert number(r"([\d,]+) declarations", leases) == declarations
    assert number(r"\(([\d,]+) current", leases) == current
    assert number(r"([\d,]+) bad lines", leases) == 0
    assert (server.data_dir / "blocklist.txt").read_text().count("\n") == domains

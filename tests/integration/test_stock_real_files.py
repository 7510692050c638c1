"""The stock parsers against real, published input files (../shared/data).

Each expected figure is derived here by a second, simpler method (a regular
expression or a split) and compared with what the parser reports.
"""

import codecs
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobdeck.stock.blocklists import (
    BlocklistParse,
    parse_blocklist,
    refresh_blocklists,
)
from jobdeck.stock.files import read_input_text
from jobdeck.stock.leases import (
    LeaseSync,
    LeaseTable,
    parse_dnsmasq_leases,
    parse_isc_leases,
    sync_leases,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HOSTS = DATA / "blocklist-hosts-adaway.txt"
HAGEZI = DATA / "blocklist-adblock-hagezi-personal.txt"
PERFLYST = DATA / "blocklist-adblock-perflyst-smarttv-agh.txt"
DNSMASQ_HOME = DATA / "dnsmasq-home-network.leases"
DNSMASQ_FOREMAN = DATA / "dnsmasq-foreman-fixture.leases"
DHCPD_PXE = DATA / "dhcpd-pxe-lab.leases"
DHCPD_HACKERSPACE = DATA / "dhcpd-hackerspace.leases"

# Minutes before the last leases of the PXE lab ended: some are still current.
PXE_NOW = datetime(2019, 1, 31, 16, 45, tzinfo=UTC)

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"the real input files are not at {DATA}"
)


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def parse_list(path: Path) -> BlocklistParse:
    return parse_blocklist(read_input_text(path), path.name)


# Blocklists ---------------------------------------------------------------------


def hosts_expected() -> set[str]:
    """Names of the AdAway list's "127.0.0.1 <name>" lines, less localhost."""
    names = re.findall(r"^127\.0\.0\.1 (\S+)$", text_of(HOSTS), re.M)
    return {name.lower() for name in names} - {"localhost"}


def hagezi_expected() -> set[str]:
    """Domains of the HaGeZi list's "||<domain>^" lines."""
    domains = re.findall(r"^\|\|([^*^]+)\^$", text_of(HAGEZI), re.M)
    return {domain.lower() for domain in domains}


def perflyst_expected() -> tuple[set[str], set[str], set[str]]:
    """Blocked, allowed and pattern rules of the Smart-TV list, by plain rules."""
    rules = [
        line.split(" #")[0]
        for line in text_of(PERFLYST).splitlines()
        if line and not line.startswith("!")
    ]
    patterns = {rule for rule in rules if "*" in rule or "^" not in rule}
    allowed = {rule[4:-1] for rule in rules if rule.startswith("@@||")}
    blocked = {
        rule.lstrip("|").split("^")[0].lower()
        for rule in rules
        if rule not in patterns and not rule.startswith("@@")
    }
    return blocked, allowed, patterns


def test_the_adaway_hosts_list_blocks_every_127_0_0_1_name() -> None:
    text = text_of(HOSTS)

    parse = parse_list(HOSTS)

    assert parse.format == "hosts"
    assert parse.blocked == hosts_expected()
    assert len(parse.blocked) == 6540
    assert parse.local_names == text.count("  localhost\n") == 2
    assert parse.comment_lines == len(re.findall(r"^#", text, re.M))
    assert parse.bad_lines == 0


def test_the_hagezi_list_holds_the_domains_its_header_announces() -> None:
    header = re.search(r"^! Domains: (\d+)$", text_of(HAGEZI), re.M)
    assert header is not None

    parse = parse_list(HAGEZI)

    assert parse.format == "adblock"
    assert parse.blocked == hagezi_expected()
    assert len(parse.blocked) == int(header.group(1)) == 9671
    assert not parse.allowed
    assert not parse.wildcards
    assert parse.bad_lines == 0


def test_the_smart_tv_list_separates_block_allow_and_pattern_rules() -> None:
    blocked, allowed, patterns = perflyst_expected()

    parse = parse_list(PERFLYST)

    assert parse.format == "adblock"
    assert parse.blocked == blocked
    assert parse.allowed == allowed
    assert parse.wildcards == patterns
    assert (len(blocked), len(allowed), len(patterns)) == (148, 9, 5)
    assert {"de.ioam.de", "config.ioam.de", "lgtvsdp.com"} <= parse.blocked
    assert parse.bad_lines == 0


def test_the_three_lists_merge_into_one_written_list(tmp_path: Path) -> None:
    output = tmp_path / "blocklist.txt"
    blocked, allowed, _ = perflyst_expected()
    expected = (hosts_expected() | hagezi_expected() | blocked) - allowed

    refresh = refresh_blocklists([HOSTS, HAGEZI, PERFLYST], output)

    assert refresh.domains == expected
    assert output.read_text().splitlines() == sorted(expected)
    assert refresh.summary() == (
        f"3 lists, {len(expected):,} domains blocked "
        "(9 allowed, 5 wildcard rules), 0 bad lines"
    )


# Leases -------------------------------------------------------------------------


def dnsmasq_fields(path: Path) -> list[list[str]]:
    return [line.split() for line in text_of(path).splitlines() if line]


def last_isc_blocks(path: Path) -> tuple[int, dict[str, str]]:
    """How many lease blocks the file holds, and the last block per address."""
    blocks = re.findall(r"^lease (\S+) \{\n(.*?)^\}", text_of(path), re.M | re.S)
    return len(blocks), dict(blocks)


def field(body: str, pattern: str) -> str | None:
    found = re.search(rf"^  {pattern};$", body, re.M)
    return found.group(1) if found else None


def isc_end(body: str) -> datetime:
    stamp = field(body, r"ends \d (\S+ \S+)")
    assert stamp is not None
    return datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)


def expected_current(last: dict[str, str], now: datetime) -> int:
    return sum(
        field(body, r"binding state (\w+)") == "active" and isc_end(body) > now
        for body in last.values()
    )


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> LeaseSync:
    """All four lease files synced once: the PXE journal is slow to read twice."""
    return sync_leases(
        [DNSMASQ_HOME, DNSMASQ_FOREMAN],
        [DHCPD_PXE, DHCPD_HACKERSPACE],
        tmp_path_factory.mktemp("sync") / "leases.json",
        PXE_NOW,
    )


@pytest.fixture
def pxe_table(synced: LeaseSync) -> LeaseTable:
    (table,) = (table for table in synced.tables if table.source == str(DHCPD_PXE))
    return table


@pytest.mark.parametrize(
    ("path", "addresses", "no_hostname", "no_client_id"),
    [(DNSMASQ_HOME, 43, 6, 9), (DNSMASQ_FOREMAN, 15, 2, 14)],
)
def test_a_dnsmasq_file_has_one_lease_per_line(
    path: Path, addresses: int, no_hostname: int, no_client_id: int
) -> None:
    rows = dnsmasq_fields(path)
    expiries = [int(row[0]) for row in rows]

    table = parse_dnsmasq_leases(read_input_text(path), path.name)

    assert set(table.leases) == {row[2] for row in rows}
    assert len(table.leases) == table.declarations == addresses
    assert sum(lease.hostname is None for lease in table.leases.values()) == no_hostname
    assert sum(lease.client_id is None for lease in table.leases.values()) == (
        no_client_id
    )
    assert {lease.mac for lease in table.leases.values()} == {row[1] for row in rows}
    before_first = datetime.fromtimestamp(min(expiries) - 1, UTC)
    after_last = datetime.fromtimestamp(max(expiries), UTC)
    assert table.count_current(before_first) == addresses
    assert table.count_current(after_last) == 0
    assert table.bad_lines == 0


def test_the_pxe_journal_keeps_the_last_declaration_per_address(
    pxe_table: LeaseTable,
) -> None:
    blocks, last = last_isc_blocks(DHCPD_PXE)

    assert (pxe_table.declarations, blocks) == (3903, 3903)
    assert set(pxe_table.leases) == set(last)
    assert len(last) == 513
    for ip, body in last.items():
        lease = pxe_table.leases[ip]
        assert lease.state == field(body, r"binding state (\w+)")
        assert lease.ends == isc_end(body)
        assert lease.mac == field(body, r"hardware ethernet (\S+)")
        assert lease.hostname == field(body, r'client-hostname "(.*)"')
    assert pxe_table.bad_lines == 0


def test_the_pxe_uids_decode_their_octal_escapes(pxe_table: LeaseTable) -> None:
    _, last = last_isc_blocks(DHCPD_PXE)

    for ip, body in last.items():
        uid = field(body, r'uid "(.*)"')
        if uid is None:
            assert pxe_table.leases[ip].client_id is None
            continue
        decoded = codecs.escape_decode(uid.encode("ascii"))[0]
        assert pxe_table.leases[ip].client_id == decoded.hex(":")


def test_the_pxe_journal_counts_current_leases(pxe_table: LeaseTable) -> None:
    _, last = last_isc_blocks(DHCPD_PXE)

    expected = expected_current(last, PXE_NOW)

    assert pxe_table.count_current(PXE_NOW) == expected
    assert 0 < expected < len(last)


def test_the_hackerspace_file_holds_only_free_leases() -> None:
    blocks, last = last_isc_blocks(DHCPD_HACKERSPACE)

    table = parse_isc_leases(read_input_text(DHCPD_HACKERSPACE), "hackerspace")

    assert (table.declarations, blocks) == (15, 15)
    assert set(table.leases) == set(last)
    assert {lease.state for lease in table.leases.values()} == {"free"}
    assert table.count_current(datetime(2013, 5, 12, tzinfo=UTC)) == 0
    assert table.bad_lines == 0


def test_the_four_lease_files_sync_into_one_table(synced: LeaseSync) -> None:
    home = {row[2] for row in dnsmasq_fields(DNSMASQ_HOME)}
    foreman = {row[2] for row in dnsmasq_fields(DNSMASQ_FOREMAN)}
    pxe_blocks, pxe = last_isc_blocks(DHCPD_PXE)
    hackerspace_blocks, hackerspace = last_isc_blocks(DHCPD_HACKERSPACE)
    addresses = home | foreman | set(pxe) | set(hackerspace)
    # Both dnsmasq files expire after PXE_NOW; the hackerspace leases are free.
    current = len(home) + len(foreman) + expected_current(pxe, PXE_NOW)
    declarations = len(home) + len(foreman) + pxe_blocks + hackerspace_blocks

    assert set(synced.leases) == addresses
    assert synced.summary() == (
        f"4 files, {len(addresses):,} addresses ({current:,} current), "
        f"{declarations:,} declarations, 0 bad lines"
    )
    assert synced.output is not None
    assert len(json.loads(synced.output.read_text())["leases"]) == len(addresses)

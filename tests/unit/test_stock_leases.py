import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobdeck.stock import leases
from jobdeck.stock.leases import (
    Lease,
    LeaseFormat,
    LeaseSync,
    LeaseSyncError,
    LeaseTable,
    merge_lease_tables,
    parse_dnsmasq_leases,
    parse_isc_leases,
    sync_leases,
)

EXAMPLES = Path(leases.__file__).parent / "examples"
NOON = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOON_EPOCH = int(NOON.timestamp())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def isc_lease(ip: str, *statements: str) -> str:
    body = "".join(f"  {statement}\n" for statement in statements)
    return f"lease {ip} {{\n{body}}}\n"


# dnsmasq ------------------------------------------------------------------------


def test_dnsmasq_lines_become_active_leases() -> None:
    text = f"{NOON_EPOCH} 52:54:00:00:00:01 192.0.2.1 printer 01:52:54:00:00:00:01\n"

    table = parse_dnsmasq_leases(text, "dnsmasq.leases")

    assert table.format is LeaseFormat.DNSMASQ
    assert table.leases["192.0.2.1"] == Lease(
        ip="192.0.2.1",
        mac="52:54:00:00:00:01",
        hostname="printer",
        client_id="01:52:54:00:00:00:01",
        starts=None,
        ends=NOON,
        state="active",
        source="dnsmasq.leases",
    )


def test_dnsmasq_stars_mean_no_hostname_and_no_client_id() -> None:
    text = f"{NOON_EPOCH} 52:54:00:00:00:01 192.0.2.1 * *\n"

    lease = parse_dnsmasq_leases(text, "t").leases["192.0.2.1"]

    assert (lease.hostname, lease.client_id) == (None, None)


def test_a_dnsmasq_expiry_of_zero_never_ends() -> None:
    table = parse_dnsmasq_leases("0 52:54:00:00:00:01 192.0.2.1 server *\n", "t")

    assert table.leases["192.0.2.1"].ends is None
    assert table.count_current(NOON + timedelta(days=10_000)) == 1


def test_dnsmasq_ipv6_leases_follow_the_duid_line() -> None:
    text = (
        f"{NOON_EPOCH} 52:54:00:00:00:01 192.0.2.1 nas *\n"
        "duid 00:01:00:01:2c:1a:3b:4d:52:54:00:00:00:01\n"
        f"{NOON_EPOCH} 305419896 2001:db8::10 nas 00:01:00:01:2c:1a:3b:4d\n"
    )

    table = parse_dnsmasq_leases(text, "t")

    lease = table.leases["2001:db8::10"]
    assert (lease.mac, lease.client_id) == (None, "00:01:00:01:2c:1a:3b:4d")
    assert (table.declarations, table.bad_lines) == (2, 0)


def test_a_dnsmasq_lease_is_current_until_it_expires() -> None:
    table = parse_dnsmasq_leases(f"{NOON_EPOCH} 52:54:00:00:00:01 192.0.2.1 a *\n", "t")

    assert table.count_current(NOON - timedelta(seconds=1)) == 1
    assert table.count_current(NOON) == 0


def test_damaged_dnsmasq_lines_are_counted_and_the_rest_kept() -> None:
    text = (
        f"{NOON_EPOCH} 52:54:00:00:00:01 192.0.2.1 good *\n"
        f"{NOON_EPOCH} 52:54:00:00:00:02 192.0.2.999 bad-ip *\n"
        f"{NOON_EPOCH} 52:54:00:00:00:03\n"
        f"soon 52:54:00:00:00:04 192.0.2.4 bad-expiry *\n"
        f"{NOON_EPOCH} not-a-mac 192.0.2.5 bad-mac *\n"
        f"{NOON_EPOCH} 52:54:00:00:00:06 192.0.2.6 also-good *\n"
    )

    table = parse_dnsmasq_leases(text, "t")

    assert sorted(table.leases) == ["192.0.2.1", "192.0.2.6"]
    assert table.bad_lines == 4
    assert [bad.line_no for bad in table.bad_examples] == [2, 3, 4, 5]
    assert table.bad_examples[0].reason == "not an IP address: '192.0.2.999'"


# ISC dhcpd --------------------------------------------------------------------------


def test_an_isc_lease_block_is_read() -> None:
    text = isc_lease(
        "192.0.2.7",
        "starts 4 2026/01/01 11:00:00;",
        "ends 4 2026/01/01 13:00:00;",
        "cltt 4 2026/01/01 11:00:00;",
        "binding state active;",
        "next binding state free;",
        "hardware ethernet 52:54:0:0:0:7;",
        'client-hostname "kiosk";',
        'set vendor-class-identifier = "PXEClient:Arch:00000";',
    )

    table = parse_isc_leases(text, "dhcpd.leases")

    assert table.format is LeaseFormat.ISC
    assert table.leases["192.0.2.7"] == Lease(
        ip="192.0.2.7",
        mac="52:54:00:00:00:07",
        hostname="kiosk",
        client_id=None,
        starts=datetime(2026, 1, 1, 11, 0, tzinfo=UTC),
        ends=datetime(2026, 1, 1, 13, 0, tzinfo=UTC),
        state="active",
        source="dhcpd.leases",
    )


def test_last_declaration_for_an_address_wins() -> None:
    text = (
        isc_lease("192.0.2.7", "ends 4 2026/01/01 13:00:00;", "binding state active;")
        + isc_lease("192.0.2.8", "ends 4 2026/01/01 13:00:00;", "binding state free;")
        + isc_lease("192.0.2.7", "ends 4 2026/01/01 11:30:00;", "binding state free;")
    )

    table = parse_isc_leases(text, "t")

    assert table.declarations == 3
    assert len(table.leases) == 2
    assert table.leases["192.0.2.7"].state == "free"
    assert table.leases["192.0.2.7"].ends == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)


def test_ends_never_makes_a_lease_without_end() -> None:
    text = isc_lease("192.0.2.7", "ends never;", "binding state active;")

    table = parse_isc_leases(text, "t")

    assert table.leases["192.0.2.7"].ends is None
    assert table.count_current(NOON + timedelta(days=10_000)) == 1


def test_epoch_times_are_read_too() -> None:
    text = isc_lease("192.0.2.7", f"ends epoch {NOON_EPOCH}; # Thu Jan 01 12:00:00")

    assert parse_isc_leases(text, "t").leases["192.0.2.7"].ends == NOON


def test_octal_escapes_in_a_uid_are_decoded() -> None:
    text = isc_lease("192.0.2.7", r'uid "\001RT\000\252\000P";')

    lease = parse_isc_leases(text, "t").leases["192.0.2.7"]

    assert lease.client_id == "01:52:54:00:aa:00:50"


def test_quoted_escapes_and_punctuation_stay_inside_their_string() -> None:
    text = isc_lease(
        "192.0.2.7",
        r'uid "\"\\\t;";',
        'client-hostname "kiosk; lobby {east} # 2";',
        "binding state active;",
    )

    table = parse_isc_leases(text, "t")

    lease = table.leases["192.0.2.7"]
    assert lease.client_id == "22:5c:09:3b"
    assert lease.hostname == "kiosk; lobby {east} # 2"
    assert table.bad_lines == 0


def test_comments_and_other_top_level_statements_are_not_leases() -> None:
    text = (
        "# The format of this file is documented in dhcpd.leases(5).\n"
        "authoring-byte-order little-endian;\n"
        'failover peer "pair" state {\n'
        "  my state normal at 4 2026/01/01 08:00:00;\n"
        "  partner state normal at 4 2026/01/01 08:00:02;\n"
        "}\n"
        + isc_lease("192.0.2.7", "binding state active; # still active")
        + 'server-duid "\\000\\001\\000\\001,\\032;M";\n'
    )

    table = parse_isc_leases(text, "t")

    assert list(table.leases) == ["192.0.2.7"]
    assert (table.declarations, table.bad_lines) == (1, 0)


def test_an_unclosed_string_skips_only_its_block() -> None:
    text = (
        isc_lease("192.0.2.1", "binding state active;")
        + isc_lease("192.0.2.2", 'client-hostname "cut;', "binding state active;")
        + isc_lease("192.0.2.3", "binding state active;")
    )

    table = parse_isc_leases(text, "dhcpd.leases")

    assert sorted(table.leases) == ["192.0.2.1", "192.0.2.3"]
    assert table.bad_lines == 1
    assert table.bad_examples[0].line_no == 5
    assert table.bad_examples[0].line == '  client-hostname "cut;'
    assert "not closed" in table.bad_examples[0].reason


def test_a_missing_closing_brace_skips_only_its_block() -> None:
    text = "lease 192.0.2.1 {\n  binding state active;\n" + isc_lease(
        "192.0.2.2", "binding state active;"
    )

    table = parse_isc_leases(text, "t")

    assert list(table.leases) == ["192.0.2.2"]
    assert table.bad_examples[0][:2] == (3, "lease 192.0.2.2 {")
    assert "lacks its '}'" in table.bad_examples[0].reason


def test_a_missing_semicolon_skips_only_its_block() -> None:
    text = (
        isc_lease("192.0.2.1", "binding state active", "ends never;")
        + isc_lease("192.0.2.2", "binding state active;")
        + "server-duid 1\n"
        + isc_lease("192.0.2.3", "binding state active;")
    )

    table = parse_isc_leases(text, "t")

    assert sorted(table.leases) == ["192.0.2.2", "192.0.2.3"]
    assert table.bad_lines == 2


@pytest.mark.parametrize(
    "statement",
    [
        "starts 4 2026/02/30 10:00:00;",
        "ends 4 2026/01/01;",
        "hardware ethernet zz:zz;",
        "binding state;",
        r'uid "\777";',
        "client-hostname unquoted;",
    ],
)
def test_an_unreadable_field_skips_its_block(statement: str) -> None:
    text = isc_lease("192.0.2.1", statement) + isc_lease("192.0.2.2", "ends never;")

    table = parse_isc_leases(text, "t")

    assert list(table.leases) == ["192.0.2.2"]
    assert (table.bad_lines, table.bad_examples[0].line_no) == (1, 2)


def test_an_invalid_address_or_unknown_statement_is_a_bad_line() -> None:
    text = (
        isc_lease("192.0.2.300", "ends never;")
        + "nonsense here;\n"
        + isc_lease("192.0.2.2", "ends never;")
    )

    table = parse_isc_leases(text, "t")

    assert list(table.leases) == ["192.0.2.2"]
    assert [bad.line_no for bad in table.bad_examples] == [1, 4]


def test_a_stray_semicolon_or_brace_is_a_bad_line_where_it_stands() -> None:
    text = (
        isc_lease("192.0.2.1", "ends never;")
        + ";\n"
        + isc_lease("192.0.2.2", "ends never;")
        + "}\n"
        + isc_lease("192.0.2.3", "ends never;")
    )

    table = parse_isc_leases(text, "t")

    assert len(table.leases) == 3
    assert [(bad.line_no, bad.line) for bad in table.bad_examples] == [
        (4, ";"),
        (8, "}"),
    ]


def test_a_file_cut_off_inside_a_block_keeps_what_came_before() -> None:
    text = isc_lease("192.0.2.1", "ends never;") + "lease 192.0.2.2 {\n  ends"

    table = parse_isc_leases(text, "t")

    assert list(table.leases) == ["192.0.2.1"]
    assert table.bad_lines == 1


def test_an_isc_lease_is_current_when_active_and_not_ended() -> None:
    text = (
        isc_lease("192.0.2.1", "ends 4 2026/01/01 13:00:00;", "binding state active;")
        + isc_lease("192.0.2.2", "ends 4 2026/01/01 11:00:00;", "binding state active;")
        + isc_lease("192.0.2.3", "ends 4 2026/01/01 13:00:00;", "binding state free;")
        + isc_lease("192.0.2.4", "ends never;", "binding state backup;")
    )

    assert parse_isc_leases(text, "t").count_current(NOON) == 1


# Merging and sync ---------------------------------------------------------------


def lease_ending(ip: str, ends: datetime | None, source: str) -> Lease:
    return Lease(ip, None, None, None, None, ends, "active", source)


def table_of(*held: Lease) -> LeaseTable:
    return LeaseTable(
        "t", LeaseFormat.ISC, {lease.ip: lease for lease in held}, 1, 0, ()
    )


def test_across_files_the_lease_that_ends_last_wins() -> None:
    later = lease_ending("192.0.2.1", NOON, "first")
    never = lease_ending("192.0.2.2", None, "first")
    earlier = lease_ending("192.0.2.1", NOON - timedelta(hours=1), "second")
    ending = lease_ending("192.0.2.2", NOON, "second")

    merged = merge_lease_tables([table_of(later, never), table_of(earlier, ending)])

    assert merged == {"192.0.2.1": later, "192.0.2.2": never}


def test_on_equal_ends_the_later_file_wins() -> None:
    first = lease_ending("192.0.2.1", NOON, "first")
    second = lease_ending("192.0.2.1", NOON, "second")

    merged = merge_lease_tables([table_of(first), table_of(second)])

    assert merged["192.0.2.1"].source == "second"


def test_sync_writes_the_merged_table_as_json(tmp_path: Path) -> None:
    dnsmasq = write(
        tmp_path / "dnsmasq.leases",
        f"{NOON_EPOCH + 60} 52:54:00:00:00:01 192.0.2.10 a *\n"
        f"{NOON_EPOCH} 52:54:00:00:00:02 192.0.2.9 b *\n",
    )
    isc = write(tmp_path / "dhcpd.leases", isc_lease("2001:db8::1", "ends never;"))
    output = tmp_path / "leases.json"

    result = sync_leases([dnsmasq], [isc], output, NOON)

    document = json.loads(output.read_text())
    assert document["generated_at"] == "2026-01-01T12:00:00+00:00"
    assert [row["ip"] for row in document["leases"]] == [
        "192.0.2.9",
        "192.0.2.10",
        "2001:db8::1",
    ]
    assert [row["current"] for row in document["leases"]] == [False, True, True]
    assert document["leases"][0]["ends"] == "2026-01-01T12:00:00+00:00"
    assert result.summary() == (
        "2 files, 3 addresses (2 current), 3 declarations, 0 bad lines"
    )


def test_sync_replaces_the_output_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "dnsmasq.leases", "0 52:54:00:00:00:01 192.0.2.1 a *\n")
    output = write(tmp_path / "leases.json", "{}\n")

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(LeaseSyncError, match=r"leases\.json: No space"):
        sync_leases([source], [], output, NOON)

    assert output.read_text() == "{}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "dnsmasq.leases",
        "leases.json",
    ]


def test_an_unreadable_file_is_reported_and_the_others_still_sync(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "dnsmasq.leases", "0 52:54:00:00:00:01 192.0.2.1 a *\n")
    missing = tmp_path / "dhcpd.leases"

    result = sync_leases([source], [missing], None, NOON)

    assert list(result.leases) == ["192.0.2.1"]
    assert [failure.path for failure in result.unreadable] == [missing]
    assert result.summary().endswith(f", 1 file unreadable: {missing}")


def test_the_sync_fails_only_when_no_file_can_be_read(tmp_path: Path) -> None:
    with pytest.raises(LeaseSyncError, match=r"dhcpd\.leases: No such file"):
        sync_leases([], [tmp_path / "dhcpd.leases"], tmp_path / "out.json", NOON)

    assert not (tmp_path / "out.json").exists()


def test_the_sync_needs_a_timezone_aware_now(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sync_leases([], [], None, datetime(2026, 1, 1))


def test_the_summary_counts_with_thousands_separators() -> None:
    held = {
        f"10.0.{n // 256}.{n % 256}": lease_ending("x", None, "t") for n in range(528)
    }
    table = LeaseTable("t", LeaseFormat.ISC, held, 3_903, 0, ())
    sync = LeaseSync((table, table), (), held, NOON, None)

    assert sync.summary() == (
        "2 files, 528 addresses (528 current), 7,806 declarations, 0 bad lines"
    )


def test_the_example_files_parse_with_their_damaged_lines_counted() -> None:
    now = datetime(2026, 1, 1, 10, 20, tzinfo=UTC)

    result = sync_leases(
        [EXAMPLES / "dnsmasq-example.leases"],
        [EXAMPLES / "dhcpd-example.leases"],
        None,
        now,
    )

    dnsmasq, isc = result.tables
    assert (len(dnsmasq.leases), dnsmasq.bad_lines) == (13, 2)
    assert (len(isc.leases), isc.declarations, isc.bad_lines) == (5, 7, 2)
    assert isc.leases["192.0.2.50"].starts == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    assert isc.leases["192.0.2.52"].ends is None
    assert result.summary() == (
        "2 files, 18 addresses (9 current), 20 declarations, 4 bad lines"
    )

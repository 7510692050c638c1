"""Files written by others, damaged in any way, are read line by line: a bad line or
declaration is counted and the rest kept, never the whole run failed
(docs/stock-jobs.md). Hypothesis writes the damage; a few kinds found by hand are
pinned as examples."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jobdeck.stock.blocklists import parse_blocklist
from jobdeck.stock.leases import MAX_BLOCK_DEPTH, parse_dnsmasq_leases, parse_isc_leases

GOOD_DNSMASQ = "1767268800 52:54:00:00:00:01 192.0.2.1 printer *\n"
GOOD_ISC = "lease 192.0.2.9 {\n  starts 4 2026/01/01 12:00:00;\n}\n"

# The words of both lease formats and of blocklists, some of them wrong in ways a
# reader has to notice: digits that are not ASCII, numbers past any date, strings
# left open, blocks left open or closed twice.
WORDS = st.sampled_from(
    [
        "lease", "192.0.2.1", "::1", "{", "}", ";", "\n", " ", "\t", "#", '"', "\\",
        "starts", "ends", "never", "epoch", "4", "2026/12/05", "12:00:00",
        "binding", "state", "active", "hardware", "ethernet", "aa:bb:cc:dd:ee:ff",
        "uid", "client-hostname", "host", "duid", "T1", "*", "1767268800",
        "99999999999999999999", "-1", "²", "٣", "１", "0.0.0.0", "||", "^", "@@",
        "!", "$third-party", "example.com", "*.example.org", "[Adblock Plus 2.0]",
    ]
)  # fmt: skip
DAMAGED = st.lists(st.one_of(WORDS, st.text(max_size=4)), max_size=80).map("".join)


def lines_with_content(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


@settings(max_examples=300, deadline=None)
@given(DAMAGED)
@example("² aa:bb:cc:dd:ee:01 10.0.0.2 h *")
@example("١٢ aa:bb:cc:dd:ee:01 10.0.0.2 h *")
@example("0 ١-aa 10.0.0.3 h *")
def test_any_dnsmasq_text_is_read_line_by_line(damage: str) -> None:
    table = parse_dnsmasq_leases(damage + "\n" + GOOD_DNSMASQ, "test")

    assert "192.0.2.1" in table.leases
    assert table.declarations + table.bad_lines <= lines_with_content(damage) + 1


@settings(max_examples=300, deadline=None)
@given(DAMAGED)
@example("lease 10.0.0.10 " + "{\n" * 3000)
@example("lease 10.0.0.11 {\n  starts ² 2026/01/01 12:00:00;\n}")
def test_any_dhcpd_text_is_read_declaration_by_declaration(damage: str) -> None:
    table = parse_isc_leases(damage + "\n" + GOOD_ISC, "test")

    assert "192.0.2.9" in table.leases


def test_blocks_nested_past_the_bound_are_one_bad_declaration() -> None:
    deep = "lease 10.0.0.10 " + "{\n" * (MAX_BLOCK_DEPTH + 2)
    table = parse_isc_leases(deep + GOOD_ISC, "test")

    assert list(table.leases) == ["192.0.2.9"]
    assert table.bad_lines == 1


@settings(max_examples=300, deadline=None)
@given(DAMAGED)
def test_any_blocklist_text_is_read_rule_by_rule(damage: str) -> None:
    parsed = parse_blocklist(damage, "test")

    assert parsed.bad_lines <= lines_with_content(damage)

import os
from pathlib import Path

import pytest

from jobdeck.stock import blocklists
from jobdeck.stock.blocklists import (
    BlocklistError,
    BlocklistFormat,
    BlocklistParse,
    BlocklistRefresh,
    detect_format,
    normalise_domain,
    parse_blocklist,
    refresh_blocklists,
)
from jobdeck.stock.files import MAX_BAD_EXAMPLES, BadLine

EXAMPLES = Path(blocklists.__file__).parent / "examples"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# Hosts format -------------------------------------------------------------------


def test_hosts_lines_block_every_name_after_the_address() -> None:
    parse = parse_blocklist(
        "0.0.0.0 a.example b.example\n127.0.0.1 c.example\n:: d.example\n", "t"
    )

    assert parse.format is BlocklistFormat.HOSTS
    assert parse.blocked == {"a.example", "b.example", "c.example", "d.example"}
    assert parse.rules_accepted == 4
    assert parse.bad_lines == 0


def test_comments_are_counted_and_inline_comments_ignored() -> None:
    text = "# header\n\n0.0.0.0 ads.example # tracker\n0.0.0.0 x.example#note\n"

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"ads.example", "x.example"}
    assert parse.comment_lines == 1


def test_local_names_are_skipped_and_counted_apart_from_bad_lines() -> None:
    text = (
        "127.0.0.1 localhost localhost.localdomain\n"
        "::1 localhost ip6-localhost\n"
        "255.255.255.255 broadcasthost\n"
        "0.0.0.0 0.0.0.0\n"
        "0.0.0.0 local\n"
        "0.0.0.0 ads.example\n"
    )

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"ads.example"}
    assert parse.local_names == 7
    assert parse.bad_lines == 0


def test_domains_are_lowercased_and_lose_their_trailing_dot() -> None:
    parse = parse_blocklist("0.0.0.0 Ads.Example.COM.\n", "t")

    assert parse.blocked == {"ads.example.com"}


def test_damaged_lines_are_counted_with_line_numbers_and_the_rest_kept() -> None:
    text = (
        "0.0.0.0 good.example\n"
        "0.0.0 lost-digit.example\n"
        "0.0.0.0 fine.example -bad.example\n"
        "0.0.0.0\n"
        "0.0.0.0 also-good.example\n"
    )

    parse = parse_blocklist(text, "lists/hosts.txt")

    assert parse.blocked == {"good.example", "also-good.example"}
    assert parse.bad_lines == 3
    assert [example.line_no for example in parse.bad_examples] == [2, 3, 4]
    assert parse.bad_examples[0] == BadLine(
        2, "0.0.0 lost-digit.example", "the first field is not an IP address"
    )
    assert "-bad.example" in parse.bad_examples[1].reason


def test_every_bad_line_is_counted_but_only_the_first_twenty_kept() -> None:
    text = "0.0.0.0 ok.example\n" + "0.0.0.0 bad..example\n" * 50

    parse = parse_blocklist(text, "t")

    assert parse.bad_lines == 50
    assert len(parse.bad_examples) == MAX_BAD_EXAMPLES
    assert parse.bad_examples[-1].line_no == MAX_BAD_EXAMPLES + 1


# Adblock format -----------------------------------------------------------------


def test_adblock_block_and_allow_rules_are_read() -> None:
    text = "! Title: t\n||ads.example^\n|exact.example^\n@@||ok.example^\n"

    parse = parse_blocklist(text, "t")

    assert parse.format is BlocklistFormat.ADBLOCK
    assert parse.blocked == {"ads.example", "exact.example"}
    assert parse.allowed == {"ok.example"}


def test_a_rule_with_modifiers_blocks_its_domain() -> None:
    text = "||tv.example^$ctag=device_tv\n||two.example^$ctag=device_tv|device_pc\n"

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"tv.example", "two.example"}
    assert parse.bad_lines == 0


def test_wildcard_rules_are_kept_apart_from_domains() -> None:
    text = (
        "||ads.example^\n"
        "||hbbtv.*.example^\n"
        "||fls-*.example.com^\n"
        "||prefix.example.\n"
        "/^ad[0-9]+\\.example$/\n"
    )

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"ads.example"}
    assert parse.wildcards == {
        "||hbbtv.*.example^",
        "||fls-*.example.com^",
        "||prefix.example.",
        "/^ad[0-9]+\\.example$/",
    }


def test_adblock_comments_headers_and_trailing_comments_are_not_rules() -> None:
    text = (
        "[Adblock Plus 2.0]\n"
        "! comment\n"
        "!||disabled.example^ # reason\n"
        "# also a comment\n"
        "||kept.example^ # https://example.org/why\n"
    )

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"kept.example"}
    assert parse.comment_lines == 4
    assert parse.bad_lines == 0


def test_rules_that_are_not_dns_rules_are_bad_lines() -> None:
    text = (
        "||ads.example^\n||example.com/banner.gif\n||bad..example^\nexample.com##.ad\n"
    )

    parse = parse_blocklist(text, "t")

    assert parse.blocked == {"ads.example"}
    assert parse.bad_lines == 3
    assert parse.wildcards == frozenset()


def test_adblock_lists_also_accept_hosts_lines_and_bare_domains() -> None:
    parse = parse_blocklist("||a.example^\n0.0.0.0 b.example\nc.example\n", "t")

    assert parse.blocked == {"a.example", "b.example", "c.example"}


# Domains-only format and detection -----------------------------------------------


def test_domains_only_lists_take_one_domain_a_line() -> None:
    text = "# list\na.example\nB.example.\nnot a domain\n10.0.0.1\n"

    parse = parse_blocklist(text, "t")

    assert parse.format is BlocklistFormat.DOMAINS
    assert parse.blocked == {"a.example", "b.example"}
    assert parse.bad_lines == 2


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["# hosts", "0.0.0.0 a.example", "127.0.0.1 b.example"], "hosts"),
        (["0.0.0.0 a.example", "b.example"], "hosts"),
        (["a.example", "b.example", "0.0.0.0 c.example"], "domains"),
        (["# only comments", ""], "domains"),
        (["[Adblock Plus 2.0]", "a.example", "b.example"], "adblock"),
        (["0.0.0.0 a.example", "0.0.0.0 b.example", "||c.example^"], "adblock"),
        (["a.example", "b.example^"], "adblock"),
    ],
)
def test_one_adblock_line_makes_an_adblock_list_else_most_lines_decide(
    lines: list[str], expected: str
) -> None:
    assert detect_format(lines) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        ("a" * 64 + ".example", None),
        (".".join(["abcdefghi"] * 25) + ".example", None),
        ("-start.example", None),
        ("end-.example", None),
        ("double..dot", None),
        ("bücher.example", None),
        ("\u212aelvin.example", None),
        ("192.168.0.1", None),
        ("", None),
    ],
)
def test_domain_names_are_validated(name: str, expected: str | None) -> None:
    assert normalise_domain(name) == expected


# Refresh ------------------------------------------------------------------------


def test_allow_rules_remove_blocked_domains_across_lists(tmp_path: Path) -> None:
    hosts = write(tmp_path / "hosts.txt", "0.0.0.0 a.example b.example c.example\n")
    adblock = write(tmp_path / "allow.txt", "@@||b.example^\n||d.example^\n")

    refresh = refresh_blocklists([hosts, adblock], None)

    assert refresh.domains == {"a.example", "c.example", "d.example"}
    assert refresh.allowed == {"b.example"}


def test_refresh_writes_the_merged_list_sorted_one_domain_a_line(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "hosts.txt", "0.0.0.0 b.example a.example\n")
    output = tmp_path / "blocked.txt"

    refresh_blocklists([source], output)

    assert output.read_text() == "a.example\nb.example\n"
    assert output.stat().st_mode & 0o777 == 0o644


def test_refresh_replaces_the_output_in_one_step(tmp_path: Path) -> None:
    source = write(tmp_path / "hosts.txt", "0.0.0.0 new.example\n")
    output = write(tmp_path / "blocked.txt", "old.example\n")
    inode_before = output.stat().st_ino

    refresh_blocklists([source], output)

    assert output.read_text() == "new.example\n"
    assert output.stat().st_ino != inode_before
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "blocked.txt",
        "hosts.txt",
    ]


def test_a_failed_write_leaves_the_old_output_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "hosts.txt", "0.0.0.0 new.example\n")
    output = write(tmp_path / "blocked.txt", "old.example\n")

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(BlocklistError, match=r"blocked\.txt: No space"):
        refresh_blocklists([source], output)

    assert output.read_text() == "old.example\n"
    assert len(list(tmp_path.iterdir())) == 2


def test_an_unreadable_list_is_reported_and_the_others_still_merge(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "hosts.txt", "0.0.0.0 a.example\n")
    missing = tmp_path / "missing.txt"

    refresh = refresh_blocklists([missing, source], None)

    assert refresh.domains == {"a.example"}
    assert [failure.path for failure in refresh.unreadable] == [missing]
    assert "No such file" in refresh.unreadable[0].reason
    assert refresh.summary().endswith(f"1 list unreadable: {missing}")


def test_the_refresh_fails_only_when_no_list_can_be_read(tmp_path: Path) -> None:
    output = write(tmp_path / "blocked.txt", "old.example\n")

    with pytest.raises(BlocklistError, match=r"missing\.txt: No such file"):
        refresh_blocklists([tmp_path / "missing.txt"], output)

    assert output.read_text() == "old.example\n"


def test_undecodable_bytes_spoil_a_rule_but_not_a_comment(tmp_path: Path) -> None:
    source = tmp_path / "hosts.txt"
    source.write_bytes(
        b"# caf\xe9 list\n0.0.0.0 caf\xe9.example\n0.0.0.0 ok.example # \xff\n"
    )

    refresh = refresh_blocklists([source], None)

    parse = refresh.lists[0]
    assert parse.blocked == {"ok.example"}
    assert parse.comment_lines == 1
    assert parse.bad_lines == 1
    assert parse.bad_examples[0].line_no == 2
    assert parse.bad_examples[0].reason == "holds bytes that are not UTF-8"


def test_the_summary_counts_with_thousands_separators() -> None:
    parse = BlocklistParse(
        source="a",
        format=BlocklistFormat.HOSTS,
        blocked=frozenset(f"d{number}.example" for number in range(16_296)),
        allowed=frozenset(f"d{number}.example" for number in range(9)),
        wildcards=frozenset({"||a*.example^", "||b*.example^"}),
        comment_lines=0,
        local_names=0,
        rules_accepted=16_307,
        bad_lines=4,
        bad_examples=(),
    )
    refresh = BlocklistRefresh(
        lists=(parse, parse, parse),
        unreadable=(),
        domains=blocklists.merge_blocklists([parse]),
        output=None,
    )

    assert refresh.summary() == (
        "3 lists, 16,287 domains blocked (9 allowed, 2 wildcard rules), 12 bad lines"
    )


def test_the_example_lists_parse_with_their_damaged_lines_counted() -> None:
    refresh = refresh_blocklists(
        [EXAMPLES / "hosts-example.txt", EXAMPLES / "adblock-example.txt"], None
    )

    hosts, adblock = refresh.lists
    assert (hosts.format, len(hosts.blocked), hosts.local_names) == ("hosts", 15, 6)
    assert hosts.bad_lines == 2
    assert (adblock.format, len(adblock.blocked), len(adblock.allowed)) == (
        "adblock",
        13,
        2,
    )
    assert (len(adblock.wildcards), adblock.bad_lines) == (2, 2)
    assert refresh.summary() == (
        "2 lists, 25 domains blocked (2 allowed, 2 wildcard rules), 4 bad lines"
    )

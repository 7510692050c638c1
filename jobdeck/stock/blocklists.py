"""DNS blocklists: parse hosts, adblock and domains-only lists, and merge them.

Formats
-------
hosts
    ``<address> <name> [<name> ...]``, ``#`` comments, also at the end of a rule.
    Every name on a line whose first field is an IP address is blocked, whatever
    the address: a blocklist uses the address only to send the name nowhere.
adblock
    The DNS subset of Adblock Plus and AdGuard syntax. ``||domain^`` blocks a
    domain, and so do ``|domain^``, a bare ``domain`` and a hosts line (AdGuard
    Home accepts all three); ``@@`` in front makes an allow rule. A rule with
    ``$modifiers`` (``$ctag=``, ``$client=``, ``$important``...) counts as a
    plain rule for its domain: a merged list of domains cannot hold the
    condition, and blocking for everyone is the safer reading. Rules that match
    a pattern rather than one domain (``*`` inside, an anchored rule left open
    without ``^``, a ``/regex/``) are kept apart as wildcard rules. ``!`` and
    ``#`` lines and ``[Adblock Plus ...]`` headers are comments, and so is
    `` # ...`` after a rule.
domains
    One domain per line, ``#`` comments.

The format of each file is detected from its first 200 non-blank lines. One
line of adblock syntax (a ``!`` comment, a ``[...]`` header, a rule starting
with ``|`` or ``@@`` or ending with ``^``) makes it adblock, since adblock lists
may hold the other two kinds of line as well. Otherwise it is hosts when at
least half of its rule lines start with an IP address, and domains if not.

Domain names are lowercased and lose a trailing dot. Labels are 1 to 63 ASCII
letters, digits, hyphens or underscores, not starting or ending with a hyphen;
the whole name is at most 253 characters and its last label is not all digits
(that would be an IPv4 address). Names are expected already in punycode.

Names such as ``localhost`` or ``broadcasthost`` that hosts files carry for the
machine itself are skipped and counted as local names, not as bad lines.

A bad line is any line that is neither blank, a comment nor a valid rule. A
line is taken or rejected whole: one invalid name on a hosts line rejects the
others on it. Bytes that are not UTF-8 are replaced while reading; a rule that
holds one is bad, a comment that holds one is still a comment.

Limits: an allow rule removes exactly its domain from the merged list, not the
subdomains that a blocked parent rule also covers, and wildcard rules are
counted but not applied to the merged list.
"""

import ipaddress
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from jobdeck.errors import JobdeckError
from jobdeck.stock.files import (
    BadLine,
    BadLines,
    UnreadableFile,
    counted,
    damage_summary,
    nothing_read_message,
    parse_inputs,
    write_atomically,
    write_errors_as,
)

_DETECTION_SAMPLE = 200

LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "0.0.0.0",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
    }
)
"""Names hosts files give the machine itself; never blocked, counted apart."""

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_ADBLOCK_START = ("!", "[", "|", "@@")
_INLINE_ADBLOCK_COMMENT = re.compile(r"\s+#.*$")


class BlocklistFormat(StrEnum):
    HOSTS = "hosts"
    ADBLOCK = "adblock"
    DOMAINS = "domains"


@dataclass(frozen=True)
class BlocklistParse:
    """What one list holds; ``rules_accepted`` counts every accepted entry."""

    source: str
    format: BlocklistFormat
    blocked: frozenset[str]
    allowed: frozenset[str]
    wildcards: frozenset[str]
    comment_lines: int
    local_names: int
    rules_accepted: int
    bad_lines: int
    bad_examples: tuple[BadLine, ...]


@dataclass(frozen=True)
class BlocklistRefresh:
    """The merged result: every blocked domain that no list allows."""

    lists: tuple[BlocklistParse, ...]
    unreadable: tuple[UnreadableFile, ...]
    domains: frozenset[str]
    output: Path | None

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset().union(*(parse.allowed for parse in self.lists))

    @property
    def wildcards(self) -> frozenset[str]:
        return frozenset().union(*(parse.wildcards for parse in self.lists))

    @property
    def bad_lines(self) -> int:
        return sum(parse.bad_lines for parse in self.lists)

    def summary(self) -> str:
        return (
            f"{counted(len(self.lists), 'list')}, "
            f"{counted(len(self.domains), 'domain')} blocked "
            f"({len(self.allowed):,} allowed, "
            f"{counted(len(self.wildcards), 'wildcard rule')}), "
            f"{damage_summary(self.bad_lines, self.unreadable, 'list')}"
        )


class BlocklistError(JobdeckError):
    """No list could be read, or the merged list could not be written."""


class _BadRule(Exception):
    """Raised by a line reader; the message says why the line was rejected."""


class _Entry(NamedTuple):
    kind: str
    value: str


_BLOCK = "block"
_ALLOW = "allow"
_WILDCARD = "wildcard"
_LOCAL = "local"


def normalise_domain(name: str) -> str | None:
    """Return ``name`` lowercased without a trailing dot, or None if invalid."""
    domain = name.lower().removesuffix(".")
    if not name.isascii() or not domain or len(domain) > 253:
        return None

    labels = domain.split(".")
    if labels[-1].isdigit():
        return None
    if all(_LABEL.fullmatch(label) for label in labels):
        return domain

    return None


def detect_format(lines: Iterable[str]) -> BlocklistFormat:
    """Tell a list's format from its first non-blank lines (see module doc)."""
    stripped = (line.strip() for line in lines)
    sample = itertools.islice(filter(None, stripped), _DETECTION_SAMPLE)
    hosts_lines = domain_lines = 0
    for line in sample:
        if line.startswith(_ADBLOCK_START) or line.endswith("^"):
            return BlocklistFormat.ADBLOCK
        if line.startswith("#"):
            continue
        if _is_ip_address(line.split()[0]):
            hosts_lines += 1
        else:
            domain_lines += 1

    if hosts_lines and hosts_lines >= domain_lines:
        return BlocklistFormat.HOSTS
    return BlocklistFormat.DOMAINS


def parse_blocklist(text: str, source: str) -> BlocklistParse:
    """Parse one list; ``source`` names it in the result and in messages."""
    lines = text.split("\n")
    list_format = detect_format(lines)
    tally = _Tally()
    for line_no, raw in enumerate(lines, start=1):
        tally.read_line(line_no, raw.rstrip("\r"), list_format)

    return tally.result(source, list_format)


class _Tally:
    """Accumulates one list's entries and counts while its lines are read."""

    def __init__(self) -> None:
        self.entries: dict[str, set[str]] = {
            _BLOCK: set(),
            _ALLOW: set(),
            _WILDCARD: set(),
        }
        self.comment_lines = 0
        self.local_names = 0
        self.rules_accepted = 0
        self.bad_lines = BadLines()

    def read_line(self, line_no: int, line: str, list_format: BlocklistFormat) -> None:
        stripped = line.strip()
        if not stripped:
            return
        if _is_comment(stripped, list_format):
            self.comment_lines += 1
            return

        rule = _without_inline_comment(stripped, list_format)
        try:
            entries = _read_rule(rule, list_format)
        except _BadRule as bad:
            self.bad_lines.add(line_no, line, str(bad))
            return
        for entry in entries:
            self._accept(entry)

    def _accept(self, entry: _Entry) -> None:
        if entry.kind == _LOCAL:
            self.local_names += 1
            return

        self.entries[entry.kind].add(entry.value)
        self.rules_accepted += 1

    def result(self, source: str, list_format: BlocklistFormat) -> BlocklistParse:
        return BlocklistParse(
            source=source,
            format=list_format,
            blocked=frozenset(self.entries[_BLOCK]),
            allowed=frozenset(self.entries[_ALLOW]),
            wildcards=frozenset(self.entries[_WILDCARD]),
            comment_lines=self.comment_lines,
            local_names=self.local_names,
            rules_accepted=self.rules_accepted,
            bad_lines=self.bad_lines.count,
            bad_examples=tuple(self.bad_lines.examples),
        )


def _is_comment(line: str, list_format: BlocklistFormat) -> bool:
    if line.startswith("#"):
        return True
    if list_format is not BlocklistFormat.ADBLOCK:
        return False

    return line.startswith("!") or (line.startswith("[") and line.endswith("]"))


def _without_inline_comment(line: str, list_format: BlocklistFormat) -> str:
    # In adblock rules a "#" can belong to the rule (cosmetic "##" rules), so
    # only a "#" after white space starts a comment there.
    if list_format is BlocklistFormat.ADBLOCK:
        return _INLINE_ADBLOCK_COMMENT.sub("", line)

    return line.partition("#")[0].strip()


def _read_rule(rule: str, list_format: BlocklistFormat) -> list[_Entry]:
    if "\ufffd" in rule:
        raise _BadRule("holds bytes that are not UTF-8")

    fields = rule.split()
    if list_format is not BlocklistFormat.DOMAINS and _is_ip_address(fields[0]):
        return _hosts_entries(fields)
    if list_format is BlocklistFormat.HOSTS:
        raise _BadRule("the first field is not an IP address")
    if len(fields) > 1:
        raise _BadRule("more than one field on a line")
    if list_format is BlocklistFormat.DOMAINS:
        return [_name_entry(rule, _BLOCK)]

    return [_adblock_entry(rule)]


def _hosts_entries(fields: list[str]) -> list[_Entry]:
    if len(fields) == 1:
        raise _BadRule("an address without a host name")

    return [_name_entry(name, _BLOCK) for name in fields[1:]]


def _name_entry(name: str, kind: str) -> _Entry:
    if name.lower().removesuffix(".") in LOCAL_NAMES:
        return _Entry(_LOCAL, name)

    domain = normalise_domain(name)
    if domain is None:
        raise _BadRule(f"not a domain name: {name!r}")

    return _Entry(kind, domain)


def _adblock_entry(rule: str) -> _Entry:
    kind = _ALLOW if rule.startswith("@@") else _BLOCK
    body = rule.removeprefix("@@")
    if len(body) > 2 and body.startswith("/") and body.endswith("/"):
        return _Entry(_WILDCARD, rule)

    # Modifiers narrow a rule to some clients; see the module doc.
    pattern = body.partition("$")[0]
    anchored = pattern.startswith("|")
    host = pattern.lstrip("|")
    closed = host.endswith(("^", "|"))
    host = host.rstrip("|").removesuffix("^")
    if "*" in host or (anchored and not closed):
        return _wildcard_entry(host, rule)

    return _name_entry(host, kind)


def _wildcard_entry(host: str, rule: str) -> _Entry:
    # A pattern must still read as a domain once its wildcards are filled in;
    # anything else (a URL path, a port) is no DNS rule at all.
    if normalise_domain(host.replace("*", "x").rstrip(".")) is None:
        raise _BadRule(f"not a domain pattern: {host!r}")

    return _Entry(_WILDCARD, rule)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False

    return True


def refresh_blocklists(paths: Sequence[Path], output: Path | None) -> BlocklistRefresh:
    """Read, parse and merge the lists; write the merged domains to ``output``.

    A list that cannot be read is reported in the result; the refresh fails
    only when no list at all could be read or ``output`` cannot be written, and
    then leaves ``output`` as it was.
    """
    lists, unreadable = parse_inputs((path, parse_blocklist) for path in paths)
    if not lists:
        raise BlocklistError(nothing_read_message("blocklist", unreadable))
    domains = merge_blocklists(lists)
    if output is not None:
        with write_errors_as(BlocklistError, output):
            write_domains(output, domains)

    return BlocklistRefresh(tuple(lists), tuple(unreadable), domains, output)


def merge_blocklists(lists: Iterable[BlocklistParse]) -> frozenset[str]:
    """Every domain some list blocks, less every domain some list allows."""
    parses = list(lists)
    blocked = frozenset().union(*(parse.blocked for parse in parses))
    allowed = frozenset().union(*(parse.allowed for parse in parses))

    return blocked - allowed


def write_domains(output: Path, domains: Iterable[str]) -> None:
    """Write one domain a line, sorted, replacing ``output`` in one step.

    Readers of ``output`` see either the old list or the new one, never half.
    """
    text = "".join(f"{domain}\n" for domain in sorted(domains))
    write_atomically(output, text)

"""DHCP leases: read dnsmasq and ISC dhcpd lease files into one table.

dnsmasq
    One lease a line, ``<expiry> <mac> <ip> <hostname|*> <client-id|*>``, the
    expiry in seconds since the epoch, 0 for a lease that never ends. A server
    that also hands out IPv6 addresses writes a ``duid <server-duid>`` line,
    then lines ``<expiry> <iaid> <ipv6> <hostname|*> <client-duid|*>``. Every
    line is an active lease; it is current until it expires.
ISC dhcpd
    ``lease <ip> { ... }`` declarations among top-level statements such as
    ``server-duid``, ``authoring-byte-order`` or ``failover peer``. The file is
    a journal: dhcpd appends a declaration each time a lease changes, so the
    last declaration for an address wins. Dates are UTC (``ends never`` for a
    lease without end), strings may hold octal escapes and ``#`` starts a
    comment outside strings. A lease is current when its binding state is
    ``active`` and it has not ended.

Damage is counted, never fatal. A dnsmasq line that does not parse is a bad
line. In a dhcpd file, a statement that does not parse (a string not closed on
its line, a missing brace or semicolon, an invalid address or date, an unknown
top-level keyword) is skipped whole and counted once as a bad line, at the line
where the damage was found; reading resumes at the next ``lease <ip> {``.

When several files hold the same address, the lease that ends last wins, a
lease that never ends beating any other; on a tie the file read later wins
(dnsmasq files are read before dhcpd files, each group in the order given).

Limits: dhcpd's DHCPv6 declarations (``ia-na``, ``ia-ta``, ``ia-pd``) are
skipped. A dhcpd declaration without ``binding state`` counts as active (dhcpd
before 3.0 wrote none) and one without ``ends`` as never ending.
"""

import bisect
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

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

_NEVER = datetime.max.replace(tzinfo=UTC)
# ASCII digits only: Python's \d and str.isdigit() also take "²" or "٣", which
# int() then refuses.
_MAC = re.compile(r"(?:\d+-)?[0-9a-f]{1,2}(?::[0-9a-f]{1,2})*", re.ASCII)
_IAID = re.compile(r"T?\d+", re.ASCII)
MAX_BLOCK_DEPTH = 16
_TOP_LEVEL_KEYWORDS = frozenset(
    {
        "lease",
        "host",
        "group",
        "class",
        "subclass",
        "failover",
        "server-duid",
        "authoring-byte-order",
        "ia-na",
        "ia-ta",
        "ia-pd",
    }
)


class LeaseFormat(StrEnum):
    DNSMASQ = "dnsmasq"
    ISC = "isc"


@dataclass(frozen=True)
class Lease:
    """One address as its lease file last declared it; ``ends`` None: never."""

    ip: str
    mac: str | None
    hostname: str | None
    client_id: str | None
    starts: datetime | None
    ends: datetime | None
    state: str
    source: str

    def is_current(self, now: datetime) -> bool:
        return self.state == "active" and (self.ends is None or self.ends > now)


@dataclass(frozen=True)
class LeaseTable:
    """One file's leases by address; ``declarations`` counts those accepted."""

    source: str
    format: LeaseFormat
    leases: Mapping[str, Lease]
    declarations: int
    bad_lines: int
    bad_examples: tuple[BadLine, ...]

    def count_current(self, now: datetime) -> int:
        return sum(lease.is_current(now) for lease in self.leases.values())


@dataclass(frozen=True)
class LeaseSync:
    """Every file's leases merged by address, as seen at ``now``."""

    tables: tuple[LeaseTable, ...]
    unreadable: tuple[UnreadableFile, ...]
    leases: Mapping[str, Lease]
    now: datetime
    output: Path | None

    @property
    def current(self) -> int:
        return sum(lease.is_current(self.now) for lease in self.leases.values())

    @property
    def declarations(self) -> int:
        return sum(table.declarations for table in self.tables)

    @property
    def bad_lines(self) -> int:
        return sum(table.bad_lines for table in self.tables)

    def summary(self) -> str:
        return (
            f"{counted(len(self.tables), 'file')}, "
            f"{counted(len(self.leases), 'address', 'addresses')} "
            f"({self.current:,} current), "
            f"{counted(self.declarations, 'declaration')}, "
            f"{damage_summary(self.bad_lines, self.unreadable, 'file')}"
        )


class LeaseSyncError(JobdeckError):
    """No lease file could be read, or the table could not be written."""


class _Damage(Exception):
    """Why a lease cannot be read; ``offset`` points into a dhcpd file's text."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset


@dataclass
class _Collector:
    """Accumulates one file's leases and damage while it is read."""

    source: str
    leases: dict[str, Lease] = field(default_factory=dict)
    declarations: int = 0
    bad_lines: BadLines = field(default_factory=BadLines)

    def accept(self, lease: Lease) -> None:
        self.leases[lease.ip] = lease
        self.declarations += 1

    def table(self, lease_format: LeaseFormat) -> LeaseTable:
        return LeaseTable(
            source=self.source,
            format=lease_format,
            leases=MappingProxyType(dict(self.leases)),
            declarations=self.declarations,
            bad_lines=self.bad_lines.count,
            bad_examples=tuple(self.bad_lines.examples),
        )


# dnsmasq ----------------------------------------------------------------------


def parse_dnsmasq_leases(text: str, source: str) -> LeaseTable:
    """Parse a dnsmasq lease file; ``source`` names it in leases and messages."""
    collector = _Collector(source)
    for line_no, raw in enumerate(text.split("\n"), start=1):
        fields = raw.split()
        if not fields or (fields[0] == "duid" and len(fields) == 2):
            continue
        try:
            collector.accept(_dnsmasq_lease(fields, source))
        except _Damage as damage:
            collector.bad_lines.add(line_no, raw.rstrip("\r"), str(damage))

    return collector.table(LeaseFormat.DNSMASQ)


def _dnsmasq_lease(fields: list[str], source: str) -> Lease:
    if len(fields) not in (4, 5):
        raise _Damage(0, f"expected 5 fields, found {len(fields)}")
    expiry, hardware, address, hostname = fields[:4]
    client_id = fields[4] if len(fields) == 5 else "*"

    ip = _ip_address(address, 0)
    if ip.version == 4 and not _MAC.fullmatch(hardware.lower()):
        raise _Damage(0, f"not a hardware address: {hardware!r}")
    if ip.version == 6 and not _IAID.fullmatch(hardware):
        raise _Damage(0, f"not an IAID: {hardware!r}")

    return Lease(
        ip=str(ip),
        mac=hardware.lower() if ip.version == 4 else None,
        hostname=None if hostname == "*" else hostname,
        client_id=None if client_id == "*" else client_id.lower(),
        starts=None,
        ends=_dnsmasq_expiry(expiry),
        state="active",
        source=source,
    )


def _dnsmasq_expiry(text: str) -> datetime | None:
    if not _is_number(text):
        raise _Damage(0, f"not an expiry time: {text!r}")
    if int(text) == 0:
        return None

    return _from_epoch(text, 0)


# ISC dhcpd: tokens ------------------------------------------------------------

# White space is taken in front of each token, which halves the matches made.
_TOKEN = re.compile(
    r"""
    \s*
    (?:
      (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\\n]|\\[^\n])*")
    | (?P<open_string>"(?:[^"\\\n]|\\[^\n])*\\?)
    | (?P<punctuation>[{};=,])
    | (?P<word>[^\s{};=,"\#]+)
    )
    """,
    re.VERBOSE,
)


class _Token(NamedTuple):
    """``kind`` is word, string, open_string, or the punctuation mark itself."""

    kind: str
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None or kind == "comment":
            continue
        word = match.group(kind)
        tokens.append(
            _Token(word if kind == "punctuation" else kind, word, match.start(kind))
        )

    return tokens


# ISC dhcpd: statements --------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    """``words ;`` or ``words { body }``, as the dhcpd grammar nests them."""

    words: tuple[_Token, ...]
    body: tuple["_Statement", ...] | None
    offset: int


class _StatementReader:
    """Reads statements from a token list, raising _Damage where they break."""

    def __init__(self, tokens: list[_Token], end_offset: int) -> None:
        self.tokens = tokens
        self.position = 0
        self.end_offset = end_offset

    def at_end(self) -> bool:
        return self.position >= len(self.tokens)

    def statement(self, depth: int = 0) -> _Statement:
        """The next statement, inside `depth` blocks (0: at the top level)."""
        offset = self.tokens[self.position].offset
        words: list[_Token] = []
        while not self.at_end():
            index = self.position
            token = self.tokens[index]
            self.position += 1
            if token.kind == ";":
                return _Statement(tuple(words), None, offset)
            if token.kind == "{":
                return _Statement(tuple(words), self._body(token, depth + 1), offset)
            _check_word(token, words)
            if token.text == "lease" and (words or depth):
                self._check_no_lease_at(index, bool(words))
            words.append(token)

        raise _Damage(self.end_offset, "the file ends in the middle of a statement")

    def _body(self, opening: _Token, depth: int) -> tuple[_Statement, ...]:
        # dhcpd nests a block or two; a damaged file could nest thousands, and
        # the recursion would fail the whole sync, not this declaration.
        if depth > MAX_BLOCK_DEPTH:
            raise _Damage(opening.offset, f"blocks nested over {MAX_BLOCK_DEPTH} deep")
        statements: list[_Statement] = []
        while not self.at_end():
            if self.tokens[self.position].kind == "}":
                self.position += 1
                return tuple(statements)
            statements.append(self.statement(depth))

        raise _Damage(opening.offset, "this block is not closed by '}'")

    def _check_no_lease_at(self, index: int, inside_statement: bool) -> None:
        # "lease <ip> {" only starts top-level declarations: met anywhere else,
        # it means the statement or block before it was cut short.
        if not self._lease_starts_at(index):
            return

        offset = self.tokens[index].offset
        if inside_statement:
            raise _Damage(offset, "the statement before this lease lacks its ';'")
        raise _Damage(offset, "the block before this lease lacks its '}'")

    def skip_to_next_lease(self, start: int) -> None:
        """Move to the first ``lease <ip> {`` after token ``start``."""
        index = start + 1
        while index < len(self.tokens) and not self._lease_starts_at(index):
            index += 1

        self.position = index

    def _lease_starts_at(self, index: int) -> bool:
        tokens = self.tokens
        return (
            index + 2 < len(tokens)
            and tokens[index].text == "lease"
            and tokens[index].kind == "word"
            and tokens[index + 1].kind == "word"
            and tokens[index + 2].kind == "{"
        )


def _check_word(token: _Token, words: list[_Token]) -> None:
    if token.kind == "open_string":
        raise _Damage(token.offset, "a quoted string is not closed on its line")
    if token.kind == "}":
        reason = "a ';' is missing before '}'" if words else "'}' closes no block"
        raise _Damage(token.offset, reason)


# ISC dhcpd: leases ------------------------------------------------------------


def parse_isc_leases(text: str, source: str) -> LeaseTable:
    """Parse a dhcpd.leases journal; the last declaration for an address wins."""
    reader = _StatementReader(_tokens(text), len(text))
    lines = _LineIndex(text)
    collector = _Collector(source)
    while not reader.at_end():
        try:
            lease = _next_declaration(reader, source)
        except _Damage as damage:
            line_no = lines.number(damage.offset)
            collector.bad_lines.add(line_no, lines.text(line_no), str(damage))
            continue
        if lease is not None:
            collector.accept(lease)

    return collector.table(LeaseFormat.ISC)


def _next_declaration(reader: _StatementReader, source: str) -> Lease | None:
    start = reader.position
    try:
        statement = reader.statement()
    except _Damage:
        # Where a statement breaks, its end is unknown: resume at the next
        # lease. A statement that only holds a bad value ends where it should.
        reader.skip_to_next_lease(start)
        raise

    return _top_level(statement, source)


def _top_level(statement: _Statement, source: str) -> Lease | None:
    keyword = statement.words[0].text if statement.words else ""
    if keyword not in _TOP_LEVEL_KEYWORDS:
        raise _Damage(statement.offset, "not a statement of a dhcpd lease file")
    if keyword != "lease":
        return None

    return _isc_lease(statement, source)


def _isc_lease(statement: _Statement, source: str) -> Lease:
    if len(statement.words) != 2 or statement.body is None:
        raise _Damage(statement.offset, "expected 'lease <address> {'")
    ip = _ip_address(statement.words[1].text, statement.words[1].offset)

    values: dict[str, Any] = {"state": "active"}
    for inner in statement.body:
        values.update(_lease_values(inner))

    return Lease(
        ip=str(ip),
        mac=values.get("mac"),
        hostname=values.get("hostname"),
        client_id=values.get("client_id"),
        starts=values.get("starts"),
        ends=values.get("ends"),
        state=values["state"],
        source=source,
    )


def _lease_values(statement: _Statement) -> dict[str, Any]:
    """The Lease fields one statement inside a lease block sets, if any."""
    words = statement.words
    name = words[0].text if words else ""
    reader = _LEASE_STATEMENTS.get(name)
    if reader is None or statement.body is not None:
        return {}

    return reader(words)


def _read_time(words: tuple[_Token, ...]) -> dict[str, Any]:
    name, when = words[0].text, words[1:]
    if len(when) == 1 and when[0].text == "never":
        return {name: None}
    if len(when) == 2 and when[0].text == "epoch":
        return {name: _from_epoch(when[1].text, when[1].offset)}
    if len(when) != 3 or not _is_number(when[0].text):
        raise _Damage(words[0].offset, f"unreadable {name} time")

    try:
        stamp = datetime.strptime(f"{when[1].text} {when[2].text}", "%Y/%m/%d %H:%M:%S")
    except ValueError:
        raise _Damage(when[1].offset, f"unreadable {name} time") from None

    return {name: stamp.replace(tzinfo=UTC)}


def _read_binding(words: tuple[_Token, ...]) -> dict[str, Any]:
    if len(words) != 3 or words[1].text != "state" or words[2].kind != "word":
        raise _Damage(words[0].offset, "expected 'binding state <state>'")

    return {"state": words[2].text.lower()}


def _read_hardware(words: tuple[_Token, ...]) -> dict[str, Any]:
    address = words[-1].text.lower()
    if len(words) != 3 or not _MAC.fullmatch(address):
        raise _Damage(words[0].offset, "expected 'hardware <type> <address>'")

    return {"mac": ":".join(octet.zfill(2) for octet in address.split(":"))}


def _read_uid(words: tuple[_Token, ...]) -> dict[str, Any]:
    if len(words) != 2:
        raise _Damage(words[0].offset, "expected 'uid <client id>'")
    if words[1].kind == "word":
        return {"client_id": words[1].text.lower()}

    uid = _unquote(words[1])
    return {"client_id": ":".join(f"{byte:02x}" for byte in uid)}


def _read_client_hostname(words: tuple[_Token, ...]) -> dict[str, Any]:
    if len(words) != 2 or words[1].kind != "string":
        raise _Damage(words[0].offset, "expected 'client-hostname \"<name>\"'")

    return {"hostname": _unquote(words[1]).decode("utf-8", errors="replace")}


_LEASE_STATEMENTS: dict[str, Callable[[tuple[_Token, ...]], dict[str, Any]]] = {
    "starts": _read_time,
    "ends": _read_time,
    "binding": _read_binding,
    "hardware": _read_hardware,
    "uid": _read_uid,
    "client-hostname": _read_client_hostname,
}
"""Statements that set a Lease field; dhcpd writes others (cltt, set...) too."""

_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))")
_NAMED_ESCAPES = {"n": 10, "t": 9, "r": 13, "b": 8}


def _unquote(token: _Token) -> bytes:
    """The bytes of a quoted dhcpd string, escapes resolved as dhcpd reads them."""
    inner = token.text[1:-1]
    data = bytearray()
    position = 0
    for match in _ESCAPE.finditer(inner):
        data += inner[position : match.start()].encode("utf-8")
        data.append(_escaped_byte(match, token))
        position = match.end()
    data += inner[position:].encode("utf-8")

    return bytes(data)


def _escaped_byte(match: re.Match[str], token: _Token) -> int:
    octal, hexadecimal, other = match.groups()
    if hexadecimal:
        return int(hexadecimal, 16)
    if other:
        return _NAMED_ESCAPES.get(other, ord(other) & 0xFF)
    if int(octal, 8) > 0xFF:
        raise _Damage(token.offset, f"octal escape out of range: \\{octal}")

    return int(octal, 8)


class _LineIndex:
    """Line numbers and texts for offsets, for the few lines that are bad."""

    def __init__(self, text: str) -> None:
        self.text_lines = text.split("\n")
        self.starts = [0]
        for line in self.text_lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def number(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def text(self, line_no: int) -> str:
        return self.text_lines[line_no - 1].rstrip("\r")


# Shared by both formats -------------------------------------------------------


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip_address(text: str, offset: int) -> _Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise _Damage(offset, f"not an IP address: {text!r}") from None


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _from_epoch(text: str, offset: int) -> datetime:
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise _Damage(offset, f"not a time: {text!r}") from None


# Sync -------------------------------------------------------------------------


def sync_leases(
    dnsmasq_paths: Sequence[Path],
    isc_paths: Sequence[Path],
    output: Path | None,
    now: datetime,
) -> LeaseSync:
    """Read every lease file, merge them by address, write the JSON table.

    A file that cannot be read is reported in the result; the sync fails only
    when no file at all could be read or ``output`` cannot be written, and then
    leaves ``output`` as it was.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tables, unreadable = parse_inputs(_planned_reads(dnsmasq_paths, isc_paths))
    if not tables:
        raise LeaseSyncError(nothing_read_message("lease file", unreadable))
    leases = merge_lease_tables(tables)
    if output is not None:
        with write_errors_as(LeaseSyncError, output):
            write_lease_table(output, leases, now)

    frozen = MappingProxyType(leases)
    return LeaseSync(tuple(tables), tuple(unreadable), frozen, now, output)


_Parser = Callable[[str, str], LeaseTable]


def _planned_reads(
    dnsmasq_paths: Sequence[Path], isc_paths: Sequence[Path]
) -> list[tuple[Path, _Parser]]:
    dnsmasq: list[tuple[Path, _Parser]] = [
        (path, parse_dnsmasq_leases) for path in dnsmasq_paths
    ]
    return dnsmasq + [(path, parse_isc_leases) for path in isc_paths]


def merge_lease_tables(tables: Iterable[LeaseTable]) -> dict[str, Lease]:
    """One lease per address: the one that ends last, later tables on a tie."""
    merged: dict[str, Lease] = {}
    for table in tables:
        for ip, lease in table.leases.items():
            held = merged.get(ip)
            if held is None or _end_order(lease) >= _end_order(held):
                merged[ip] = lease

    return merged


def _end_order(lease: Lease) -> datetime:
    return _NEVER if lease.ends is None else lease.ends


def write_lease_table(output: Path, leases: Mapping[str, Lease], now: datetime) -> None:
    """Write the leases as JSON, sorted by address, replacing ``output`` at once.

    ``{"generated_at": ..., "leases": [{"ip", "mac", "hostname", "client_id",
    "starts", "ends", "state", "current", "source"}, ...]}``, times in ISO 8601
    UTC, ``ends`` null for a lease that never ends, ``current`` as of ``now``.
    """
    ordered = sorted(leases.values(), key=lambda lease: _address_order(lease.ip))
    document = {
        "generated_at": now.isoformat(),
        "leases": [_lease_json(lease, now) for lease in ordered],
    }
    write_atomically(output, json.dumps(document, indent=2) + "\n")


def _address_order(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return address.version, int(address)


def _lease_json(lease: Lease, now: datetime) -> dict[str, Any]:
    return {
        "ip": lease.ip,
        "mac": lease.mac,
        "hostname": lease.hostname,
        "client_id": lease.client_id,
        "starts": lease.starts.isoformat() if lease.starts else None,
        "ends": lease.ends.isoformat() if lease.ends else None,
        "state": lease.state,
        "current": lease.is_current(now),
        "source": lease.source,
    }

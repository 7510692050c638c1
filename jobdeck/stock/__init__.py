"""The stock jobs of `jobdeck serve` (SPEC §11), registered like a user's jobs.

Each job's inputs come from the `[stock.<job-name>]` table of the config file; with
none given, the dns and dhcp jobs read the example inputs shipped in
`jobdeck/stock/examples`, so a fresh server has real work to show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobdeck.deck import Deck
from jobdeck.errors import InvalidInput
from jobdeck.intervals import parse_interval
from jobdeck.jobs import Job, define_job
from jobdeck.stock.backups import backup_database
from jobdeck.stock.blocklists import refresh_blocklists
from jobdeck.stock.leases import sync_leases
from jobdeck.stock.system_metrics import collect_metrics

EXAMPLES = Path(__file__).parent / "examples"


@dataclass(frozen=True)
class StockContext:
    deck: Deck
    data_dir: Path
    sqlite_file: Path | None


Options = dict[str, Any]


def register_stock_jobs(
    context: StockContext, options: Mapping[str, Mapping[str, Any]]
) -> None:
    """Add the stock jobs to the deck; `options` is the `[stock]` table by job name."""
    unknown = set(options) - set(STOCK_JOBS)
    if unknown:
        raise InvalidInput(f"[stock]: unknown jobs {sorted(unknown)}")

    for name, factory in STOCK_JOBS.items():
        table = dict(options.get(name, {}))
        interval = table.pop("interval", None)
        job = factory(table, context, interval)
        if table:
            raise InvalidInput(f"[stock.{name}]: unknown keys {sorted(table)}")
        if job is not None:
            context.deck.add(job)


def metrics_collect(table: Options, context: StockContext, interval: str | None) -> Job:
    disk = Path(table.pop("disk_path", context.data_dir))

    def sample() -> str:
        return collect_metrics(disk_path=disk).summary()

    return define_job(
        "metrics-collect",
        interval or "1m",
        sample,
        category="system",
        description="Samples load, memory, disk and this process.",
    )


def blocklist_refresh(
    table: Options, context: StockContext, interval: str | None
) -> Job:
    examples = ["hosts-example.txt", "adblock-example.txt"]
    sources = _paths(table.pop("sources", None), examples)
    output = Path(table.pop("output", context.data_dir / "blocklist.txt"))

    def refresh() -> str:
        return refresh_blocklists(sources, output).summary()

    return define_job(
        "blocklist-refresh",
        interval or "1h",
        refresh,
        category="dns",
        description="Merges the hosts and adblock lists into one blocklist.",
    )


def dhcp_lease_sync(table: Options, context: StockContext, interval: str | None) -> Job:
    dnsmasq = _paths(table.pop("dnsmasq", None), ["dnsmasq-example.leases"])
    isc = _paths(table.pop("isc", None), ["dhcpd-example.leases"])
    output = Path(table.pop("output", context.data_dir / "leases.json"))

    def sync() -> str:
        return sync_leases(dnsmasq, isc, output, datetime.now(UTC)).summary()

    return define_job(
        "dhcp-lease-sync",
        interval or "5m",
        sync,
        category="dhcp",
        description="Reads the dnsmasq and ISC dhcpd lease files into one table.",
    )


def db_backup(
    table: Options, context: StockContext, interval: str | None
) -> Job | None:
    keep = table.pop("keep", 7)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise InvalidInput(
            f"[stock.db-backup] keep must be a whole number ≥ 1, not {keep!r}"
        )
    target = Path(table.pop("directory", context.data_dir / "backups"))
    database = context.sqlite_file
    if database is None:
        return None  # PostgreSQL has its own backup tools; see docs/stock-jobs.md

    def backup() -> str:
        return backup_database(database, target, keep, datetime.now(UTC)).summary()

    return define_job(
        "db-backup",
        interval or "1d",
        backup,
        category="system",
        description="Copies the database online, checks the copy, keeps the newest.",
    )


def history_retention(
    table: Options, context: StockContext, interval: str | None
) -> Job:
    keep_s = parse_interval(table.pop("keep", "30d"))
    deck = context.deck

    async def prune() -> str:
        cut = datetime.now(UTC) - timedelta(seconds=keep_s)
        removed = await deck.prune_history(older_than=cut)
        return f"removed {removed:,} runs that started before {cut:%Y-%m-%d %H:%M}Z"

    return define_job(
        "history-retention",
        interval or "1h",
        prune,
        category="system",
        description="Deletes run history older than the retention period.",
    )


StockFactory = Callable[[Options, StockContext, str | None], Job | None]

STOCK_JOBS: dict[str, StockFactory] = {
    "metrics-collect": metrics_collect,
    "blocklist-refresh": blocklist_refresh,
    "dhcp-lease-sync": dhcp_lease_sync,
    "db-backup": db_backup,
    "history-retention": history_retention,
}


def _paths(given: Sequence[str] | None, examples: Sequence[str]) -> list[Path]:
    if given is None:
        return [EXAMPLES / name for name in examples]
    return [Path(path) for path in given]

"""The stock jobs of `jobdeck serve` (SPEC §11), registered like a user's jobs.

Each job's inputs come from the `[stock.<job-name>]` table of the config file, each
value checked as it is taken; with none given, the dns and dhcp jobs read the
example inputs shipped in `jobdeck/stock/examples`, so a fresh server has real work
to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobdeck.deck import Deck
from jobdeck.jobs import Job, define_job
from jobdeck.stock.backups import backup_database
from jobdeck.stock.blocklists import refresh_blocklists
from jobdeck.stock.leases import sync_leases
from jobdeck.stock.system_metrics import collect_metrics
from jobdeck.tables import Table, interval_text, path, paths, seconds, whole

EXAMPLES = Path(__file__).parent / "examples"


@dataclass(frozen=True)
class StockContext:
    deck: Deck
    data_dir: Path
    sqlite_file: Path | None


def build_stock_jobs(context: StockContext, stock: Table) -> list[Job]:
    """The stock jobs, from the `[stock]` table. All are built, and so checked, even
    when `enabled = false`: a mistake should not wait for the day they are enabled."""
    jobs = []
    for name, factory in STOCK_JOBS.items():
        table = stock.table(name)
        with table.blamed():
            job = factory(table, context)
        table.refuse_unknown()
        if job is not None:
            jobs.append(job)
    stock.refuse_unknown()
    return jobs


def metrics_collect(table: Table, context: StockContext) -> Job:
    disk = table.take("disk_path", path, context.data_dir)

    def sample() -> str:
        return collect_metrics(disk_path=disk).summary()

    return define_job(
        "metrics-collect",
        table.take("interval", interval_text, "1m"),
        sample,
        category="system",
        description="Samples load, memory, disk and this process.",
    )


def blocklist_refresh(table: Table, context: StockContext) -> Job:
    examples = _examples("hosts-example.txt", "adblock-example.txt")
    sources = table.take("sources", paths, examples)
    output = table.take("output", path, context.data_dir / "blocklist.txt")

    def refresh() -> str:
        return refresh_blocklists(sources, output).summary()

    return define_job(
        "blocklist-refresh",
        table.take("interval", interval_text, "1h"),
        refresh,
        category="dns",
        description="Merges the hosts and adblock lists into one blocklist.",
    )


def dhcp_lease_sync(table: Table, context: StockContext) -> Job:
    dnsmasq = table.take("dnsmasq", paths, _examples("dnsmasq-example.leases"))
    isc = table.take("isc", paths, _examples("dhcpd-example.leases"))
    output = table.take("output", path, context.data_dir / "leases.json")

    def sync() -> str:
        return sync_leases(dnsmasq, isc, output, datetime.now(UTC)).summary()

    return define_job(
        "dhcp-lease-sync",
        table.take("interval", interval_text, "5m"),
        sync,
        category="dhcp",
        description="Reads the dnsmasq and ISC dhcpd lease files into one table.",
    )


def db_backup(table: Table, context: StockContext) -> Job | None:
    keep = table.take("keep", whole(1), 7)
    target = table.take("directory", path, context.data_dir / "backups")
    interval = table.take("interval", interval_text, "1d")
    database = context.sqlite_file
    if database is None:
        return None  # PostgreSQL has its own backup tools; see docs/stock-jobs.md

    def backup() -> str:
        return backup_database(database, target, keep, datetime.now(UTC)).summary()

    return define_job(
        "db-backup",
        interval,
        backup,
        category="system",
        description="Copies the database online, checks the copy, keeps the newest.",
    )


def history_retention(table: Table, context: StockContext) -> Job:
    keep_s = table.take("keep", seconds, 30 * 86_400)
    deck = context.deck

    async def prune() -> str:
        cut = datetime.now(UTC) - timedelta(seconds=keep_s)
        removed = await deck.prune_history(older_than=cut)
        return f"removed {removed:,} runs that started before {cut:%Y-%m-%d %H:%M}Z"

    return define_job(
        "history-retention",
        table.take("interval", interval_text, "1h"),
        prune,
        category="system",
        description="Deletes run history older than the retention period.",
    )


StockFactory = Callable[[Table, StockContext], Job | None]

STOCK_JOBS: dict[str, StockFactory] = {
    "metrics-collect": metrics_collect,
    "blocklist-refresh": blocklist_refresh,
    "dhcp-lease-sync": dhcp_lease_sync,
    "db-backup": db_backup,
    "history-retention": history_retention,
}


def _examples(*names: str) -> list[Path]:
    return [EXAMPLES / name for name in names]

"""The `jobdeck` command line (SPEC §10). The CLI, not the library, sets up logging."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from jobdeck.config import load_settings
from jobdeck.errors import JobdeckError


@click.group()
@click.version_option(package_name="jobdeck")
def main() -> None:
    """Run background jobs and steer them live."""


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8330).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the SQLite store lives (default ./jobdeck-data).",
)
@click.option(
    "--db",
    "db_url",
    help="Database URL instead of the SQLite file, e.g. postgresql://host/db.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    envvar="JOBDECK_CONFIG",
    help="TOML configuration file.",
)
@click.option(
    "--log-level",
    default="info",
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    db_url: str | None,
    config_file: Path | None,
    log_level: str,
) -> None:
    """Run the server: the stock jobs, your jobs and the web console."""
    from jobdeck.server import serve as run_server

    _configure_logging(log_level)
    flags = {"host": host, "port": port, "data_dir": data_dir, "db_url": db_url}
    try:
        settings = load_settings(config_file, flags=flags)
        run_server(settings)
    except JobdeckError as exc:
        raise click.ClickException(str(exc)) from exc


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

"""Settings for `jobdeck serve`: defaults, then a TOML file, then `JOBDECK_*`
environment variables, then command-line flags; the later source wins.

Everything is validated here, when the settings are built, so that a mistake in
the file stops the start with a message naming the key.
"""

from __future__ import annotations

import importlib
import os
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jobdeck.errors import InvalidInput, JobdeckError
from jobdeck.intervals import parse_interval
from jobdeck.jobs import Job, define_job
from jobdeck.threads import DEFAULT_MAX_THREADS

DEFAULT_PORT = 8330
ENVIRONMENT_KEYS = {
    "JOBDECK_HOST": "host",
    "JOBDECK_PORT": "port",
    "JOBDECK_DATA_DIR": "data_dir",
    "JOBDECK_DB": "db_url",
    "JOBDECK_ADMIN_PASSWORD": "admin_password",
    "JOBDECK_TLS_CERT": "tls_cert",
    "JOBDECK_TLS_KEY": "tls_key",
}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = Path("jobdeck-data")
    db_url: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    shutdown_grace_s: float = 10.0
    heartbeat_s: float = 15.0
    max_threads: int = DEFAULT_MAX_THREADS
    tls_cert: Path | None = None
    tls_key: Path | None = None
    stock_enabled: bool = True
    stock: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    config_file: Path | None = None

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: the given one with an async driver, or the SQLite file
        in the data directory."""
        if self.db_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'jobdeck.sqlite3'}"
        return async_driver_url(self.db_url)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file, wherever `db` puts it (the backup job copies
        it); None for PostgreSQL or an in-memory SQLite."""
        url = sa.engine.make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)


def load_settings(
    config_file: Path | None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    settings = Settings()
    if config_file is not None:
        settings = _apply_file(settings, config_file)
    settings = _apply(settings, _from_environment(environ), "environment")
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    return _apply(settings, given, "flags")


def async_driver_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidInput(
            f"database URL {url!r} has no scheme (sqlite:// or postgresql://)"
        )
    drivers = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+psycopg",
        "postgres": "postgresql+psycopg",
    }
    if scheme in drivers.values():
        return url
    if scheme not in drivers:
        # Not the URL itself, which may hold a password.
        raise InvalidInput(
            f"the database URL's scheme {scheme!r} is not supported: use sqlite:// "
            "or postgresql://"
        )
    return f"{drivers[scheme]}://{rest}"


def _apply_file(settings: Settings, path: Path) -> Settings:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc}") from exc

    server = dict(document.get("server", {}))
    if "shutdown_grace" in server:
        server["shutdown_grace_s"] = parse_interval(server.pop("shutdown_grace"))
    if "heartbeat" in server:
        server["heartbeat_s"] = parse_interval(server.pop("heartbeat"))
    if "db" in server:
        server["db_url"] = server.pop("db")
    stock = dict(document.get("stock", {}))
    enabled = stock.pop("enabled", True)
    jobs = tuple(
        job_from_table(table, f"{path} [[jobs]] #{number}")
        for number, table in enumerate(document.get("jobs", []), start=1)
    )
    changes = {**server, "stock_enabled": enabled, "stock": stock, "jobs": jobs}
    return _apply(replace(settings, config_file=path), changes, str(path))


def job_from_table(table: Mapping[str, Any], where: str) -> Job:
    """A job from a `[[jobs]]` table: a `command` line or a `callable` path."""
    known = {
        "name",
        "interval",
        "command",
        "callable",
        "category",
        "description",
        "timeout",
        "first_delay",
    }
    unknown = set(table) - known
    if unknown:
        raise InvalidInput(f"{where}: unknown keys {sorted(unknown)}")
    try:
        command = table.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        first_delay = table.get("first_delay")
        return define_job(
            table["name"],
            table["interval"],
            _load_callable(table["callable"]) if "callable" in table else None,
            command=command,
            category=table.get("category", "general"),
            description=table.get("description", ""),
            timeout=table.get("timeout"),
            first_delay_s=parse_interval(first_delay) if first_delay else 5.0,
        )
    except KeyError as exc:
        raise InvalidInput(f"{where}: missing key {exc}") from None
    except JobdeckError as exc:
        raise InvalidInput(f"{where}: {exc}") from exc


def _load_callable(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise InvalidInput(f"callable {path!r} must be 'module:function'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"cannot load callable {path!r}: {exc}") from exc


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key: environ[name] for name, key in ENVIRONMENT_KEYS.items() if name in environ
    }


def _apply(settings: Settings, changes: Mapping[str, Any], source: str) -> Settings:
    unknown = set(changes) - {f for f in Settings.__dataclass_fields__}
    if unknown:
        raise InvalidInput(f"{source}: unknown settings {sorted(unknown)}")
    converted = dict(changes)
    try:
        if "port" in converted:
            converted["port"] = int(converted["port"])
        if "max_threads" in converted:
            converted["max_threads"] = _at_least_one(converted["max_threads"])
        for key in ("data_dir", "tls_cert", "tls_key"):
            if key in converted:
                converted[key] = Path(converted[key])
    except ValueError as exc:
        raise InvalidInput(f"{source}: {exc}") from exc
    return replace(settings, **converted)


def _at_least_one(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"max_threads must be a whole number of at least 1, not {value!r}"
        )
    return value

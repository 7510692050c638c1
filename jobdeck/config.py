"""Settings for `jobdeck serve`: defaults, then a TOML file, then `JOBDECK_*`
environment variables, then command-line flags; the later source wins.

Everything is validated here, when the settings are built, so that a mistake stops
the start with one message naming the file and key, the variable or the flag: the
checks of `jobdeck.tables` for the file, the same checks for the other sources.
The `[stock.<job>]` tables are checked where the stock jobs are built.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import shlex
import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jobdeck.access import MIN_PASSWORD_LENGTH
from jobdeck.errors import InvalidInput
from jobdeck.jobs import Job, check_name, define_job
from jobdeck.stock import STOCK_JOBS
from jobdeck.tables import (
    Check,
    Table,
    any_text,
    checked,
    flag,
    interval_text,
    path,
    seconds,
    text,
    texts,
    whole,
)
from jobdeck.threads import DEFAULT_MAX_THREADS

DEFAULT_PORT = 8330
# Far more threads than any machine runs bodies on at once: each costs a stack.
MAX_THREADS = 1024
# The keys of [server], by setting; the others (admin_password, say) have no key.
FILE_KEYS = {
    "host": "host",
    "port": "port",
    "data_dir": "data_dir",
    "db": "db_url",
    "shutdown_grace": "shutdown_grace_s",
    "heartbeat": "heartbeat_s",
    "max_threads": "max_threads",
    "tls_cert": "tls_cert",
    "tls_key": "tls_key",
    "trusted_proxies": "trusted_proxies",
}
ENVIRONMENT_KEYS = {
    "JOBDECK_HOST": "host",
    "JOBDECK_PORT": "port",
    "JOBDECK_DATA_DIR": "data_dir",
    "JOBDECK_DB": "db_url",
    "JOBDECK_ADMIN_PASSWORD": "admin_password",
    "JOBDECK_TLS_CERT": "tls_cert",
    "JOBDECK_TLS_KEY": "tls_key",
    "JOBDECK_TRUSTED_PROXIES": "trusted_proxies",
}
FLAG_NAMES = {"db_url": "--db"}  # the others are the setting's name: --data-dir


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
    # The addresses (or networks) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed: a reverse proxy's. Anyone else's are ignored.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    stock_enabled: bool = True
    stock: Table = field(default_factory=lambda: Table({}, "defaults", "[stock]"))
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
    settings = _apply(settings, _from_environment(environ))
    try:
        settings = _apply(settings, _from_flags(flags or {}))
    except InvalidInput as exc:
        raise InvalidFlag(str(exc)) from exc
    _check_tls(settings.tls_cert, settings.tls_key)
    return settings


class InvalidFlag(InvalidInput):
    """A flag's value is refused: the command line is wrong (exit 2), where a
    mistake in the file or the environment is a refused start (exit 1)."""


def async_driver_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidInput(
            "the database URL has no scheme: use sqlite:// or postgresql://"
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
    root = Table(_read(path), str(path), "")
    server = root.table("server")
    given = {}
    for key, setting in FILE_KEYS.items():
        value = server.take(key, CHECKS[setting], None)
        if value is not None:
            given[setting] = value
    server.refuse_unknown()
    # The [stock.<job>] tables are read where the stock jobs are built, with the
    # deck; here only [stock] itself.
    stock = root.table("stock")
    enabled = stock.take("enabled", flag, True)
    jobs = _jobs(root.tables("jobs"), enabled)
    root.refuse_unknown()
    return replace(
        settings,
        **given,
        config_file=path,
        stock_enabled=enabled,
        stock=stock,
        jobs=jobs,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: a byte-order mark, which some editors write, is not content.
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc}") from exc


def _jobs(tables: list[Table], stock_enabled: bool) -> tuple[Job, ...]:
    jobs: dict[str, Job] = {}
    for table in tables:
        job = job_from_table(table)
        if job.name in jobs:
            raise table.refuse("name", f"{job.name!r} names an earlier [[jobs]] too")
        if stock_enabled and job.name in STOCK_JOBS:
            raise table.refuse(
                "name",
                f"{job.name!r} is the name of a stock job; choose another, "
                "or set [stock] enabled = false",
            )
        jobs[job.name] = job
    return tuple(jobs.values())


def job_from_table(table: Table) -> Job:
    """A job from a `[[jobs]]` table: a `command` line or a `callable` path."""
    name = table.require("name", _job_name)
    interval = table.require("interval", interval_text)
    command = table.take("command", _command_line, None)
    body = table.take("callable", _load_callable, None)
    category = table.take("category", text, "general")
    description = table.take("description", any_text, "")
    timeout = table.take("timeout", interval_text, None)
    first_delay_s = table.take("first_delay", seconds, 5)
    jitter_s = table.take("jitter", seconds, 0)
    table.refuse_unknown()
    if (command is None) == (body is None):
        raise table.refuse("command", "give exactly one of command or callable")
    with table.blamed():
        return define_job(
            name,
            interval,
            body,
            command=command,
            category=category,
            description=description,
            timeout=timeout,
            first_delay_s=first_delay_s,
            jitter_s=jitter_s,
        )


def _job_name(value: Any) -> str:
    check_name(value)
    return str(value)


def _command_line(value: Any) -> list[str]:
    """A list of texts, or one text split like a shell."""
    words = value
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split like a shell line: {exc}") from exc
    if not isinstance(words, list) or not words:
        raise ValueError(
            'must be a program and its arguments, as a list (["prog", "-v"]) or '
            f"one text, not {value!r}"
        )
    return texts(words)


def _load_callable(value: Any) -> Callable[..., Any]:
    module_name, _, attribute = text(value).partition(":")
    if not module_name or module_name.startswith(".") or not attribute:
        raise ValueError(f"must be 'package.module:function', not {value!r}")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        # Importing runs the module's own code: whatever it raises, sys.exit()
        # included, is this key's mistake to report, not the server's exit. Only
        # a KeyboardInterrupt (Ctrl-C during the import) goes on.
        raise ValueError(f"cannot import {module_name!r}: {exc!r}") from exc
    body: object = getattr(module, attribute, None)
    if not callable(body):
        raise ValueError(f"{module_name!r} has no function {attribute!r}")
    return body


def _from_environment(environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """Each setting the environment gives, with the variable's name."""
    given: dict[str, tuple[str, Any]] = {}
    for name, key in ENVIRONMENT_KEYS.items():
        if name in environ:
            value = environ[name]
            # The environment holds texts only; a port is a number everywhere else,
            # and the trusted proxies a list, which the variable separates by commas.
            if key == "port" and value.isascii() and value.isdigit():
                given[key] = (name, int(value))
            elif key == "trusted_proxies":
                given[key] = (name, [part.strip() for part in value.split(",")])
            else:
                given[key] = (name, value)
    return given


def _from_flags(flags: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each setting the flags give, with the flag's name."""
    unknown = set(flags) - set(CHECKS)
    if unknown:
        raise InvalidInput(f"flags: unknown settings {sorted(unknown)}")
    return {
        key: (FLAG_NAMES.get(key, "--" + key.replace("_", "-")), value)
        for key, value in flags.items()
        if value is not None
    }


def _apply(settings: Settings, given: Mapping[str, tuple[str, Any]]) -> Settings:
    changes = {
        key: checked(CHECKS[key], value, label) for key, (label, value) in given.items()
    }
    return replace(settings, **changes)


def _check_tls(cert: Path | None, key: Path | None) -> None:
    """Load the pair once here: uvicorn would fail on it after the start, with a
    traceback."""
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise InvalidInput(
            "HTTPS needs both a certificate and its key: [server] tls_cert and "
            "tls_key, JOBDECK_TLS_CERT and JOBDECK_TLS_KEY, or the flags"
        )
    try:
        # An empty password: an encrypted key is refused, where OpenSSL would ask
        # for its pass phrase on a terminal that a service does not have.
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            cert, key, password=b""
        )
    except OSError as exc:  # ssl.SSLError is one
        raise InvalidInput(
            f"tls_cert {cert} and tls_key {key}: not a PEM certificate and its "
            f"private key, the key without a pass phrase: {exc}"
        ) from exc


# --- checks of the settings that the file, the environment and the flags share ---


def _directory(value: Any) -> Path:
    directory = path(value)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{str(directory)!r} exists and is not a directory")
    return directory


def _existing_file(value: Any) -> Path:
    file = path(value)
    if not file.is_file():
        raise ValueError(f"{str(file)!r} is not a file")
    return file


def _database_url(value: Any) -> str:
    url = text(value)
    with_driver = async_driver_url(url)  # refuses any other database
    try:
        sa.engine.make_url(with_driver)
    except (sa.exc.ArgumentError, ValueError):  # a port that is not a number, say
        # Not the URL itself, which may hold a password.
        raise ValueError("is not a database URL: check its host and port") from None
    return url


def _password(value: Any) -> str:
    password = any_text(value)
    if password and len(password) < MIN_PASSWORD_LENGTH:  # empty: one is generated
        raise ValueError(f"must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _proxies(value: Any) -> tuple[str, ...]:
    """A list of IP addresses or networks; an empty one trusts no proxy."""
    kept = tuple(entry for entry in texts(value) if entry)
    for entry in kept:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or network (such as 10.0.0.5 or "
                "10.0.0.0/24)"
            ) from None
    return kept


CHECKS: dict[str, Check[Any]] = {
    "host": text,
    "port": whole(1, 65_535),
    "data_dir": _directory,
    "db_url": _database_url,
    "admin_password": _password,
    "shutdown_grace_s": seconds,
    "heartbeat_s": seconds,
    "max_threads": whole(1, MAX_THREADS),
    "tls_cert": _existing_file,
    "tls_key": _existing_file,
    "trusted_proxies": _proxies,
}

"""The `jobdeck` command line (SPEC §10). The CLI, not the library, sets up logging.

`serve` runs the server. Every other command is a client of a running server: it
talks HTTP to its JSON API and nothing else, so it never opens the database and
never starts a scheduler, however many run at once beside the server.

Exit codes of the client commands: 0 done; 1 the server refused the request (4xx:
unknown job, refused value, conflict, wrong or missing token, no right); 2 the
command line is wrong; 3 no server answered; 4 the server failed (5xx) or the
answer was not jobdeck's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from jobdeck.client import ApiError, Client, Job, Run, Scheduler, Shape, Token

DEFAULT_URL = "http://127.0.0.1:8330"
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3
EXIT_SERVER_FAILED = 4
ROLES = click.Choice(["admin", "viewer"])
TABLE_CLIP = 50  # characters of an error or summary in a table's last column

F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound="Shape")


@click.group()
@click.version_option(package_name="jobdeck")
def main() -> None:
    """Run background jobs and steer them live."""


def database_options(command: F) -> F:
    """--data-dir, --db and --config: where a server's database is, for `serve`
    and for the commands that work on that database directly."""
    for option in reversed(
        [
            click.option(
                "--data-dir",
                # A text, for the settings to refuse an empty one: as a Path, ""
                # would be ".".
                type=click.Path(file_okay=False),
                help="Where the SQLite store lives (default ./jobdeck-data).",
            ),
            click.option(
                "--db",
                "db_url",
                help="Database URL instead of the SQLite file, e.g. "
                "postgresql://host/db.",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(path_type=Path, exists=True, dir_okay=False),
                envvar="JOBDECK_CONFIG",
                help="TOML configuration file.",
            ),
        ]
    ):
        command = option(command)
    return command


password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of a prompt.",
)


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65_535), help="Port to listen on (default 8330)."
)
@database_options
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM certificate: serve HTTPS (needs --tls-key too).",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--log-level",
    default="info",
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: str | None,
    db_url: str | None,
    config_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_level: str,
) -> None:
    """Run the server: the stock jobs, your jobs and the web console."""
    from jobdeck.config import load_settings
    from jobdeck.server import serve as run_server

    _configure_logging(log_level)
    flags = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "db_url": db_url,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    with _refusals_as_click_errors():
        run_server(load_settings(config_file, flags=flags))


@main.command("reset-password")
@click.argument("username", default="admin")
@database_options
@password_stdin_option
def reset_password(
    username: str,
    data_dir: str | None,
    db_url: str | None,
    config_file: Path | None,
    password_stdin: bool,
) -> None:
    """Set USERNAME's password (admin by default) straight in the server's
    database, for when no admin can sign in. A user who does not exist is
    created as an admin, and one who is not is made one when no admin is left;
    the user's sessions end. The server may be running."""
    from jobdeck.access import Reset
    from jobdeck.config import load_settings
    from jobdeck.server import reset_password as reset

    password = read_password(password_stdin)
    flags = {"data_dir": data_dir, "db_url": db_url}
    with _refusals_as_click_errors():
        done = reset(load_settings(config_file, flags=flags), username, password)
    name = text(username)
    if done is Reset.CREATED:
        click.echo(f"Created admin {name}.")  # no sessions to end
    elif done is Reset.MADE_ADMIN:
        click.echo(
            f"Set the password of {name} and made them an admin, as no admin was "
            "left; their sessions have ended."
        )
    else:
        click.echo(f"Set the password of {name}; their sessions have ended.")


@contextlib.contextmanager
def _refusals_as_click_errors() -> Iterator[None]:
    """A refused flag value is a wrong command line (click's usage message, exit
    2); any other refusal, of the settings or the database, one line (exit 1)."""
    from jobdeck.config import InvalidFlag
    from jobdeck.errors import JobdeckError

    try:
        yield
    except InvalidFlag as exc:
        raise click.UsageError(str(exc)) from exc
    except JobdeckError as exc:
        raise click.ClickException(str(exc)) from exc


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


# --- talking to a running server ---------------------------------------------------


@dataclass
class Remote:
    """Where the server is and who asks: flags win over JOBDECK_* variables."""

    url: str | None = None
    token: str | None = None
    ca_cert: Path | None = None

    def client(self) -> Client:
        from jobdeck.client import Client

        token = self.token or _token_from_env()
        ca_cert = self.ca_cert or _path_or_none(os.environ.get("JOBDECK_CA_CERT"))
        return Client(self.address, token, ca_cert)

    @property
    def address(self) -> str:
        return self.url or os.environ.get("JOBDECK_URL") or DEFAULT_URL

    @property
    def has_token(self) -> bool:
        return bool(self.token or os.environ.get("JOBDECK_TOKEN"))


def _path_or_none(text: str | None) -> Path | None:
    return Path(text) if text else None


def _token_from_env() -> str | None:
    from jobdeck.client import sendable

    token = os.environ.get("JOBDECK_TOKEN") or None
    if token is not None and not sendable(token):
        raise click.UsageError(f"JOBDECK_TOKEN {_NOT_SENDABLE}")
    return token


_NOT_SENDABLE = "cannot be sent: a token is visible ASCII without spaces (jdt_...)"


class Refused(click.ClickException):
    """The server refused the request (4xx): its message on stderr."""

    exit_code = EXIT_REFUSED


class Unreachable(click.ClickException):
    exit_code = EXIT_UNREACHABLE


class ServerFailed(click.ClickException):
    """A 5xx, or an answer that is not jobdeck's."""

    exit_code = EXIT_SERVER_FAILED


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keeps a flag for the command; an empty one is refused, since it is most
    likely an unset shell variable, and the environment's value may be another
    server's or another user's."""
    if value is None or param.name is None:
        return
    if value == "":
        variable = f"JOBDECK_{param.name.upper()}"
        raise click.BadParameter(
            f"is empty (an unset shell variable?); leave it out to use {variable}"
        )
    setattr(ctx.ensure_object(Remote), param.name, value)


def _remember_token(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    from jobdeck.client import sendable

    if value and not sendable(value):
        raise click.BadParameter(_NOT_SENDABLE)
    _remember(ctx, param, value)


def connection_options(command: F) -> F:
    """--url, --token and --ca-cert, taken on a group or on any of its commands."""
    options = [
        click.option(
            "--url",
            metavar="URL",
            expose_value=False,
            callback=_remember,
            help=f"The server (env JOBDECK_URL; default {DEFAULT_URL}).",
        ),
        click.option(
            "--token",
            metavar="SECRET",
            expose_value=False,
            callback=_remember_token,
            help="API token, sent as a Bearer header (env JOBDECK_TOKEN).",
        ),
        click.option(
            "--ca-cert",
            type=click.Path(path_type=Path, exists=True, dir_okay=False),
            expose_value=False,
            callback=_remember,
            help="CA certificate to trust for an https:// server "
            "(env JOBDECK_CA_CERT; default: the system's).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the API's JSON answer as is."
)


def call(
    method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
) -> Any:
    """One API request; its failures become the CLI's messages and exit codes."""
    with connected() as client:
        return client.request(method, path, body, params)


@contextlib.contextmanager
def connected() -> Iterator[Client]:
    """A client of the server; its failures become messages and exit codes."""
    from jobdeck.client import ApiError, NotJobdeck, ServerUnreachable

    remote = click.get_current_context().ensure_object(Remote)
    try:
        with remote.client() as client:
            yield client
    except ServerUnreachable as exc:
        raise Unreachable(text(exc)) from None
    except NotJobdeck as exc:
        raise ServerFailed(text(exc)) from None
    except ApiError as exc:
        failure = Refused if exc.refused else ServerFailed
        raise failure(_explain(exc, remote)) from None


def read(answer: Any, shape: type[S]) -> S:
    """What the command reads of the answer; exit 4 when the answer lacks it."""
    from jobdeck.client import NotJobdeck, parse

    try:
        return parse(answer, shape)
    except NotJobdeck as exc:
        raise ServerFailed(text(exc)) from None


def _explain(exc: ApiError, remote: Remote) -> str:
    message = f"{text(exc)} (HTTP {exc.status} {text(exc.code)})"
    if exc.status == 401 and not remote.has_token:
        message += "\nGive an API token with --token or JOBDECK_TOKEN."
    if exc.status == 404 and urlsplit(remote.address).path.strip("/"):
        message += (
            f"\n{text(remote.address)} has a path: unless jobdeck is mounted there, "
            f"give the server's root, e.g. {DEFAULT_URL}; the CLI adds /api/... to it."
        )
    return message


def job_of(answer: Any) -> Job:
    """The job as a control (run, pause, interval...) answers it."""
    from jobdeck.client import JobAnswer

    return read(answer, JobAnswer).job


def job_path(name: str, action: str = "") -> str:
    """The URL of a job: refused here if it is no job's name, since such a path
    could lead to another route (`a/runs`, `sse`) rather than to a 404."""
    from jobdeck.errors import InvalidJob
    from jobdeck.jobs import check_name

    try:
        check_name(name)
    except InvalidJob as exc:
        raise click.UsageError(str(exc)) from None
    return f"/api/jobs/{_segment(name)}{action}"


def print_json(answer: Any) -> None:
    """The answer as JSON, where what a terminal would act on is escaped as
    `\\uXXXX`: the same values for a script, and nothing raw on a screen."""
    dumped = json.dumps(answer, indent=2, ensure_ascii=False)
    click.echo(_BEYOND_ASCII.sub(_json_escaped, dumped))


# json.dumps escapes the C0 controls; the newlines left are its own indentation.
_BEYOND_ASCII = re.compile(r"[^\n\x20-\x7e]")


def _json_escaped(match: re.Match[str]) -> str:
    char = match.group()
    return char if _shown_as_is(char) else json.dumps(char)[1:-1]


# --- jobs ----------------------------------------------------------------------


@main.group()
@connection_options
def jobs() -> None:
    """See and steer the jobs of a running server."""


@jobs.command("list")
@connection_options
@json_option
def list_jobs(as_json: bool) -> None:
    """The scheduler's status and every job's state."""
    from jobdeck.client import JobList

    answer = call("GET", "/api/jobs")
    listing = read(answer, JobList)
    if as_json:
        print_json(answer)
        return

    click.echo(scheduler_line(listing.scheduler))
    headers = ["NAME", "CATEGORY", "STATUS", "INTERVAL", "RUNS", "LAST RUN"]
    headers += ["OUTCOME", "NEXT RUN", "LAST ERROR"]
    click.echo(table(headers, [job_row(job) for job in listing.jobs]))


@jobs.command()
@connection_options
@json_option
@click.argument("name")
def show(name: str, as_json: bool) -> None:
    """Everything about one job."""
    from jobdeck.client import Job

    answer = call("GET", job_path(name))
    job = read(answer, Job)
    if as_json:
        print_json(answer)
        return

    click.echo(pairs(job_details(job)))


@jobs.command()
@connection_options
@json_option
@click.argument("name")
def run(name: str, as_json: bool) -> None:
    """Start a manual run now; refused while the job is running."""
    answer = call("POST", job_path(name, "/run"))
    job = job_of(answer)
    if as_json:
        print_json(answer)
        return

    still = " It stays paused." if job.paused else ""
    click.echo(f"Started a manual run of {text(name)}.{still}")


@jobs.command()
@connection_options
@json_option
@click.argument("name")
@click.option(
    "--for", "for_", metavar="INTERVAL", help="Resume by itself after this, e.g. 2h."
)
@click.option(
    "--until",
    metavar="TIME",
    help="Resume by itself then: ISO 8601 with an offset, e.g. 2027-01-01T08:00Z.",
)
@click.option(
    "--until-resumed",
    is_flag=True,
    help="No end: on a paused job, take away the end it had.",
)
def pause(
    name: str, for_: str | None, until: str | None, until_resumed: bool, as_json: bool
) -> None:
    """Stop scheduled runs until resumed (a run in progress finishes)."""
    end: dict[str, str | None] = {
        # An empty value goes too, for the server to refuse: dropped, it would
        # make a pause with no end.
        key: value
        for key, value in (("for", for_), ("until", until))
        if value is not None
    }
    if until_resumed:
        if end:
            raise click.UsageError("give --until-resumed alone, without --for, --until")
        end["until"] = None  # the API's way of saying "no end"
    answer = call("POST", job_path(name, "/pause"), end or None)
    job = job_of(answer)
    if as_json:
        print_json(answer)
        return

    until_text = when(job.paused_until) if job.paused_until else "resumed"
    click.echo(f"Paused {text(name)} until {until_text}.")


@jobs.command()
@connection_options
@json_option
@click.argument("name")
def resume(name: str, as_json: bool) -> None:
    """Scheduled runs again, on the job's own cadence; no catch-up run."""
    answer = call("POST", job_path(name, "/resume"))
    job = job_of(answer)
    if as_json:
        print_json(answer)
        return

    click.echo(f"Resumed {text(name)}; next run {next_run(job)}.")


@jobs.command()
@connection_options
@json_option
@click.argument("name")
@click.argument("value", required=False)
@click.option("--reset", is_flag=True, help="Back to the job's default interval.")
def interval(name: str, value: str | None, reset: bool, as_json: bool) -> None:
    """Set the interval to VALUE, such as 5m or 1h30m, or --reset it.

    VALUE goes to the server as typed; the server's interval grammar decides."""
    if reset and value is not None:
        raise click.UsageError("give an interval VALUE or --reset, not both")
    if not reset and value is None:
        raise click.UsageError("give an interval VALUE, e.g. 5m, or --reset")
    if reset:
        answer = call("DELETE", job_path(name, "/interval"))
    else:
        answer = call("PUT", job_path(name, "/interval"), {"interval": value})
    job = job_of(answer)
    if as_json:
        print_json(answer)
        return

    what = "its default, " if reset else ""
    click.echo(
        f"Set the interval of {text(name)} to {what}{text(job.interval)}; "
        f"next run {next_run(job)}."
    )


@jobs.command()
@connection_options
@json_option
@click.argument("name")
def cancel(name: str, as_json: bool) -> None:
    """Stop the job's running run; its outcome becomes `cancelled`."""
    answer = call("POST", job_path(name, "/cancel"))
    job_of(answer)
    if as_json:
        print_json(answer)
        return

    click.echo(f"Asked the running run of {text(name)} to stop.")


@jobs.command()
@connection_options
@json_option
@click.argument("name")
@click.option(
    "--limit",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="Runs to show, newest first.",
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Newest to skip.")
def history(name: str, limit: int, offset: int, as_json: bool) -> None:
    """The job's runs and skipped ticks, newest first."""
    from jobdeck.client import RunPage

    params = {"limit": limit, "offset": offset}
    answer = call("GET", job_path(name, "/runs"), params=params)
    page = read(answer, RunPage)
    if as_json:
        print_json(answer)
        return

    headers = ["STARTED", "TRIGGER", "BY", "DURATION", "OUTCOME", "DETAIL"]
    click.echo(table(headers, [run_row(run) for run in page.runs]))


# --- users and tokens ------------------------------------------------------------


@main.group()
@connection_options
def users() -> None:
    """Manage who may sign in (admins only)."""


@users.command("list")
@connection_options
@json_option
def list_users(as_json: bool) -> None:
    """Every user and their role."""
    from jobdeck.client import UserList

    answer = call("GET", "/api/users")
    listing = read(answer, UserList)
    if as_json:
        print_json(answer)
        return

    rows = [
        [text(user.username), text(user.role), when(user.created_at)]
        for user in listing.users
    ]
    click.echo(table(["USERNAME", "ROLE", "CREATED"], rows))


@users.command("add")
@connection_options
@json_option
@click.argument("username")
@click.option("--role", type=ROLES, required=True)
@password_stdin_option
def add_user(username: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Add a user; the password comes from a prompt (asked twice) or stdin."""
    password = read_password(password_stdin)
    body = {"username": username, "password": password, "role": role}
    answer = call("POST", "/api/users", body)
    if as_json:
        print_json(answer)
        return

    click.echo(f"Added user {text(username)} with the {role} role.")


@users.command("change")
@connection_options
@json_option
@click.argument("username")
@click.option("--role", type=ROLES, help="Their new role.")
@click.option("--password", is_flag=True, help="Set a new password, from a prompt.")
@password_stdin_option
def change_user(
    username: str, role: str | None, password: bool, password_stdin: bool, as_json: bool
) -> None:
    """Change a user's role or password; their sessions end."""
    if password and password_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    body: dict[str, str] = {"role": role} if role else {}
    if password or password_stdin:
        body["password"] = read_password(password_stdin)
    if not body:
        raise click.UsageError("give --role, --password or --password-stdin")
    answer = call("PATCH", f"/api/users/{_segment(username)}", body)
    if as_json:
        print_json(answer)
        return

    click.echo(f"Changed user {text(username)}.")


@users.command("delete")
@connection_options
@click.argument("username")
def delete_user(username: str) -> None:
    """Delete a user; their sessions end."""
    call("DELETE", f"/api/users/{_segment(username)}")
    click.echo(f"Deleted user {text(username)}.")


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    if from_stdin:
        given = sys.stdin.read()
        return given.removesuffix("\n").removesuffix("\r")
    # On stderr, so that `TOKEN=$(jobdeck tokens create ...)` keeps the secret only.
    password: str = click.prompt(
        "Password", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return password


@main.group()
@connection_options
def tokens() -> None:
    """Manage API tokens for scripts and the CLI (admins only)."""


@tokens.command("list")
@connection_options
@json_option
def list_tokens(as_json: bool) -> None:
    """Every token (never its secret)."""
    from jobdeck.client import TokenList

    answer = call("GET", "/api/tokens")
    listing = read(answer, TokenList)
    if as_json:
        print_json(answer)
        return

    headers = ["ID", "NAME", "ROLE", "CREATED BY", "CREATED", "EXPIRES"]
    click.echo(table(headers, [token_row(token) for token in listing.tokens]))


@tokens.command("create")
@connection_options
@json_option
@click.argument("name")
@click.option("--role", type=ROLES, required=True)
@click.option(
    "--expires",
    metavar="TIME",
    help="When it stops working: ISO 8601 with an offset (default: never).",
)
@click.option(
    "--username",
    help="Sign in as this admin instead of using a token (for the first token); "
    "the password comes from a prompt or --password-stdin.",
)
@password_stdin_option
def create_token(
    name: str,
    role: str,
    expires: str | None,
    username: str | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create a token; its secret is printed once, alone on stdout."""
    from jobdeck.client import CreatedToken

    if password_stdin and username is None:
        raise click.UsageError("--password-stdin goes with --username")
    body = {"name": name, "role": role}
    if expires is not None:  # an empty one goes too, for the server to refuse
        body["expires_at"] = expires
    with connected() as client:
        if username is None:
            answer = client.post("/api/tokens", body)
        else:
            password = read_password(password_stdin, confirm=False)
            with client.signed_in(username, password):
                answer = client.post("/api/tokens", body)
    created = read(answer, CreatedToken)
    if as_json:
        print_json(answer)
        return

    token = created.token
    click.echo(
        f"Created token {text(token.name)} ({text(token.role)}, id {text(token.id)}, "
        f"expires {when(token.expires_at, 'never')}). "
        "Its secret is shown this once:",
        err=True,
    )
    click.echo(created.secret)


@tokens.command("revoke")
@connection_options
@click.argument("token_id", metavar="ID")
def revoke_token(token_id: str) -> None:
    """Revoke a token at once; streams opened with it end."""
    call("DELETE", f"/api/tokens/{_segment(token_id)}")
    click.echo(f"Revoked token {text(token_id)}.")


def _segment(value: str) -> str:
    """An argument as one path segment of the API's URL; never empty."""
    from jobdeck.client import segment

    if not value:
        raise click.UsageError("an empty name names nothing")
    return segment(value)


# --- showing answers to people ---------------------------------------------------


def text(value: Any, limit: int | None = None) -> str:
    """A value as one line of plain text, as every text from the server is shown:
    control and format characters (escape sequences, bidi overrides) shown as
    `?`, save the joiners of emoji sequences; white space folded, clipped to
    `limit` characters."""
    if value is None or value == "":
        return "-"
    line = " ".join(str(value).split())
    line = "".join(
        char if _shown_as_is(char) or _joins_emoji(line, index) else "?"
        for index, char in enumerate(line)
    )
    if limit is not None and len(line) > limit:
        return line[: limit - 1] + "…"
    return line


# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero
# widths) and lone surrogates, which no terminal should be handed.
_NOT_SHOWN = {"Cc", "Cf", "Cs"}

ZERO_WIDTH_JOINER = "\u200d"
# What may come between an emoji and its joiner: the emoji presentation selector
# and the five skin tones (👩🏽‍💻, ❤️‍🔥).
_EMOJI_MODIFIERS = frozenset("\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")


def _shown_as_is(char: str) -> bool:
    return unicodedata.category(char) not in _NOT_SHOWN


def _joins_emoji(line: str, index: int) -> bool:
    """Whether the character at `index` is a zero-width joiner inside an emoji
    sequence (👩‍💻), shown as it is. Between two symbols it can only make one
    picture of two; between letters, where it could make two names look alike,
    it is still shown as `?`."""
    if line[index] != ZERO_WIDTH_JOINER:
        return False
    before = index - 1
    while before >= 0 and line[before] in _EMOJI_MODIFIERS:
        before -= 1
    after = index + 1
    return (
        before >= 0
        and after < len(line)
        and unicodedata.category(line[before]) == "So"
        and unicodedata.category(line[after]) == "So"
    )


def when(moment: str | None, empty: str = "-") -> str:
    """An API time in UTC to the second, e.g. `2026-12-04 10:15:30Z`."""
    if not moment:
        return empty
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return text(moment)
    if parsed.tzinfo is None:
        return text(moment)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# A UTC time as the server writes it inside its plain words.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")


def _times_in(words: str) -> str:
    """The server's words with each time in them written as `when` writes times."""
    return _ISO_TIME.sub(lambda match: when(match.group()), words)


def relative(moment: str | None) -> str:
    """`in 4m 10s` or `3h 2m ago`, from this machine's clock."""
    if not moment:
        return ""
    seconds = int((datetime.fromisoformat(moment) - datetime.now(UTC)).total_seconds())
    span = _span(abs(seconds))
    return f"in {span}" if seconds >= 0 else f"{span} ago"


def _span(seconds: int) -> str:
    units = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
    parts: list[str] = []
    for unit, size in units:
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return _span(ms // 1000)


def next_run(job: Job) -> str:
    return "paused" if job.paused else when(job.next_run_at)


def interval_text(job: Job) -> str:
    if job.interval_overridden:
        return f"{text(job.interval)} (default {text(job.default_interval)})"
    return text(job.interval)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns aligned with two spaces between them, no trailing blanks."""
    lines = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in lines
    )


def pairs(items: Iterable[tuple[str, str]]) -> str:
    items = list(items)
    width = max(len(key) for key, _ in items)
    return "\n".join(f"{key.ljust(width)}  {value}".rstrip() for key, value in items)


def scheduler_line(scheduler: Scheduler) -> str:
    if scheduler.running:
        line = (
            f"Scheduler running on node {text(scheduler.node)} since "
            f"{when(scheduler.started_at)}"
        )
    else:
        line = f"Scheduler stopped: {text(scheduler.reason)}"
    if not scheduler.store_ok:
        line += f"; database failing: {text(scheduler.store_error, 120)}"
    return line + "."


def job_row(job: Job) -> list[str]:
    return [
        text(job.name),
        text(job.category),
        text(job.status),
        interval_text(job),
        str(job.run_count),
        when(job.last_run_at),
        text(job.last_outcome),
        next_run(job),
        text(job.last_error, TABLE_CLIP),
    ]


def job_details(job: Job) -> list[tuple[str, str]]:
    details = [
        ("name", text(job.name)),
        ("category", text(job.category)),
        ("description", text(job.description)),
        ("status", status_text(job)),
        ("interval", interval_details(job)),
        ("paused", pause_text(job)),
        ("next run", "paused" if job.paused else moment_text(job.next_run_at)),
        ("last run", last_run_text(job)),
        ("last summary", text(job.last_summary, 500)),
        ("last error", text(job.last_error, 1000)),
        ("runs", runs_text(job)),
        ("usual duration", duration(job.usual_duration_ms)),
    ]
    why = job.why_not_running
    if why:
        details.append(("why not running", text(_times_in(why.text))))
    details.append(("runs on", f"{text(job.scope)} scope, node {text(job.node)}"))
    return details


def status_text(job: Job) -> str:
    if job.status != "running" or not job.running_since:
        return text(job.status)
    line = (
        f"running since {moment_text(job.running_since)}, {text(job.running_trigger)}"
    )
    if job.progress is not None:
        line += f", {job.progress * 100:.0f}%"
    if job.progress_message:
        line += f" {text(job.progress_message, 200)}"
    if job.overrunning:
        line += " (far longer than usual)"
    return line


def interval_details(job: Job) -> str:
    if not job.interval_overridden:
        return f"{text(job.interval)} (the default)"
    return (
        f"{text(job.interval)} (default {text(job.default_interval)}, set by "
        f"{text(job.interval_set_by)})"
    )


def pause_text(job: Job) -> str:
    if not job.paused:
        return "no"
    until = when(job.paused_until) if job.paused_until else "resumed"
    return f"yes, by {text(job.paused_by)} at {when(job.paused_at)}, until {until}"


def last_run_text(job: Job) -> str:
    if not job.last_run_at:
        return "never"
    return (
        f"{moment_text(job.last_run_at)}, {text(job.last_outcome)}, "
        f"{duration(job.last_duration_ms)}"
    )


def moment_text(moment: str | None) -> str:
    if not moment:
        return "-"
    return f"{when(moment)} ({relative(moment)})"


def runs_text(job: Job) -> str:
    return (
        f"{job.run_count} since the server started, {job.total_runs} in "
        f"total, {job.skipped_count} skipped ticks"
    )


def run_row(run: Run) -> list[str]:
    detail = run.error or run.reason or run.summary
    return [
        when(run.started_at),
        text(run.trigger),
        text(run.user),
        duration(run.duration_ms),
        text(run.outcome),
        text(detail, TABLE_CLIP),
    ]


def token_row(token: Token) -> list[str]:
    return [
        text(token.id),
        text(token.name),
        text(token.role),
        text(token.created_by),
        when(token.created_at),
        when(token.expires_at, "never"),
    ]

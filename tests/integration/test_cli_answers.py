"""The client commands against a stand-in server on 127.0.0.1 that answers what a
test tells it to: answers that are not jobdeck's, hostile text, odd flags. The
commands must end with a message and the exit codes of docs/cli.md, never a
traceback, and print no server text raw to the terminal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jobdeck.cli import main


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """Answers every request with `status`, `headers` and `body`, or closes the
    connection without a word when `hang_up`; keeps the requests it got."""

    url: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"
    hang_up: bool = False
    requests: list[Request] = field(default_factory=list)

    def answer_json(self, value: Any, status: int = 200) -> None:
        self.status = status
        self.headers = {"Content-Type": "application/json"}
        self.body = json.dumps(value).encode()

    def answer_error(self, status: int, code: str, message: str) -> None:
        self.answer_json({"error": {"code": code, "message": message}}, status)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server_side = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            server_side.requests.append(
                Request(
                    self.command, self.path, dict(self.headers), self.rfile.read(length)
                )
            )
            if server_side.hang_up:
                return
            self.send_response(server_side.status)
            for name, value in server_side.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(server_side.body)))
            self.end_headers()
            self.wfile.write(server_side.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server_side.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server_side
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def jobdeck(
    stand_in: StandIn, *args: str, input: str | None = None, **env: str | None
) -> Result:
    """`jobdeck ARGS` in this process, aimed at the stand-in with a token."""
    environment = {"JOBDECK_URL": stand_in.url, "JOBDECK_TOKEN": "jdt_test"}
    return CliRunner().invoke(
        main,
        list(args),
        input=input,
        env={**environment, **env},
        catch_exceptions=False,
    )


A_SCHEDULER = {"running": True, "reason": None, "node": "n", "started_at": None}
PAST_9999_IN_UTC = "9999-12-31T23:30:00-01:00"


def a_job(**changes: Any) -> dict[str, Any]:
    """A job object as the server gives it."""
    job = {
        "name": "hello",
        "category": "test",
        "description": "Says hello.",
        "status": "idle",
        "interval": "1h",
        "interval_seconds": 3600,
        "default_interval": "1h",
        "interval_overridden": False,
        "interval_set_by": None,
        "paused": False,
        "paused_by": None,
        "paused_at": None,
        "paused_until": None,
        "run_count": 1,
        "total_runs": 3,
        "skipped_count": 0,
        "last_run_at": "2026-12-04T10:00:03.000Z",
        "last_duration_ms": 31,
        "last_outcome": "success",
        "last_error": None,
        "last_summary": "done",
        "next_run_at": "2026-12-04T11:00:03.000Z",
        "running_since": None,
        "running_trigger": None,
        "progress": None,
        "progress_message": None,
        "overrunning": False,
        "usual_duration_ms": 30,
        "recent_runs": [],
        "why_not_running": {"reason": "waiting", "text": "waiting for its tick"},
        "scope": "node",
        "node": "web-1",
        "version": 7,
    }
    return {**job, **changes}


# --- the token ---------------------------------------------------------------------


@pytest.mark.parametrize("token", ["é", "jdt_a b", "jdt_a\nb", "jdt_\x1b"])
def test_a_token_that_cannot_be_sent_is_refused_as_bad_usage(
    stand_in: StandIn, token: str
) -> None:
    as_flag = jobdeck(stand_in, "jobs", "list", "--token", token)
    from_env = jobdeck(stand_in, "jobs", "list", JOBDECK_TOKEN=token)

    assert as_flag.exit_code == from_env.exit_code == 2
    assert "Invalid value for '--token'" in as_flag.stderr
    assert "JOBDECK_TOKEN" in from_env.stderr
    assert stand_in.requests == []


# --- answers that are not jobdeck's --------------------------------------------------

SIGN_IN = ["--username", "admin", "--password-stdin"]
A_TOKEN = {
    "id": "3f9c1a2b4d5e6f70",
    "name": "robot",
    "role": "viewer",
    "created_by": "admin",
    "created_at": "2026-12-01T09:05:00.000Z",
    "expires_at": None,
}
WITHOUT_CATEGORY = {key: value for key, value in a_job().items() if key != "category"}


@pytest.mark.parametrize(
    ("args", "status", "answer"),
    [
        (["jobs", "list"], 200, {}),
        (["jobs", "list"], 200, [1, 2]),
        (["jobs", "list", "--json"], 200, {}),
        (["jobs", "list"], 200, {"scheduler": {"running": True}, "jobs": []}),
        (["jobs", "show", "hello"], 200, WITHOUT_CATEGORY),
        (["jobs", "show", "hello"], 200, a_job(run_count="3")),
        (["jobs", "show", "hello"], 200, a_job(last_run_at="yesterday")),
        (
            ["jobs", "show", "hello"],
            200,
            a_job(last_run_at="0001-01-01T00:00:00+01:00"),
        ),
        (
            ["jobs", "list"],
            200,
            {"scheduler": A_SCHEDULER, "jobs": [a_job(next_run_at=PAST_9999_IN_UTC)]},
        ),
        (["jobs", "show", "hello"], 200, a_job(progress=[0.5], status="running")),
        (["jobs", "run", "hello"], 202, {"job": None}),
        (["jobs", "interval", "hello", "5m"], 200, {"job": {"interval": "5m"}}),
        (["jobs", "history", "hello"], 200, {"runs": [{}]}),
        (["users", "list"], 200, {"users": "admin"}),
        (["tokens", "list"], 200, {"tokens": [{**A_TOKEN, "id": 1}]}),
        (["tokens", "create", "t", "--role", "admin"], 201, {"token": A_TOKEN}),
        (
            ["tokens", "create", "t", "--role", "admin"],
            201,
            {"token": A_TOKEN, "secret": "\x1b[2J"},
        ),
        (
            ["tokens", "create", "t", "--role", "admin", *SIGN_IN],
            200,
            {"user": {"username": "admin", "role": "admin"}},
        ),
    ],
)
def test_an_answer_of_another_shape_exits_4_with_one_line(
    stand_in: StandIn, args: list[str], status: int, answer: Any
) -> None:
    stand_in.answer_json(answer, status)

    result = jobdeck(stand_in, *args, input="a password\n")

    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "not jobdeck's JSON" in result.stderr


@pytest.mark.parametrize("status", [200, 404, 418, 500])
@pytest.mark.parametrize("body", [b"<html>I'm a teapot</html>", b"[" * 100_000])
def test_an_answer_that_is_not_json_exits_4_whatever_its_status(
    stand_in: StandIn, status: int, body: bytes
) -> None:
    stand_in.status, stand_in.body = status, body

    result = jobdeck(stand_in, "jobs", "list")

    assert result.exit_code == 4, result.output
    assert f"answered {status} " in result.stderr
    assert "without jobdeck's JSON" in result.stderr


# --- server text on the terminal -------------------------------------------------

HOSTILE = "\x1b]0;PWNED\x07\x1b[31m\u202egnp.exe\x9b2J"


def assert_plain(output: str) -> None:
    for char in ["\x1b", "\x07", "\u202e", "\x9b"]:
        assert char not in output, repr(output)


@pytest.mark.parametrize("status", [401, 422, 503])
def test_a_servers_error_message_is_printed_as_plain_text(
    stand_in: StandIn, status: int
) -> None:
    stand_in.answer_error(status, f"code{HOSTILE}", f"invalid interval: '5{HOSTILE}m'")

    result = jobdeck(stand_in, "jobs", "interval", "hello", f"5{HOSTILE}m")

    assert result.exit_code in (1, 4)
    assert_plain(result.stderr)
    assert "invalid interval: '5?]0;PWNED??[31m?gnp.exe?2Jm'" in result.stderr


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (
            ["jobs", "list"],
            {
                "scheduler": {"running": True, "reason": None, "node": "n",
                              "started_at": "2026-12-04T08:00:02Z"},
                "jobs": [a_job(status=HOSTILE, interval=HOSTILE,
                               interval_overridden=True, default_interval=HOSTILE)],
            },
        ),
        (["jobs", "show", "hello"], a_job(status=HOSTILE, scope=HOSTILE)),
        (
            ["jobs", "show", "hello"],
            a_job(interval=HOSTILE, default_interval=HOSTILE, interval_overridden=True),
        ),
        (["jobs", "interval", "hello", "5m"], {"job": a_job(interval=HOSTILE)}),
        (
            ["users", "list"],
            {"users": [{"username": "vera", "role": HOSTILE, "created_at": None}]},
        ),
        (["tokens", "list"], {"tokens": [{**A_TOKEN, "role": HOSTILE}]}),
        (
            ["tokens", "create", "t", "--role", "admin"],
            {"token": {**A_TOKEN, "id": HOSTILE, "role": HOSTILE}, "secret": "jdt_x"},
        ),
    ],
)  # fmt: skip
def test_every_server_text_in_tables_and_lines_is_plain(
    stand_in: StandIn, args: list[str], answer: Any
) -> None:
    stand_in.answer_json(answer)

    result = jobdeck(stand_in, *args)

    assert result.exit_code == 0, result.output
    assert_plain(result.output)
    assert "?]0;PWNED??[31m?gnp.exe?2J" in result.output


def test_json_output_escapes_what_a_terminal_would_act_on_and_keeps_the_values(
    stand_in: StandIn,
) -> None:
    run = {
        "started_at": "2026-12-04T10:20:11.000Z", "trigger": "manual",
        "user": "admin", "duration_ms": 5, "outcome": "error", "summary": None,
        "error": HOSTILE, "reason": None, "log": "half\ud800 a surrogate, ünïcödé",
    }  # fmt: skip
    answer = {"runs": [run], "limit": 20, "offset": 0}
    stand_in.answer_json(answer)

    result = jobdeck(stand_in, "jobs", "history", "hello", "--json")

    assert result.exit_code == 0, result.output
    assert_plain(result.stdout)
    assert "\\u202e" in result.stdout and "ünïcödé" in result.stdout
    assert json.loads(result.stdout) == answer


# --- flags -----------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--url", "--token"])
@pytest.mark.parametrize("on", ["group", "command"])
def test_an_empty_url_or_token_flag_is_refused_not_replaced_by_the_environment(
    stand_in: StandIn, option: str, on: str
) -> None:
    stand_in.answer_json({"users": []})
    args = [option, "", "list"] if on == "group" else ["list", option, ""]

    result = jobdeck(stand_in, "users", *args)

    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': is empty" in result.stderr
    assert stand_in.requests == []


def test_an_empty_token_variable_counts_as_unset(stand_in: StandIn) -> None:
    stand_in.answer_json({"users": []})

    result = jobdeck(stand_in, "users", "list", JOBDECK_TOKEN="")

    assert result.exit_code == 0, result.output
    assert "Authorization" not in stand_in.requests[0].headers


def test_password_and_password_stdin_are_refused_together(stand_in: StandIn) -> None:
    result = jobdeck(
        stand_in,
        "users",
        "change",
        "vera",
        "--password",
        "--password-stdin",
        input="a long enough password\n",
    )

    assert result.exit_code == 2, result.output
    assert "--password or --password-stdin, not both" in result.stderr
    assert stand_in.requests == []


# --- tables ----------------------------------------------------------------------


def test_history_clips_details_at_50_characters_as_the_jobs_table_does(
    stand_in: StandIn,
) -> None:
    long_error = "disk full: " + "x" * 100
    run = {
        "started_at": "2026-12-04T10:20:11.000Z", "trigger": "schedule", "user": None,
        "duration_ms": 1400, "outcome": "error", "summary": None,
        "error": long_error, "reason": None,
    }  # fmt: skip
    stand_in.answer_json({"runs": [run], "limit": 20, "offset": 0})

    result = jobdeck(stand_in, "jobs", "history", "db-backup")

    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    detail = row[header.index("DETAIL") :]
    assert detail == long_error[:49] + "…"


# --- messages --------------------------------------------------------------------


def test_a_throttled_sign_in_says_how_long_to_wait_once(stand_in: StandIn) -> None:
    message = "too many failed sign-ins; try again in 30 s"
    stand_in.answer_error(429, "too_many_attempts", message)
    stand_in.headers["Retry-After"] = "30"

    result = jobdeck(
        stand_in, "tokens", "create", "t", "--role", "admin", *SIGN_IN, input="pw\n"
    )

    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {message} (HTTP 429 too_many_attempts)\n"


def test_a_server_that_hangs_up_is_explained_in_sentences_that_end_once(
    stand_in: StandIn,
) -> None:
    stand_in.hang_up = True

    result = jobdeck(stand_in, "jobs", "list")

    assert result.exit_code == 3, result.output
    assert "Server disconnected without sending a response. Is" in result.stderr
    assert ".." not in result.stderr


def test_a_404_under_a_url_with_a_path_hints_at_the_servers_root(
    stand_in: StandIn,
) -> None:
    stand_in.answer_error(404, "not_found", "Not Found")

    with_path = jobdeck(stand_in, "jobs", "list", "--url", f"{stand_in.url}/admin")
    at_the_root = jobdeck(stand_in, "jobs", "list")

    assert with_path.exit_code == at_the_root.exit_code == 1
    assert "Not Found (HTTP 404 not_found)" in with_path.stderr
    assert f"{stand_in.url}/admin has a path" in with_path.stderr
    assert "the server's root" in with_path.stderr
    assert at_the_root.stderr == "Error: Not Found (HTTP 404 not_found)\n"


def test_a_ca_certificate_matters_only_for_https(
    stand_in: StandIn, tmp_path: Path
) -> None:
    stand_in.answer_json({"users": []})
    missing = tmp_path / "missing.pem"

    over_http = jobdeck(stand_in, "users", "list", JOBDECK_CA_CERT=str(missing))
    over_https = jobdeck(
        stand_in,
        "users",
        "list",
        JOBDECK_CA_CERT=str(missing),
        JOBDECK_URL=stand_in.url.replace("http:", "https:"),
    )

    assert over_http.exit_code == 0, over_http.output
    assert over_https.exit_code == 3
    assert f"cannot use {missing} as a CA certificate" in over_https.stderr

"""The `jobdeck` client commands (SPEC §10) against a real `jobdeck serve`: tables
for people, `--json` for scripts, the server's own messages and the exit codes of
docs/cli.md. The commands only talk HTTP: they never open a store or run a job."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from click.testing import CliRunner, Result

from jobdeck.cli import main
from tests.support import (
    ADMIN_PASSWORD,
    REPO,
    Server,
    free_port,
    serve_once,
    serving,
    sign_in,
)

pytestmark = pytest.mark.e2e

PYTHON = json.dumps(sys.executable)
CONFIG = f"""
[server]
shutdown_grace = "2s"

[stock]
enabled = false

[[jobs]]
name = "hello"
interval = "1h"
command = [{PYTHON}, "-c", "print('hello from the job')"]
category = "test"
description = "Says hello."
first_delay = "1h"

[[jobs]]
name = "sleeper"
interval = "1h"
command = [{PYTHON}, "-c", "import time; time.sleep(30)"]
category = "test"
description = "Sleeps for half a minute."
first_delay = "1h"

[[jobs]]
name = "napper"
interval = "1h"
command = [{PYTHON}, "-c", "pass"]
category = "naps"
first_delay = "1h"

[[jobs]]
name = "tuned"
interval = "1h"
command = [{PYTHON}, "-c", "pass"]
category = "naps"
first_delay = "1h"

[[jobs]]
name = "failing"
interval = "1h"
command = [{PYTHON}, "-c", 'import sys; sys.exit("\\x1b[31mred\\nsecond line")']
category = "test"
first_delay = "1h"
"""
HISTORY_HEADER = ["STARTED", "TRIGGER", "BY", "DURATION", "OUTCOME", "DETAIL"]
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ")


class Cli(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, Any] | None = None
    ) -> Result: ...


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("cli"), CONFIG) as server:
        yield server


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    """The admin's own session, to set up and to check what the CLI did."""
    client = sign_in(server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def admin_token(api: httpx.Client) -> str:
    answer = api.post("/api/tokens", json={"name": "cli-tests", "role": "admin"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


@pytest.fixture
def cli(server: Server, admin_token: str) -> Cli:
    """Runs `jobdeck ARGS` in this process, as the admin token unless told."""
    runner = CliRunner()

    def invoke(
        *args: str, input: str | None = None, env: dict[str, Any] | None = None
    ) -> Result:
        environment = {"JOBDECK_URL": server.url, "JOBDECK_TOKEN": admin_token}
        return runner.invoke(
            main,
            list(args),
            input=input,
            env={**environment, **(env or {})},
            catch_exceptions=False,
        )

    return invoke


def job(api: httpx.Client, name: str) -> dict[str, Any]:
    answer = api.get(f"/api/jobs/{name}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def runs(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    """The job's history as written so far (it is written after the run)."""
    answer = api.get(f"/api/jobs/{name}/runs", params={"limit": 500})
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()["runs"]
    return result


def wait_for(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def column_starts(header: str) -> list[int]:
    return [match.start() for match in re.finditer(r"\S+(?: \S+)*", header)]


def test_jobs_list_prints_an_aligned_table_with_utc_times(cli: Cli) -> None:
    result = cli("jobs", "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Scheduler running on node ")
    header, rows = lines[1], lines[2:]
    assert header.split()[:4] == ["NAME", "CATEGORY", "STATUS", "INTERVAL"]
    assert sorted(row.split()[0] for row in rows) == [
        "failing",
        "hello",
        "napper",
        "sleeper",
        "tuned",
    ]
    status_at = header.index("STATUS")
    next_at = header.index("NEXT RUN")
    for row in rows:
        assert row[status_at - 1] == " " and row[status_at] != " "
        assert UTC_TIME.fullmatch(row[next_at : next_at + 20]) or row[
            next_at:
        ].startswith("paused")


def test_jobs_list_json_is_the_apis_answer_as_is(cli: Cli, api: httpx.Client) -> None:
    result = cli("jobs", "list", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer) == {"scheduler", "jobs"}
    assert answer["scheduler"]["running"] is True
    expected = api.get("/api/jobs").json()
    assert [j["name"] for j in answer["jobs"]] == [j["name"] for j in expected["jobs"]]
    assert set(answer["jobs"][0]) == set(expected["jobs"][0])


def test_show_prints_one_job_and_its_json_is_the_job_object(
    cli: Cli, api: httpx.Client
) -> None:
    shown = cli("jobs", "show", "hello")
    as_json = cli("jobs", "show", "hello", "--json")

    assert shown.exit_code == 0, shown.output
    assert re.search(r"^description +Says hello\.$", shown.stdout, re.MULTILINE)
    assert re.search(r"^interval +1h \(the default\)$", shown.stdout, re.MULTILINE)
    assert UTC_TIME.search(shown.stdout)
    why = re.search(r"^why not running +(.*)$", shown.stdout, re.MULTILINE)
    assert why is not None and "due at" in why.group(1)
    assert UTC_TIME.search(why.group(1)) and "T" not in why.group(1).split("due at")[1]
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["name"] == "hello"
    assert set(json.loads(as_json.stdout)) == set(job(api, "hello"))


def test_an_unknown_job_exits_1_with_the_servers_404_message(cli: Cli) -> None:
    result = cli("jobs", "show", "no-such-job")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no job named 'no-such-job'" in result.stderr
    assert "HTTP 404 not_found" in result.stderr


@pytest.mark.parametrize("name", ["sse", "hello/runs", "Hello", ".."])
def test_what_is_no_jobs_name_is_refused_before_it_reaches_another_route(
    cli: Cli, name: str
) -> None:
    # `jobs show sse` read the event stream for ever; `hello/runs` got the runs.
    result = cli("jobs", "show", name)

    assert result.exit_code == 2
    assert "job name" in result.stderr


def test_run_starts_a_manual_run_that_history_then_shows(
    cli: Cli, api: httpx.Client
) -> None:
    before = job(api, "hello")["total_runs"]

    result = cli("jobs", "run", "hello")

    assert result.exit_code == 0, result.output
    assert result.stdout == "Started a manual run of hello.\n"
    wait_for(lambda: job(api, "hello")["total_runs"] == before + 1)
    wait_for(lambda: len(runs(api, "hello")) == before + 1)
    history = cli("jobs", "history", "hello")
    assert history.exit_code == 0, history.output
    header, newest = history.stdout.splitlines()[:2]
    assert header.split() == HISTORY_HEADER
    assert UTC_TIME.match(newest)
    assert newest.split()[2:4] == ["manual", "cli-tests"]
    assert "success" in newest and "hello from the job" in newest


def test_history_json_is_the_page_the_api_gives(cli: Cli, api: httpx.Client) -> None:
    cli("jobs", "run", "napper")
    wait_for(lambda: len(runs(api, "napper")) > 0)

    result = cli("jobs", "history", "napper", "--limit", "1", "--json")

    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["limit"] == 1 and page["offset"] == 0
    assert len(page["runs"]) == 1
    assert page["runs"][0]["trigger"] == "manual"


def test_a_second_run_is_refused_while_running_and_cancel_stops_the_run(
    cli: Cli, api: httpx.Client
) -> None:
    started = cli("jobs", "run", "sleeper")
    again = cli("jobs", "run", "sleeper")
    cancelled = cli("jobs", "cancel", "sleeper")
    wait_for(lambda: job(api, "sleeper")["status"] != "running")
    nothing_to_cancel = cli("jobs", "cancel", "sleeper")

    assert started.exit_code == 0, started.output
    assert again.exit_code == 1
    assert "already running" in again.stderr and "HTTP 409" in again.stderr
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout == "Asked the running run of sleeper to stop.\n"
    assert job(api, "sleeper")["last_outcome"] == "cancelled"
    assert nothing_to_cancel.exit_code == 1
    assert "not running" in nothing_to_cancel.stderr


def test_pause_for_a_while_then_resume(cli: Cli, api: httpx.Client) -> None:
    paused = cli("jobs", "pause", "napper", "--for", "2h")
    state = job(api, "napper")
    listed = cli("jobs", "list")
    resumed = cli("jobs", "resume", "napper")

    assert paused.exit_code == 0, paused.output
    assert re.fullmatch(r"Paused napper until \S+ \S+Z\.\n", paused.stdout)
    assert state["paused"] is True and state["paused_until"] is not None
    assert UTC_TIME.search(paused.stdout)
    row = next(r for r in listed.stdout.splitlines() if r.startswith("napper "))
    assert "paused" in row.split()
    assert resumed.exit_code == 0, resumed.output
    assert re.fullmatch(r"Resumed napper; next run \S+ \S+Z\.\n", resumed.stdout)
    assert job(api, "napper")["paused"] is False


def test_pause_until_a_time_and_the_server_refuses_both_ends(
    cli: Cli, api: httpx.Client
) -> None:
    until = cli("jobs", "pause", "napper", "--until", "2030-01-01T08:00:00+02:00")
    both = cli("jobs", "pause", "napper", "--for", "1h", "--until", "2030-01-01T00:00Z")
    cli("jobs", "resume", "napper")

    empty_for = cli("jobs", "pause", "napper", "--for", "")
    empty_until = cli("jobs", "pause", "napper", "--until", "")

    assert until.exit_code == 0, until.output
    assert until.stdout == "Paused napper until 2030-01-01 06:00:00Z.\n"
    assert both.exit_code == 1
    assert "not both" in both.stderr
    # An empty value (an unset shell variable) is refused, not an endless pause.
    assert empty_for.exit_code == empty_until.exit_code == 1
    assert job(api, "napper")["paused"] is False


def test_pause_until_resumed_takes_a_paused_jobs_end_away(
    cli: Cli, api: httpx.Client
) -> None:
    cli("jobs", "pause", "napper", "--for", "2h")
    bare = cli("jobs", "pause", "napper")
    kept = job(api, "napper")["paused_until"]
    endless = cli("jobs", "pause", "napper", "--until-resumed")
    state = job(api, "napper")
    mixed = cli("jobs", "pause", "napper", "--until-resumed", "--for", "1h")
    cli("jobs", "resume", "napper")

    assert kept is not None  # a bare pause of a paused job changes nothing
    assert bare.stdout.startswith("Paused napper until 20")
    assert endless.exit_code == 0, endless.output
    assert endless.stdout == "Paused napper until resumed.\n"
    assert state["paused"] is True and state["paused_until"] is None
    assert mixed.exit_code == 2
    assert "--until-resumed alone" in mixed.stderr


def test_interval_sets_a_value_and_reset_goes_back_to_the_default(
    cli: Cli, api: httpx.Client
) -> None:
    changed = cli("jobs", "interval", "tuned", "90m")
    state = job(api, "tuned")
    shown = cli("jobs", "show", "tuned")
    reset = cli("jobs", "interval", "tuned", "--reset")

    assert changed.exit_code == 0, changed.output
    assert changed.stdout.startswith("Set the interval of tuned to 1h30m; next run ")
    assert state["interval"] == "1h30m" and state["interval_overridden"] is True
    assert "1h30m (default 1h, set by cli-tests (token))" in shown.stdout
    assert reset.exit_code == 0, reset.output
    assert reset.stdout.startswith("Set the interval of tuned to its default, 1h;")
    assert job(api, "tuned")["interval_overridden"] is False


def test_a_refused_interval_prints_the_servers_message_and_changes_nothing(
    cli: Cli, api: httpx.Client
) -> None:
    refusal = api.put("/api/jobs/tuned/interval", json={"interval": "5M"}).json()

    result = cli("jobs", "interval", "tuned", "5M")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert refusal["error"]["message"] in result.stderr
    assert "HTTP 422 invalid_interval" in result.stderr
    assert job(api, "tuned")["interval"] == "1h"


def test_interval_needs_a_value_or_reset_but_not_both(cli: Cli) -> None:
    neither = cli("jobs", "interval", "tuned")
    both = cli("jobs", "interval", "tuned", "5m", "--reset")

    assert neither.exit_code == 2 and "--reset" in neither.stderr
    assert both.exit_code == 2 and "not both" in both.stderr


def test_job_text_reaches_the_terminal_as_plain_text(
    cli: Cli, api: httpx.Client
) -> None:
    cli("jobs", "run", "failing")
    wait_for(lambda: job(api, "failing")["last_outcome"] == "error")

    listed = cli("jobs", "list")
    shown = cli("jobs", "show", "failing")

    for output in (listed.stdout, shown.stdout):
        assert "\x1b" not in output
        assert "?[31mred second line" in output


def test_users_are_added_from_a_prompt_or_stdin_and_listed(
    cli: Cli, server: Server
) -> None:
    prompted = cli(
        "users",
        "add",
        "vera",
        "--role",
        "viewer",
        input="vera's password\nvera's password\n",
    )
    piped = cli(
        "users",
        "add",
        "walt",
        "--role",
        "admin",
        "--password-stdin",
        input="walt's password\n",
    )
    listed = cli("users", "list")
    as_json = cli("users", "list", "--json")

    assert prompted.exit_code == 0, prompted.output
    assert "Added user vera with the viewer role." in prompted.stdout
    assert piped.exit_code == 0, piped.output
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()}
    assert rows["USERNAME"] == "ROLE"
    assert rows["vera"] == "viewer" and rows["walt"] == "admin"
    names = {user["username"] for user in json.loads(as_json.stdout)["users"]}
    assert {"admin", "vera", "walt"} <= names
    sign_in(server.url, "vera", "vera's password").close()
    sign_in(server.url, "walt", "walt's password").close()


def test_a_short_password_is_refused_with_the_servers_message(cli: Cli) -> None:
    result = cli(
        "users", "add", "shorty", "--role", "viewer", "--password-stdin", input="x\n"
    )

    assert result.exit_code == 1
    assert "at least 10 characters" in result.stderr


def test_a_token_secret_is_printed_once_and_works_until_revoked(
    cli: Cli, server: Server
) -> None:
    expires = "2031-01-01T00:00:00Z"
    created = cli("tokens", "create", "robot", "--role", "viewer", "--expires", expires)
    secret = created.stdout.strip()
    listed = cli("tokens", "list")
    as_robot = cli("jobs", "list", env={"JOBDECK_TOKEN": secret})
    token_id = next(
        token["id"]
        for token in json.loads(cli("tokens", "list", "--json").stdout)["tokens"]
        if token["name"] == "robot"
    )
    revoked = cli("tokens", "revoke", token_id)
    after = cli("jobs", "list", env={"JOBDECK_TOKEN": secret})

    assert created.exit_code == 0, created.output
    assert re.fullmatch(r"jdt_\S+", secret)
    assert "shown this once" in created.stderr and secret not in created.stderr
    assert secret not in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if " robot " in line)
    assert row.split()[:3] == [token_id, "robot", "viewer"]
    assert row.endswith("2031-01-01 00:00:00Z")
    assert as_robot.exit_code == 0, as_robot.output
    assert revoked.exit_code == 0 and revoked.stdout == f"Revoked token {token_id}.\n"
    assert after.exit_code == 1 and "HTTP 401" in after.stderr


def test_an_empty_expiry_is_refused_not_made_never(cli: Cli) -> None:
    # An unset shell variable in `--expires "$END"` must not make a token for ever.
    created = cli("tokens", "create", "empty-end", "--role", "viewer", "--expires", "")
    listed = cli("tokens", "list")

    assert created.exit_code == 1
    assert "HTTP 422" in created.stderr
    assert " empty-end " not in listed.stdout


def test_the_first_token_is_made_by_signing_in_with_a_password(cli: Cli) -> None:
    created = cli(
        "tokens",
        "create",
        "first",
        "--role",
        "admin",
        "--username",
        "admin",
        "--password-stdin",
        input=f"{ADMIN_PASSWORD}\n",
        env={"JOBDECK_TOKEN": None},
    )
    wrong = cli(
        "tokens",
        "create",
        "second",
        "--role",
        "admin",
        "--username",
        "admin",
        input="not the password\n",
        env={"JOBDECK_TOKEN": None},
    )
    secret = created.stdout.strip()

    assert created.exit_code == 0, created.output
    assert cli("users", "list", env={"JOBDECK_TOKEN": secret}).exit_code == 0
    assert wrong.exit_code == 1
    assert "wrong username or password" in wrong.stderr


def test_a_viewer_token_reads_but_its_controls_are_refused_with_403(
    cli: Cli, api: httpx.Client
) -> None:
    answer = api.post("/api/tokens", json={"name": "watcher", "role": "viewer"})
    viewer = {"JOBDECK_TOKEN": answer.json()["secret"]}
    before = job(api, "tuned")

    listed = cli("jobs", "list", env=viewer)
    controls = [
        cli("jobs", "run", "tuned", env=viewer),
        cli("jobs", "pause", "tuned", env=viewer),
        cli("jobs", "interval", "tuned", "5m", env=viewer),
        cli("users", "list", env=viewer),
    ]

    assert listed.exit_code == 0, listed.output
    for result in controls:
        assert result.exit_code == 1
        assert "this needs the admin role (HTTP 403 forbidden)" in result.stderr
    after = job(api, "tuned")
    assert after["total_runs"] == before["total_runs"]
    assert after["paused"] is False and after["interval"] == before["interval"]


def test_a_wrong_token_exits_1_with_the_401_message(cli: Cli) -> None:
    result = cli("jobs", "list", "--token", "jdt_not-a-real-token")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "HTTP 401 unauthorized" in result.stderr


def test_no_token_at_all_says_how_to_give_one(cli: Cli) -> None:
    result = cli("jobs", "list", env={"JOBDECK_TOKEN": None})

    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr
    assert "--token or JOBDECK_TOKEN" in result.stderr


def test_an_unreachable_server_gives_a_clear_message_and_exit_3(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = cli("jobs", "list", "--url", url)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"cannot reach a jobdeck server at {url}" in result.stderr
    assert "--url or JOBDECK_URL" in result.stderr


def test_a_url_without_a_scheme_is_explained(cli: Cli, server: Server) -> None:
    result = cli("jobs", "list", "--url", f"127.0.0.1:{server.port}")

    assert result.exit_code == 3
    assert "must start with http:// or https://" in result.stderr


def test_flags_win_over_the_environment_on_the_group_or_the_command(
    cli: Cli, server: Server, admin_token: str
) -> None:
    wrong = {"JOBDECK_URL": "http://127.0.0.1:1", "JOBDECK_TOKEN": "jdt_wrong"}
    flags = ["--url", server.url, "--token", admin_token]

    on_the_group = cli("jobs", *flags, "list", env=wrong)
    on_the_command = cli("jobs", "list", *flags, env=wrong)

    assert on_the_group.exit_code == 0, on_the_group.output
    assert on_the_command.exit_code == 0, on_the_command.output


def test_client_commands_never_open_a_store_nor_start_a_deck(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobdeck.deck import Deck
    from jobdeck.store.sql import SqlStore

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client command touched the engine")

    monkeypatch.setattr(Deck, "__init__", forbidden)
    monkeypatch.setattr(Deck, "start", forbidden)
    monkeypatch.setattr(SqlStore, "__init__", forbidden)
    monkeypatch.setattr(SqlStore, "open", forbidden)

    for args in [
        ("jobs", "list"),
        ("jobs", "show", "tuned"),
        ("jobs", "interval", "tuned", "1h"),
        ("jobs", "history", "tuned"),
        ("users", "list"),
        ("tokens", "list"),
    ]:
        assert cli(*args).exit_code == 0, args


def test_a_cli_process_beside_the_server_leaves_no_data_and_runs_nothing(
    server: Server, admin_token: str, api: httpx.Client, tmp_path: Path
) -> None:
    """BC-01 step 3: CLI processes started beside the server schedule nothing."""
    before = {j["name"]: j["total_runs"] for j in api.get("/api/jobs").json()["jobs"]}
    env = {"JOBDECK_URL": server.url, "JOBDECK_TOKEN": admin_token}
    commands = [["jobs", "list", "--json"], ["jobs", "interval", "napper", "1h"]]
    commands.append(["--help"])

    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "jobdeck", *command],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for command in commands
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert json.loads(outputs[0][0])["scheduler"]["running"] is True
    assert list(tmp_path.iterdir()) == []
    time.sleep(0.5)
    after = {j["name"]: j["total_runs"] for j in api.get("/api/jobs").json()["jobs"]}
    assert after == before


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_an_https_server_is_trusted_with_its_certificate_and_refused_without(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    config = tmp_path / "jobdeck.toml"
    config.write_text(
        f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n[stock]\nenabled = false\n'
    )
    server = Server(tmp_path / "data", config, scheme="https").start()
    try:
        token = _token_over_tls(server.url, cert)
        env = {"JOBDECK_URL": server.url, "JOBDECK_TOKEN": token}
        runner = CliRunner(env=env)
        trusted = runner.invoke(main, ["jobs", "list", "--ca-cert", str(cert)])
        from_env = runner.invoke(
            main, ["jobs", "list"], env={"JOBDECK_CA_CERT": str(cert)}
        )
        untrusted = runner.invoke(main, ["jobs", "list"])
    finally:
        server.kill()

    assert trusted.exit_code == 0, trusted.output
    assert from_env.exit_code == 0, from_env.output
    assert untrusted.exit_code == 3
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def _token_over_tls(url: str, cert: Path) -> str:
    verify = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=url, verify=verify, timeout=10) as client:
        answer = client.post(
            "/api/session", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        made = client.post("/api/tokens", json={"name": "tls", "role": "admin"})
    return str(made.json()["secret"])


def test_serve_takes_the_tls_flags(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, _ = certificate

    result = serve_once(tmp_path / "data", "--tls-cert", str(cert))

    assert result.returncode == 1
    assert "HTTPS needs both a certificate and its key" in result.stderr

"""A mistake in `jobdeck serve`'s configuration (the file, a JOBDECK_* variable or a
flag) stops the start with one message that names the file and key, the variable or
the flag: never a traceback, and never accepted without a word.

`jobdeck serve` runs in this process, whole, up to where it would listen: there it
says 'would serve' instead, so that a mistake accepted by accident fails the test
rather than hanging it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobdeck import server
from jobdeck.cli import main
from tests.support import free_port, serve_once

JOB = '[[jobs]]\nname = "probe"\ninterval = "1h"\n'
COMMAND_JOB = JOB + 'command = "true"\n'

# The file's text, and the table and key its message must name after the file.
FILE_MISTAKES = [
    # each of these was a traceback
    ("server = 5", "server"),
    ("[server]\ndata_dir = 5", "[server] data_dir"),
    ("[server]\nhost = 5", "[server] host"),
    ('[server]\nshutdown_grace_s = "abc"', "[server] shutdown_grace_s"),
    (JOB + "command = 5", "[[jobs]] #1 command"),
    (JOB + 'command = ["echo\\u0000x"]', "[[jobs]] #1"),
    (JOB + 'command = ["", "x"]', "[[jobs]] #1"),
    (JOB + 'command = "echo \'unterminated"', "[[jobs]] #1 command"),
    (JOB + 'callable = ":foo"', "[[jobs]] #1 callable"),
    (JOB + "callable = 5", "[[jobs]] #1 callable"),
    (JOB + 'callable = ".foo:x"', "[[jobs]] #1 callable"),
    (JOB + 'callable = "json:no_such_function"', "[[jobs]] #1 callable"),
    (JOB + 'callable = "tests.exits_at_import:f"', "[[jobs]] #1 callable"),
    (JOB + 'callable = "os:chmod"', "[[jobs]] #1"),  # needs a path and a mode
    ("jobs = [1, 2]", "jobs"),
    ("[stock]\nblocklist-refresh = 5", "[stock] blocklist-refresh"),
    ("[stock.blocklist-refresh]\noutput = 5", "[stock.blocklist-refresh] output"),
    ("[stock.dhcp-lease-sync]\ndnsmasq = [1, 2]", "[stock.dhcp-lease-sync] dnsmasq"),
    # each of these was accepted without a word
    ("[sever]", "sever"),
    ("[stocks]", "stocks"),
    ('[server]\nadmin_password = "a long password"', "[server] admin_password"),
    ("[server]\nheartbeat_s = 1", "[server] heartbeat_s"),
    ('[stock.blocklist-refresh]\nsources = "/tmp/x.txt"', "[stock.blocklist-refresh]"),
    ('[stock]\nenabled = "false"', "[stock] enabled"),
    ("[stock]\nenabled = false\n[stock.db-backup]\nkeep = 0", "[stock.db-backup] keep"),
    (COMMAND_JOB + "category = 5", "[[jobs]] #1 category"),
    (COMMAND_JOB + 'description = ["x", 1]', "[[jobs]] #1 description"),
    (COMMAND_JOB + 'first_delay = ""', "[[jobs]] #1 first_delay"),
    (COMMAND_JOB + "first_delay = 0", "[[jobs]] #1 first_delay"),
    (COMMAND_JOB + "jitter = 5", "[[jobs]] #1 jitter"),
    # ports: whole numbers from 1 to 65535, and true is not one
    ('[server]\ndb = "postgresql://u:pw@127.0.0.1:notaport/x"', "[server] db"),
    ("[server]\nport = 99999", "[server] port"),
    ("[server]\nmax_threads = 99999999999", "[server] max_threads"),
    ("[server]\nport = 0", "[server] port"),
    ("[server]\nport = true", "[server] port"),
    ("[server]\nport = 18332.9", "[server] port"),
    ('[server]\ntrusted_proxies = ["proxy.example"]', "[server] trusted_proxies"),
    ('[server]\ntrusted_proxies = "10.0.0.5"', "[server] trusted_proxies"),
    # each of these named no file or no key
    ('[stock.metrics-collect]\ninterval = "0s"', "[stock.metrics-collect] interval"),
    ("[stock.history-retention]\nkeep = 30", "[stock.history-retention] keep"),
    ('[server]\nshutdown_grace = "5M"', "[server] shutdown_grace"),
    (COMMAND_JOB + COMMAND_JOB, "[[jobs]] #2 name"),
    (
        '[[jobs]]\nname = "db-backup"\ninterval = "1h"\ncommand = "true"',
        "[[jobs]] #1 name",
    ),
]

# A JOBDECK_* variable, and the variable its message must name.
ENVIRONMENT_MISTAKES = [
    ({"JOBDECK_PORT": "-1"}, "JOBDECK_PORT"),
    ({"JOBDECK_PORT": "99999"}, "JOBDECK_PORT"),
    ({"JOBDECK_PORT": "8330.5"}, "JOBDECK_PORT"),
    ({"JOBDECK_HOST": ""}, "JOBDECK_HOST"),
    ({"JOBDECK_TLS_CERT": "missing.pem", "JOBDECK_TLS_KEY": "x"}, "JOBDECK_TLS_CERT"),
    ({"JOBDECK_DATA_DIR": "jobdeck.toml"}, "JOBDECK_DATA_DIR"),
    ({"JOBDECK_ADMIN_PASSWORD": "short"}, "JOBDECK_ADMIN_PASSWORD"),
    ({"JOBDECK_DB": "mysql://db.example/jobs"}, "JOBDECK_DB"),
    ({"JOBDECK_DB": "jobs.sqlite3"}, "JOBDECK_DB"),
    ({"JOBDECK_TRUSTED_PROXIES": "10.0.0.5, 10.0.0.300"}, "JOBDECK_TRUSTED_PROXIES"),
]

Serve = Callable[..., Result]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Serve:
    """`jobdeck serve --config <tmp>/jobdeck.toml` with the given text, flags and
    environment, in `tmp_path`."""
    monkeypatch.setattr(server.ConsoleServer, "run", _would_serve)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # serve() sets them
    for name in [name for name in os.environ if name.startswith("JOBDECK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(
        text: str | bytes, *flags: str, env: dict[str, str] | None = None
    ) -> Result:
        config = tmp_path / "jobdeck.toml"
        if isinstance(text, str):
            text = text.encode()
        config.write_bytes(text)
        command = ["serve", "--config", str(config), *flags]
        return CliRunner(env={"JOBDECK_DATA_DIR": "data", **(env or {})}).invoke(
            main, command
        )

    return run


def _would_serve(
    self: server.ConsoleServer, sockets: list[socket.socket] | None = None
) -> None:
    for bound in sockets or []:
        bound.close()
    print(f"would serve on port {self.config.port}")


def refusal(result: Result, code: int = 1) -> str:
    """The one line of the message; the run must have stopped as click stops."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "would serve" not in result.stdout
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(("text", "where"), FILE_MISTAKES)
def test_a_mistake_in_the_file_names_the_file_and_key(
    serve: Serve, tmp_path: Path, text: str, where: str
) -> None:
    message = refusal(serve(text))

    assert message.startswith(f"Error: {tmp_path / 'jobdeck.toml'}: ")
    assert f": {where}" in message


@pytest.mark.parametrize(("env", "name"), ENVIRONMENT_MISTAKES)
def test_a_mistake_in_the_environment_names_the_variable(
    serve: Serve, env: dict[str, str], name: str
) -> None:
    message = refusal(serve("", env=env))

    assert message.startswith(f"Error: {name}: ")


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--port", "99999"], "Invalid value for '--port'"),
        (["--data-dir", "jobdeck.toml"], "Invalid value for '--data-dir'"),
        (["--data-dir", ""], "--data-dir: must be a path"),
        (["--db", "mysql://x/y"], "--db: the database URL's scheme 'mysql'"),
        (["--host", ""], "--host: must be a non-empty text"),
    ],
)
def test_a_refused_flag_is_a_wrong_command_line(
    serve: Serve, flags: list[str], said: str
) -> None:
    message = refusal(serve("", *flags), code=2)

    assert said in message


def test_a_bad_tls_pair_is_refused_before_the_start(
    serve: Serve, tmp_path: Path
) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    env = {"JOBDECK_TLS_CERT": "cert.pem", "JOBDECK_TLS_KEY": "cert.pem"}

    message = refusal(serve("", env=env))

    assert "tls_cert cert.pem and tls_key cert.pem" in message


def test_an_encrypted_key_is_refused_without_asking_for_its_pass_phrase(
    serve: Serve, tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make an encrypted key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem",
         "-passout", "pass:a pass phrase"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    env = {"JOBDECK_TLS_CERT": "cert.pem", "JOBDECK_TLS_KEY": "key.pem"}

    message = refusal(serve("", env=env))

    assert "the key without a pass phrase" in message


def test_a_file_that_is_not_utf_8_is_refused_with_its_name(
    serve: Serve, tmp_path: Path
) -> None:
    message = refusal(serve(b'[server]\nhost = "caf\xe9"\n'))

    assert f"cannot read the config file {tmp_path / 'jobdeck.toml'}" in message


def test_a_byte_order_mark_is_not_content(serve: Serve) -> None:
    port = free_port()
    result = serve(b"\xef\xbb\xbf[server]\nport = %d\n" % port)

    assert result.exit_code == 0, result.output
    assert f"would serve on port {port}" in result.stdout


def test_the_real_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "jobdeck.toml"
    config.write_text("server = 5\n")

    result = serve_once(tmp_path / "data", "--config", str(config))

    assert result.returncode == 1
    assert (
        result.stderr == f"Error: {config}: server: must be a table [server], not 5\n"
    )

"""`jobdeck serve` that cannot start says why in one line and exits 1: no
traceback, and nothing announced or scheduled before it fails."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from jobdeck.errors import InvalidInput
from jobdeck.server import _listen
from tests.support import serve_once

pytestmark = pytest.mark.e2e


def test_a_port_in_use_stops_it_before_it_announces_or_makes_anything(
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ended = serve_once(tmp_path / "data", port=port)

    assert ended.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in ended.stderr
    assert "Traceback" not in ended.stderr
    assert "serving on" not in ended.stdout
    assert not (tmp_path / "data" / "jobdeck.sqlite3").exists()


@pytest.mark.parametrize(
    "flags, env, says",
    [
        ((), {"JOBDECK_ADMIN_PASSWORD": "short"}, "at least 10 characters"),
        (
            (),
            {"JOBDECK_DB": "mysql://user:hunter2pw@127.0.0.1/x"},
            "'mysql' is not supported",
        ),
        (("--db", "sqlite:////no/such/dir/x.db"), {}, "unable to open database file"),
        (("--db", "postgresql://postgres@127.0.0.1:1/x"), {}, "Connection refused"),
    ],
)
def test_a_database_or_first_admin_that_fails_is_one_line_not_a_traceback(
    tmp_path: Path, flags: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    ended = serve_once(tmp_path / "data", *flags, env=env)

    assert ended.returncode == 1, ended.stderr
    assert says in ended.stderr
    assert "Traceback" not in ended.stderr
    assert "hunter2pw" not in ended.stderr  # a URL's password is never echoed
    assert "serving on" not in ended.stdout


def test_of_two_servers_starting_on_one_port_the_second_is_refused() -> None:
    """The port is listened on as soon as it is bound: two servers starting at
    once could otherwise both bind it (SO_REUSEADDR), one never listening."""
    first = _listen("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        with pytest.raises(InvalidInput, match="Address already in use"):
            _listen("127.0.0.1", port)
    finally:
        first.close()

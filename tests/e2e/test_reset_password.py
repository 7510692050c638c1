"""`jobdeck reset-password`: the way back in when no admin can sign in. It sets
the password straight in the server's database, beside the running server, and
ends the user's sessions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, REPO, Server, sign_in

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a new password, typed once"


def reset(data_dir: Path, *args: str, password: str = NEW_PASSWORD) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jobdeck", "reset-password", *args,
         "--data-dir", str(data_dir), "--password-stdin"],
        cwd=REPO, input=password, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def signs_in(url: str, username: str, password: str) -> bool:
    answer = httpx.post(
        f"{url}/api/session", json={"username": username, "password": password}
    )
    return answer.status_code == 200


def test_a_lost_admin_password_is_replaced_beside_the_running_server(
    tmp_path: Path,
) -> None:
    config = tmp_path / "jobdeck.toml"
    config.write_text("[stock]\nenabled = false\n")
    server = Server(tmp_path / "data", config).start()
    try:
        with closing(sign_in(server.url)) as signed_in:
            said = reset(server.data_dir)
            ended = signed_in.get("/api/jobs").status_code

        assert said == "Set the password of admin; their sessions have ended."
        assert ended == 401
        assert not signs_in(server.url, "admin", ADMIN_PASSWORD)
        assert signs_in(server.url, "admin", NEW_PASSWORD)
    finally:
        server.stop()


def test_an_unknown_user_is_created_as_an_admin(tmp_path: Path) -> None:
    config = tmp_path / "jobdeck.toml"
    config.write_text("[stock]\nenabled = false\n")
    server = Server(tmp_path / "data", config).start()
    try:
        said = reset(server.data_dir, "rescue")

        assert said == "Created admin rescue."
        with closing(sign_in(server.url, "rescue", NEW_PASSWORD)) as client:
            assert client.get("/api/users").status_code == 200  # admins only
    finally:
        server.stop()


def test_a_user_is_made_an_admin_when_no_admin_is_left(tmp_path: Path) -> None:
    """However the last admin went (a race, an edit of the database), the way
    back in must lead to an admin, not to a viewer's page."""
    config = tmp_path / "jobdeck.toml"
    config.write_text("[stock]\nenabled = false\n")
    server = Server(tmp_path / "data", config).start()
    try:
        with closing(sqlite3.connect(server.data_dir / "jobdeck.sqlite3")) as db:
            db.execute("UPDATE users SET role = 'viewer'")
            db.commit()
        said = reset(server.data_dir)

        assert said == (
            "Set the password of admin and made them an admin, as no admin was "
            "left; their sessions have ended."
        )
        with closing(sign_in(server.url, "admin", NEW_PASSWORD)) as client:
            assert client.get("/api/users").status_code == 200  # admins only
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("username", "password", "refusal"),
    [
        ("admin", NEW_PASSWORD, "there is no jobdeck database at"),
        ("a name", NEW_PASSWORD, "a username is 1 to 128 of"),
        ("admin", "short", "a password needs at least 10 characters"),
    ],
)
def test_a_wrong_directory_name_or_password_is_refused_before_any_database(
    tmp_path: Path, username: str, password: str, refusal: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobdeck", "reset-password", username,
         "--data-dir", str(tmp_path / "not-the-data-dir"), "--password-stdin"],
        cwd=REPO, input=password, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert done.returncode == 1
    assert refusal in done.stderr
    assert not (tmp_path / "not-the-data-dir").exists()

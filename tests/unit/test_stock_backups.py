import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jobdeck.config import load_settings
from jobdeck.server import build_app
from jobdeck.stock import backups
from jobdeck.stock.backups import (
    BackupError,
    BackupIntegrityError,
    BackupResult,
    backup_database,
    backup_name,
    check_integrity,
    format_size,
)

NOW = datetime(2026, 3, 1, 2, 30, 0, tzinfo=UTC)
PAGE_SIZE = 4096


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    """A WAL database with a table and an index, its writer still open."""
    path = tmp_path / "jobdeck.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, note TEXT)")
    connection.execute("CREATE INDEX runs_note ON runs (note)")
    rows = [(f"run {number} " + "x" * 200,) for number in range(400)]
    connection.executemany("INSERT INTO runs (note) VALUES (?)", rows)
    connection.commit()
    yield path
    connection.close()


def count_runs(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        (count,) = connection.execute("SELECT count(*) FROM runs").fetchone()
    return int(count)


def backups_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_backup_is_named_after_the_database_and_the_utc_time() -> None:
    paris = timezone(timedelta(hours=1))

    name = backup_name(
        Path("data/jobdeck.sqlite3"), datetime(2026, 3, 1, 3, 30, tzinfo=paris)
    )

    assert name == "jobdeck-20260301T023000Z.sqlite3"


def test_a_backup_copies_a_database_in_use_in_wal_mode(
    database: Path, tmp_path: Path
) -> None:
    # A second writer holds an open transaction: the copy takes what is committed.
    with closing(sqlite3.connect(database)) as writer:
        writer.execute("INSERT INTO runs (note) VALUES ('not yet committed')")

        result = backup_database(database, tmp_path / "backups", 3, NOW)

    assert result.path == tmp_path / "backups" / "jobdeck-20260301T023000Z.sqlite3"
    assert count_runs(result.path) == 400
    assert result.size_bytes == result.path.stat().st_size
    assert check_integrity(result.path) == ()


def test_the_copy_is_one_file_in_rollback_journal_mode(
    database: Path, tmp_path: Path
) -> None:
    result = backup_database(database, tmp_path / "backups", 3, NOW)

    with closing(sqlite3.connect(result.path)) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "delete"
    assert backups_in(tmp_path / "backups") == [result.path.name]


def test_rotation_keeps_the_newest_and_never_touches_other_files(
    database: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    others = ["notes.txt", "jobdeck-latest.sqlite3", "other-20260101T000000Z.sqlite3"]
    for name in others:
        (folder / name).write_text("not a backup of this database")
    for day in range(1, 6):
        (folder / f"jobdeck-202602{day:02}T000000Z.sqlite3").write_text("old")

    result = backup_database(database, folder, 3, NOW)

    assert [path.name for path in result.kept] == [
        "jobdeck-20260301T023000Z.sqlite3",
        "jobdeck-20260205T000000Z.sqlite3",
        "jobdeck-20260204T000000Z.sqlite3",
    ]
    assert [path.name for path in result.removed] == [
        "jobdeck-20260203T000000Z.sqlite3",
        "jobdeck-20260202T000000Z.sqlite3",
        "jobdeck-20260201T000000Z.sqlite3",
    ]
    assert backups_in(folder) == sorted(others + [path.name for path in result.kept])


def test_rotation_never_removes_the_backup_just_made(
    database: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "jobdeck-20990101T000000Z.sqlite3").write_text("from a wrong clock")

    result = backup_database(database, folder, 1, NOW)

    assert result.kept == (result.path,)
    assert result.path.exists()


def test_a_copy_that_fails_the_integrity_check_is_deleted(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "backups"
    copy_database = backups._copy_database

    def copy_then_corrupt(source: Path, target: Path) -> None:
        copy_database(source, target)
        with target.open("r+b") as file:
            file.seek(PAGE_SIZE * 5 + 50)
            file.write(b"\xab" * 300)

    monkeypatch.setattr(backups, "_copy_database", copy_then_corrupt)
    with pytest.raises(BackupIntegrityError, match="failed its integrity check"):
        backup_database(database, folder, 3, NOW)

    assert backups_in(folder) == []


def test_the_integrity_check_names_what_is_wrong(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)

    assert check_integrity(garbage) == ("file is not a database",)


def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"

    with pytest.raises(BackupError, match=r"missing\.sqlite3 is not a database"):
        backup_database(missing, tmp_path / "backups", 3, NOW)

    assert not missing.exists()


def test_a_copy_that_cannot_be_written_is_an_error(
    database: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the backup folder should be")

    with pytest.raises(BackupError, match="failed"):
        backup_database(database, blocked, 3, NOW)


@pytest.mark.parametrize("keep", [0, -1])
def test_at_least_one_backup_must_be_kept(database: Path, keep: int) -> None:
    with pytest.raises(ValueError, match="keep"):
        backup_database(database, database.parent, keep, NOW)


def test_the_summary_says_size_check_and_rotation() -> None:
    result = BackupResult(
        source=Path("jobdeck.sqlite3"),
        path=Path("backups/jobdeck-20260301T023000Z.sqlite3"),
        size_bytes=1_258_291,
        kept=(Path("a"),) * 7,
        removed=(Path("b"),),
    )

    assert result.summary() == "backup 1.2 MiB, integrity ok, kept 7, removed 1"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (512, "512 B"),
        (2048, "2.0 KiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**4, "3.0 TiB"),
    ],
)
def test_sizes_are_written_for_people(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    "db_url, expected",
    [
        (None, "data/jobdeck.sqlite3"),
        ("sqlite:///{tmp}/elsewhere.sqlite3", "elsewhere.sqlite3"),
        ("postgresql://postgres@127.0.0.1/test", None),
        ("sqlite://", None),
    ],
)
def test_the_backup_copies_the_database_the_server_uses(
    tmp_path: Path, db_url: str | None, expected: str | None
) -> None:
    """The server's `db`, wherever it puts the SQLite file, is what db-backup
    copies; not a file of the data directory's that may be stale or absent."""
    flags: dict[str, Any] = {"data_dir": tmp_path / "data"}
    if db_url is not None:
        flags["db_url"] = db_url.format(tmp=tmp_path)
    settings = load_settings(None, environ={}, flags=flags)

    deck = build_app(settings).state.deck
    names = [job["name"] for job in deck.job_objects()]

    if expected is None:
        assert "db-backup" not in names
    else:
        database = tmp_path / expected
        with closing(sqlite3.connect(database)) as connection:
            connection.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
        deck.state("db-backup").job.body()

        (copy,) = backups_in(tmp_path / "data" / "backups")
        assert copy.startswith(database.stem)

"""Database backups: an online copy of an SQLite file, checked, then rotated.

The copy is made with SQLite's backup API, so it is consistent even while other
connections write to the database, in WAL mode too. It is written under a
hidden temporary name in the backup folder, switched to a rollback journal so
that it stands alone as one file, checked with ``PRAGMA integrity_check``, and
only then renamed to ``<stem>-YYYYmmddTHHMMSSZ.sqlite3`` (UTC). A copy that
fails the check is deleted and BackupIntegrityError is raised, leaving the
older backups as they were.

Rotation keeps the newest ``keep`` backups of this database, ordered by the
time in their names, and always the one just made. It deletes only files whose
names match the pattern for this database's stem; nothing else in the folder is
touched. Two backups within the same second share a name: the later replaces
the earlier.
"""

import os
import re
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jobdeck.errors import JobdeckError

_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class BackupResult:
    """A backup that passed its integrity check, and what rotation did."""

    source: Path
    path: Path
    size_bytes: int
    kept: tuple[Path, ...]
    removed: tuple[Path, ...]

    def summary(self) -> str:
        return (
            f"backup {format_size(self.size_bytes)}, integrity ok, "
            f"kept {len(self.kept)}, removed {len(self.removed)}"
        )


class BackupError(JobdeckError):
    """The backup could not be made; the cause says what failed."""


class BackupIntegrityError(BackupError):
    """The copy failed ``PRAGMA integrity_check`` and was deleted."""


def backup_database(
    db_path: Path, backup_dir: Path, keep: int, now: datetime
) -> BackupResult:
    """Copy ``db_path`` into ``backup_dir``, check it, keep the newest ``keep``."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    if not db_path.is_file():
        raise BackupError(f"{db_path} is not a database file")
    path = backup_dir / backup_name(db_path, now)

    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
        _write_checked_copy(db_path, path)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(
            f"backup of {db_path} into {backup_dir} failed: {error}"
        ) from error
    try:
        kept, removed = rotate_backups(backup_dir, db_path.stem, keep, newest=path)
    except OSError as error:
        raise BackupError(
            f"{path} was written, but rotation failed: {error}"
        ) from error

    return BackupResult(db_path, path, path.stat().st_size, kept, removed)


def backup_name(db_path: Path, now: datetime) -> str:
    """``<stem>-YYYYmmddTHHMMSSZ.sqlite3`` for the UTC time of ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")

    return f"{db_path.stem}-{now.astimezone(UTC):{_STAMP_FORMAT}}.sqlite3"


def _write_checked_copy(source: Path, path: Path) -> None:
    descriptor, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    temporary = Path(name)
    try:
        _copy_database(source, temporary)
        _raise_if_damaged(source, temporary)
        os.replace(temporary, path)
    finally:
        # After the rename there is nothing left here to delete.
        temporary.unlink(missing_ok=True)


def _copy_database(source: Path, target: Path) -> None:
    # mode=rw: a database that vanished must fail, not be created empty.
    uri = f"{source.resolve().as_uri()}?mode=rw"
    with (
        closing(sqlite3.connect(uri, uri=True)) as reading,
        closing(sqlite3.connect(target)) as writing,
    ):
        reading.backup(writing)
        # The copy inherits WAL mode; a backup should be one file that opens
        # without creating -wal and -shm files beside it.
        writing.execute("PRAGMA journal_mode=DELETE")


def _raise_if_damaged(source: Path, copy: Path) -> None:
    problems = check_integrity(copy)
    if not problems:
        return

    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise BackupIntegrityError(
        f"the backup of {source} failed its integrity check and was deleted: "
        f"{problems[0]}{more}"
    )


def check_integrity(path: Path) -> tuple[str, ...]:
    """What ``PRAGMA integrity_check`` finds wrong in a database; () if nothing."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        # Damage bad enough that SQLite cannot even run the check.
        return (str(error),)

    # Recent SQLite versions put several problems in one row, under a header.
    lines = (line for row in rows for line in str(row[0]).splitlines())
    problems = tuple(line for line in lines if not line.startswith("*** "))
    return () if problems == ("ok",) else problems


def rotate_backups(
    backup_dir: Path, stem: str, keep: int, newest: Path
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Delete all but the newest ``keep`` backups of ``stem``; never ``newest``.

    Returns the backups kept and those removed, newest first.
    """
    pattern = re.compile(rf"{re.escape(stem)}-\d{{8}}T\d{{6}}Z\.sqlite3")
    others = sorted(
        (
            path
            for path in backup_dir.iterdir()
            if pattern.fullmatch(path.name) and path.is_file() and path != newest
        ),
        # The fixed-width UTC stamp makes name order the order in time.
        key=lambda path: path.name,
        reverse=True,
    )
    ordered = [newest, *others]
    for path in ordered[keep:]:
        path.unlink(missing_ok=True)

    return tuple(ordered[:keep]), tuple(ordered[keep:])


def format_size(size_bytes: int) -> str:
    """A size for people: ``512 B``, ``1.2 MiB``."""
    if size_bytes < 1024:
        return f"{size_bytes} B"

    size = size_bytes / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024

    return f"{size:,.1f} TiB"

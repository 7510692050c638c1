"""The files of the stock jobs: reading their inputs, writing their outputs.

Inputs are read as UTF-8 with bytes that are not UTF-8 replaced, so a damaged
file still parses and its damage shows up as bad lines. A file that cannot be
read at all is recorded as unreadable, with the reason the system gave, and
the job goes on with the others.

An output is replaced in one step: its readers see the old file or the new
one, never half of either. It is written readable by all (mode 0644), since the
program that uses it (a DNS server, a dashboard) seldom runs as jobdeck's user.
"""

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

from jobdeck.errors import JobdeckError

MAX_BAD_EXAMPLES = 20
"""How many bad lines a parse keeps as examples; all of them are counted."""

_MAX_EXAMPLE_CHARS = 200

_Parsed = TypeVar("_Parsed")


class BadLine(NamedTuple):
    """A line that was skipped, as the operator will find it in the file."""

    line_no: int
    line: str
    reason: str


@dataclass
class BadLines:
    """Counts a file's bad lines while it is read, keeping the first as examples."""

    count: int = 0
    examples: list[BadLine] = field(default_factory=list)

    def add(self, line_no: int, line: str, reason: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_BAD_EXAMPLES:
            example = BadLine(line_no, line[:_MAX_EXAMPLE_CHARS], reason)
            self.examples.append(example)


@dataclass(frozen=True)
class UnreadableFile:
    path: Path
    reason: str


def read_input_text(path: Path) -> str:
    """Read a file as UTF-8 (a byte-order mark is dropped), bad bytes replaced."""
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def parse_inputs(
    reads: Iterable[tuple[Path, Callable[[str, str], _Parsed]]],
) -> tuple[list[_Parsed], list[UnreadableFile]]:
    """Read and parse each file, in order; note the ones that cannot be read.

    Each parser is given the file's text and its path as the source name.
    """
    parsed: list[_Parsed] = []
    unreadable: list[UnreadableFile] = []
    for path, parse in reads:
        try:
            text = read_input_text(path)
        except OSError as error:
            unreadable.append(UnreadableFile(path, error_reason(error)))
            continue
        parsed.append(parse(text, str(path)))

    return parsed, unreadable


def write_atomically(output: Path, text: str) -> None:
    """Replace ``output`` with ``text`` in one step, readable by all."""
    descriptor, temporary = tempfile.mkstemp(
        dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file private; see the module doc.
        os.fchmod(descriptor, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def write_errors_as(error_type: type[JobdeckError], output: Path) -> Iterator[None]:
    """Raise ``error_type`` (``cannot write <output>: <reason>``) for an OSError."""
    try:
        yield
    except OSError as error:
        message = f"cannot write {output}: {error_reason(error)}"
        raise error_type(message) from error


def error_reason(error: OSError) -> str:
    """What went wrong, as the system says it (``No such file or directory``)."""
    return error.strerror or str(error)


def nothing_read_message(kind: str, unreadable: Sequence[UnreadableFile]) -> str:
    """Why a job read no file at all; ``kind`` names its files (``blocklist``)."""
    if not unreadable:
        return f"no {kind} configured"

    reasons = "; ".join(f"{failure.path}: {failure.reason}" for failure in unreadable)
    return f"no {kind} could be read ({reasons})"


def damage_summary(
    bad_lines: int, unreadable: Sequence[UnreadableFile], noun: str
) -> str:
    """The end of a job's summary: ``3 bad lines, 1 list unreadable: a.txt``.

    ``noun`` names one of the job's files; the unreadable part is left out
    when every file could be read.
    """
    text = counted(bad_lines, "bad line")
    if unreadable:
        names = ", ".join(str(failure.path) for failure in unreadable)
        text += f", {counted(len(unreadable), noun)} unreadable: {names}"

    return text


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 list``, ``1,204 lists``; ``plural`` where adding an s is wrong."""
    word = noun if number == 1 else (plural or f"{noun}s")
    return f"{number:,} {word}"

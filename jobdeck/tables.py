"""The tables of the config file, read with every value's type checked.

TOML gives str, int, float, bool, list and dict values (and dates); the code that
builds settings and jobs wants one of them, or a path, or an interval. A `Table`
hands out each value through a check, so that a mistake stops the start with one
message that names the file, the table and the key, and says what is accepted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jobdeck.errors import InvalidInput, JobdeckError
from jobdeck.intervals import parse_interval

T = TypeVar("T")
Check = Callable[[Any], T]


class Table:
    """One table of the file: `take` each key through a check, then `refuse_unknown`
    for the keys nobody took."""

    def __init__(self, values: Mapping[str, Any], file: str, name: str) -> None:
        self.values = values
        self.file = file
        self.name = name  # "[server]", "[[jobs]] #2", or "" for the whole file
        self.known: set[str] = set()

    def take(self, key: str, check: Check[T], default: T) -> T:
        if key not in self.values:
            self.known.add(key)
            return default
        return self.require(key, check)

    def require(self, key: str, check: Check[T]) -> T:
        self.known.add(key)
        if key not in self.values:
            raise self.refuse(key, "missing; this table needs it")
        return checked(check, self.values[key], self.label(key))

    def table(self, key: str) -> Table:
        """The table under `key`: `[name.key]` in the file; empty when absent."""
        name = f"[{self.name.strip('[]')}.{key}]" if self.name else f"[{key}]"
        values: dict[str, Any] = self.take(key, _of_type(dict, f"a table {name}"), {})
        return Table(values, self.file, name)

    def tables(self, key: str) -> list[Table]:
        """The array of tables `[[key]]`, numbered from 1 in messages."""
        values: list[dict[str, Any]] = self.take(key, _array_of_tables(key), [])
        return [
            Table(table, self.file, f"[[{key}]] #{number}")
            for number, table in enumerate(values, start=1)
        ]

    def refuse_unknown(self) -> None:
        """Unknown keys are refused, not ignored: most are misspelled known ones."""
        for key in self.values:
            if key not in self.known:
                accepted = ", ".join(sorted(self.known))
                raise self.refuse(key, f"unknown key; the keys here are {accepted}")

    def refuse(self, key: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{self.label(key)}: {problem}")

    def label(self, key: str) -> str:
        return f"{self.file}: {self.name} {key}" if self.name else f"{self.file}: {key}"

    @contextlib.contextmanager
    def blamed(self) -> Iterator[None]:
        """Errors raised while building from this table name the file and the table:
        what the checks did not pin on one key (a clash of keys, say)."""
        try:
            yield
        except InvalidInput:
            raise  # already names its key
        except (JobdeckError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{self.file}: {self.name}: {exc}") from exc


def checked(check: Check[T], value: Any, label: str) -> T:
    """`check(value)`, with its refusal prefixed by where the value came from."""
    try:
        return check(value)
    except ValueError as exc:  # the checks, and parse_interval, refuse with these
        raise InvalidInput(f"{label}: {exc}") from exc


# --- checks: each returns the value as the code wants it, or raises ValueError ----


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty text, not {value!r}")
    return value


def texts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'must be a list of texts (["a", "b"]), not {value!r}')
    return value


def any_text(value: Any) -> str:
    """A text that may be empty, such as a description."""
    return _of_type(str, "a text")(value)


def flag(value: Any) -> bool:
    return _of_type(bool, "true or false")(value)


def path(value: Any) -> Path:
    if isinstance(value, Path):  # a flag's value, or a caller's
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a path, a non-empty text, not {value!r}")
    return Path(value)


def paths(value: Any) -> list[Path]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f'must be a list of paths (["/a", "/b"]), not {value!r}')
    return [Path(item) for item in value]


def whole(low: int, high: int | None = None) -> Check[int]:
    """A whole number from `low` (to `high`); true and false are not numbers here,
    though Python counts bool as int."""
    span = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def check(value: Any) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            raise ValueError(f"must be a whole number {span}, not {value!r}")
        return value

    return check


def interval_text(value: Any) -> str:
    """An interval as its text, once the grammar has accepted it."""
    parse_interval(value)
    return str(value)


def seconds(value: Any) -> int:
    """An interval in whole seconds."""
    return parse_interval(value)


def _of_type(kind: type[T], what: str) -> Check[T]:
    def check(value: Any) -> T:
        if not isinstance(value, kind):
            raise ValueError(f"must be {what}, not {value!r}")
        return value

    return check


def _array_of_tables(key: str) -> Check[list[dict[str, Any]]]:
    def check(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            raise ValueError(f"must be tables written [[{key}]], not {value!r}")
        return value

    return check

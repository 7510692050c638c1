"""The interval grammar of SPEC §3.3: one validator for every entry point.

An interval is a whole number and a unit (`s`, `m`, `h`, `d`), or several such parts
with the units in descending order (`1h30m`, `1d12h`). Surrounding ASCII white space
is ignored; anything else is refused with a message that says what is accepted.
"""

from __future__ import annotations

import functools
import re

from jobdeck.errors import InvalidInterval

UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
MIN_SECONDS = 1
MAX_SECONDS = 365 * 86_400

ACCEPTED = (
    "a whole number and a unit s, m, h or d (30s, 5m, 1h, 1d), "
    "or parts in descending order (1h30m), from 1s to 365d"
)

_PART = re.compile(r"([0-9]+)([a-zA-Z]+)")
# More digits than this is above the maximum whatever the unit; checking the length
# first keeps int() away from huge texts.
_MAX_DIGITS = 12
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def parse_interval(text: object) -> int:
    """Return the interval in whole seconds, or raise InvalidInterval."""
    if not isinstance(text, str):
        raise _refuse("it must be a text such as '5m'")
    return _parse_text(text)


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> int:
    # Cached: a deck registers many jobs with the same few interval texts.
    # Refusals raise, and exceptions are not cached.
    body = text.strip(_ASCII_SPACE)
    if not body:
        raise _refuse("it is empty")

    seconds = _sum_parts(body)

    if seconds < MIN_SECONDS:
        raise _refuse(f"'{body}' is below the minimum of 1s")
    if seconds > MAX_SECONDS:
        raise _refuse(f"'{body}' is above the maximum of 365d")
    return seconds


def format_interval(seconds: int) -> str:
    """The canonical text of an interval: largest units first, zero parts left out."""
    if seconds < MIN_SECONDS:
        raise ValueError(f"an interval is at least 1 second, not {seconds}")
    parts = []
    rest = seconds
    for unit, size in UNIT_SECONDS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _sum_parts(body: str) -> int:
    seconds = 0
    position = 0
    last_rank = -1
    units = list(UNIT_SECONDS)
    while position < len(body):
        match = _PART.match(body, position)
        if match is None:
            raise _refuse(_describe_bad_text(body, position))
        number, unit = match.groups()
        if unit not in UNIT_SECONDS:
            raise _refuse(f"'{_clip(unit)}' is not a unit (units are s, m, h, d)")
        if len(number.lstrip("0")) > _MAX_DIGITS:
            raise _refuse(f"'{_clip(body)}' is above the maximum of 365d")
        rank = units.index(unit)
        if rank <= last_rank:
            raise _refuse(f"'{unit}' is out of order or repeated in '{_clip(body)}'")
        seconds += int(number) * UNIT_SECONDS[unit]
        last_rank = rank
        position = match.end()
    return seconds


def _describe_bad_text(body: str, position: int) -> str:
    shown = _clip(body)
    rest = body[position:].lstrip("0123456789")
    if not rest:
        return f"'{shown}' ends with a number without a unit"
    if rest[0] in "-+":
        return f"'{shown}' is signed; an interval is a positive whole number"
    if rest[0] in ".,":
        return f"'{shown}' is not a whole number"
    if rest[0].isspace():
        return f"'{shown}' has white space inside"
    if position == 0 and rest == body:
        return f"'{shown}' must start with a whole number"
    return f"'{shown}' has '{_clip(rest[0])}' where a number or unit belongs"


def _clip(text: str) -> str:
    # Refused input is echoed in the message; a huge one must not make it huge.
    return text if len(text) <= 40 else text[:40] + "…"


def _refuse(reason: str) -> InvalidInterval:
    return InvalidInterval(f"invalid interval: {reason}; accepted: {ACCEPTED}")

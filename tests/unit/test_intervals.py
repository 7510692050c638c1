"""The interval grammar of SPEC §3.3 and case BC-05."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdeck.errors import InvalidInterval
from jobdeck.intervals import MAX_SECONDS, format_interval, parse_interval

# The grammar written a second, independent way: parts in descending unit order.
GRAMMAR = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1s", 1),
        ("1h30m", 5400), ("1d12h", 129600), ("  5m ", 300), ("\t1h\n", 3600),
        ("90m", 5400), ("365d", MAX_SECONDS),
        ("1h60m", 7200), ("1d24h", 2 * 86400),  # a part past its unit's range
    ],
)  # fmt: skip
def test_accepted_values_give_their_seconds(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0s", "below the minimum"), ("0m", "below the minimum"),
        ("-5m", "signed"), ("5M", "'M' is not a unit"), ("5", "without a unit"),
        ("m", "start with a whole number"), ("5 m", "white space"),
        ("1.5h", "not a whole number"), ("5mm", "'mm' is not a unit"),
        ("5ms", "'ms' is not a unit"), ("5w", "'w' is not a unit"),
        ("", "empty"), ("   ", "empty"), ("99999999d", "above the maximum"),
        ("366d", "above the maximum"), ("30m1h", "out of order"),
        ("1h1h", "out of order"), ("5 m m", "white space"),
        ("9" * 5000 + "s", "above the maximum"),
    ],
)  # fmt: skip
def test_refused_values_say_what_is_wrong_and_what_is_accepted(
    text: str, says: str
) -> None:
    with pytest.raises(InvalidInterval) as refused:
        parse_interval(text)
    message = str(refused.value)
    assert says in message
    assert "accepted:" in message and "30s, 5m, 1h, 1d" in message
    assert len(message) < 400


@pytest.mark.parametrize("value", [None, 30, 1.5, ["5m"], {"interval": "5m"}, True])
def test_values_that_are_not_text_are_refused(value: object) -> None:
    with pytest.raises(InvalidInterval, match="must be a text"):
        parse_interval(value)


def test_canonical_form_uses_the_largest_units() -> None:
    assert format_interval(5400) == "1h30m"
    assert format_interval(86400 + 1) == "1d1s"
    assert format_interval(60) == "1m"


@given(st.integers(min_value=1, max_value=MAX_SECONDS))
def test_formatting_then_parsing_gives_the_same_seconds(seconds: int) -> None:
    assert parse_interval(format_interval(seconds)) == seconds


@given(st.integers(min_value=1, max_value=MAX_SECONDS))
def test_the_canonical_form_is_a_fixed_point(seconds: int) -> None:
    text = format_interval(seconds)
    assert format_interval(parse_interval(text)) == text


@given(st.text(alphabet="0123456789dhms -+.Mx\t", max_size=12))
def test_the_parser_accepts_exactly_what_the_grammar_accepts(text: str) -> None:
    body = text.strip(" \t")
    match = GRAMMAR.fullmatch(body)
    expected = None
    if body and match:
        units = (86400, 3600, 60, 1)
        total = sum(int(p) * u for p, u in zip(match.groups(), units, strict=True) if p)
        expected = total if 1 <= total <= MAX_SECONDS else None
    try:
        got: int | None = parse_interval(text)
    except InvalidInterval:
        got = None
    assert got == expected

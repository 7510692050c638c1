"""The text the hot write path stores for an instant in SQLite is the text
SQLAlchemy's own SQLite DateTime stores for it, whatever the instant's zone, and
however the reused text of a second is shared between instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from jobdeck.store.sql import _sqlite_time

SQLALCHEMY_TEXT = sqlite.DATETIME().bind_processor(sqlite.dialect())

# Every instant a datetime can hold: before 1970 and far beyond the cached range
# (case found by review: year 3000 at .999999 once stored the next second).
instants = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),
)
zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(instants, zones)
def test_the_stored_text_is_sqlalchemys_in_any_zone(
    moment: datetime, zone: timezone
) -> None:
    expected = SQLALCHEMY_TEXT(moment.replace(tzinfo=None))

    assert _sqlite_time(moment) == expected
    assert _sqlite_time(moment.astimezone(zone)) == expected


@example(datetime(3000, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC))
@example(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC))
@given(instants)
def test_the_edges_of_a_second_keep_their_own_second(moment: datetime) -> None:
    start = moment.replace(microsecond=0)
    end = moment.replace(microsecond=999_999)

    # The second's text is made by the first and reused by the second.
    assert _sqlite_time(start) == SQLALCHEMY_TEXT(start.replace(tzinfo=None))
    assert _sqlite_time(end) == SQLALCHEMY_TEXT(end.replace(tzinfo=None))
    assert _sqlite_time(end + timedelta(microseconds=1)) == SQLALCHEMY_TEXT(
        (end + timedelta(microseconds=1)).replace(tzinfo=None)
    )
